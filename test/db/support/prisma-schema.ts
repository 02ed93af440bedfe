/**
 * Prisma's own schema parser, `get_dmmf` of the published @prisma/prisma-schema-wasm, so the
 * drift test reads schema.prisma exactly as `prisma generate` does. The package is pinned to
 * the engines build of the prisma CLI (7.10.0-4.0edf323e for prisma 7.10.0); the CLI 7.10.1
 * was built on 8.1.0-1.d1b3f377, which npm does not have, so the project stays on 7.10.0.
 * test/db/prisma-schema-wasm.test.ts fails when the two drift apart.
 */
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import type { Dmmf } from './catalog.js';

// The wasm-bindgen glue reports a Rust panic's message through this global and then traps; the
// CLI defines it the same way (@prisma/internals' wasm-panic-registry). Without it a panic
// surfaces as "Cannot read properties of undefined".
interface PanicRegistry { message: string; set_message(message: string): void }
const registry: PanicRegistry = {
  message: '',
  set_message(message) {
    this.message = message;
  },
};
(globalThis as { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry }).PRISMA_WASM_PANIC_REGISTRY = registry;

/** Parses and validates a schema; throws Prisma's validation message (P1012) when invalid. */
export function getDmmf(schema: string): Dmmf {
  const json = callSchemaWasm(() => get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', schema]], noColor: true })));
  return { datamodel: (JSON.parse(json) as Dmmf).datamodel };
}

/**
 * Runs one call into the wasm and turns its two ways of failing into readable errors: a panic
 * (a trap, named RuntimeError, its message left in the registry) and a returned error (JSON
 * `{error_code, message}` in the Error's message).
 */
export function callSchemaWasm<T>(call: () => T): T {
  registry.message = '';
  try {
    return call();
  } catch (error) {
    const { name, message } = error as Error;
    if (name === 'RuntimeError') throw new Error(`prisma-schema-wasm panicked: ${registry.message || message}`);
    throw new Error(readableSchemaError(message));
  }
}

function readableSchemaError(message: string): string {
  try {
    const parsed = JSON.parse(message) as { error_code?: string; message?: string };
    return `${parsed.error_code ?? 'schema error'}: ${parsed.message ?? message}`;
  } catch {
    return message;
  }
}
