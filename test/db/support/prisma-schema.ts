/**
 * Prisma's own schema parser, `get_dmmf` from prisma-schema-wasm, so the drift
 * test reads schema.prisma exactly as `prisma generate` does. It runs the wasm
 * bundled with the installed prisma CLI (the matching version by construction)
 * through the few lines of wasm-bindgen glue it needs, and falls back to the
 * @prisma/prisma-schema-wasm package should that glue stop fitting.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Dmmf } from './catalog.js';

type GetDmmf = (params: string) => string;

// The project compiles without the DOM lib, whose types describe WebAssembly;
// these are the few members used here.
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; imports(module: object): Array<{ module: string; name: string }> };
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface SchemaWasmExports {
  memory: { buffer: ArrayBuffer };
  __wbindgen_externrefs: { grow(delta: number): number; get(index: number): unknown; set(index: number, value: unknown): void };
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
  __externref_table_dealloc(index: number): void;
  __wbindgen_start(): void;
  get_dmmf(ptr: number, len: number): [number, number, number, number];
}

const require = createRequire(import.meta.url);
const prismaBuild = dirname(require.resolve('prisma/build/index.js'));

/** Parses and validates a schema; throws Prisma's validation message (P1012) when invalid. */
export async function getDmmf(schema: string): Promise<Dmmf> {
  const getDmmfJson = await loadGetDmmf();
  const json = getDmmfJson(JSON.stringify({ prismaSchema: [['schema.prisma', schema]], noColor: true }));
  return { datamodel: (JSON.parse(json) as Dmmf).datamodel };
}

let loaded: GetDmmf | undefined;

async function loadGetDmmf(): Promise<GetDmmf> {
  if (loaded) return loaded;
  try {
    loaded = loadBundled();
  } catch (bundledError) {
    const name = '@prisma/prisma-schema-wasm';
    try {
      const mod = (await import(name)) as { get_dmmf?: GetDmmf; default?: { get_dmmf: GetDmmf } };
      loaded = mod.get_dmmf ?? mod.default!.get_dmmf;
    } catch {
      throw new Error(
        `Cannot load Prisma's schema parser: ${(bundledError as Error).message}. ` +
          `Install ${name}@${bundledWasmVersion()} (the version the prisma CLI bundles).`,
      );
    }
  }
  return loaded;
}

/** The wasm-bindgen "nodejs" glue for get_dmmf, reduced to what get_dmmf touches. */
function loadBundled(): GetDmmf {
  const module = new wasmApi.Module(readFileSync(join(prismaBuild, 'prisma_schema_build_bg.wasm')));
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let wasm: SchemaWasmExports | undefined;
  let panic = '';
  const text = (ptr: number, len: number) => decoder.decode(new Uint8Array(wasm!.memory.buffer, ptr >>> 0, len));
  // Import names carry a per-build hash suffix, so match them by prefix.
  const handlers: Array<[string, (...args: number[]) => unknown]> = [
    ['__wbg_set_message_', (ptr, len) => void (panic = text(ptr!, len!))],
    ['__wbg_Error_', (ptr, len) => new Error(text(ptr!, len!))],
    ['__wbg___wbindgen_throw_', (ptr, len) => { throw new Error(text(ptr!, len!)); }],
    ['__wbindgen_init_externref_table', () => {
      const table = wasm!.__wbindgen_externrefs;
      const offset = table.grow(4);
      table.set(0, undefined);
      [undefined, null, true, false].forEach((value, i) => table.set(offset + i, value));
    }],
  ];
  const imports: Record<string, Record<string, (...args: number[]) => unknown>> = {};
  for (const { module: from, name } of wasmApi.Module.imports(module)) {
    const handler = handlers.find(([prefix]) => name.startsWith(prefix));
    if (!handler) throw new Error(`the bundled prisma_schema_build_bg.wasm needs an unknown import ${name}`);
    (imports[from] ??= {})[name] = handler[1];
  }
  wasm = new wasmApi.Instance(module, imports).exports as unknown as SchemaWasmExports;
  wasm.__wbindgen_start();
  const exports = wasm;

  return (params) => {
    const bytes = new TextEncoder().encode(params);
    const ptr = exports.__wbindgen_malloc(bytes.length, 1) >>> 0;
    new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);
    let result: [number, number, number, number];
    try {
      result = exports.get_dmmf(ptr, bytes.length);
    } catch (error) {
      throw new Error(`prisma-schema-wasm panicked: ${panic || (error as Error).message}`);
    }
    const [outPtr, outLen, errorRef, failed] = result;
    if (failed) {
      const error = exports.__wbindgen_externrefs.get(errorRef) as Error;
      exports.__externref_table_dealloc(errorRef);
      throw new Error(readableSchemaError(error.message));
    }
    try {
      return text(outPtr, outLen);
    } finally {
      exports.__wbindgen_free(outPtr, outLen, 1);
    }
  };
}

function readableSchemaError(message: string): string {
  try {
    const parsed = JSON.parse(message) as { error_code?: string; message?: string };
    return `${parsed.error_code ?? 'schema error'}: ${parsed.message ?? message}`;
  } catch {
    return message;
  }
}

/** The @prisma/prisma-schema-wasm version the installed CLI was built with. */
function bundledWasmVersion(): string {
  const cli = readFileSync(join(prismaBuild, 'cli.js'), 'utf8');
  return /"@prisma\/prisma-schema-wasm":"([^"]+)"/.exec(cli)?.[1] ?? '<see node_modules/prisma/build/cli.js>';
}
