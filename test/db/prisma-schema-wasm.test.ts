/**
 * The drift test's parser (support/prisma-schema.ts) must be the one the prisma CLI runs:
 * @prisma/prisma-schema-wasm at the CLI's engines build, and the Prisma packages in lockstep.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debug_panic } from '@prisma/prisma-schema-wasm';
import { describe, expect, it } from 'vitest';
import { callSchemaWasm } from './support/prisma-schema.js';

const require = createRequire(import.meta.url);

/** Where Node finds a package, found without its exports map (not every package exports package.json). */
function packageDir(resolveFrom: NodeJS.Require, name: string): string {
  const dir = (resolveFrom.resolve.paths(name) ?? []).map((d) => join(d, name)).find((d) => existsSync(join(d, 'package.json')));
  if (!dir) throw new Error(`${name} is not installed`);
  return dir;
}
const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;
const versionOf = (resolveFrom: NodeJS.Require, name: string) =>
  readJson<{ version: string }>(join(packageDir(resolveFrom, name), 'package.json')).version;
const project = readJson<{ dependencies: Record<string, string>; devDependencies: Record<string, string> }>(
  fileURLToPath(new URL('../../package.json', import.meta.url)),
);

// The engines build is read along the CLI's own dependency chain: prisma → @prisma/engines → @prisma/engines-version.
const cliDir = packageDir(require, 'prisma');
const enginesDir = packageDir(createRequire(join(cliDir, 'package.json')), '@prisma/engines');
const cliEnginesVersion = versionOf(createRequire(join(enginesDir, 'package.json')), '@prisma/engines-version');
const schemaWasmDir = packageDir(require, '@prisma/prisma-schema-wasm');
const schemaWasmVersion = versionOf(require, '@prisma/prisma-schema-wasm');

describe('@prisma/prisma-schema-wasm', () => {
  it('is pinned exactly to the engines build the prisma CLI was built with', () => {
    expect(project.devDependencies['@prisma/prisma-schema-wasm']).toBe(schemaWasmVersion);
    expect(schemaWasmVersion).toBe(cliEnginesVersion);
  });

  it('holds the very wasm the CLI bundles', () => {
    const bundled = readFileSync(join(cliDir, 'build/prisma_schema_build_bg.wasm'));
    const published = readFileSync(join(schemaWasmDir, 'src/prisma_schema_build_bg.wasm'));
    expect(published.equals(bundled)).toBe(true);
  });

  it('reports a panic with its Rust message', () => {
    expect(() => callSchemaWasm(() => debug_panic())).toThrow(/^prisma-schema-wasm panicked: panicked at .*debug_panic/s);
  });
});

describe('the Prisma packages', () => {
  it('are one release: the CLI that generates the client, the client runtime and the pg adapter', () => {
    const versions = ['prisma', '@prisma/client', '@prisma/adapter-pg'].map((name) => versionOf(require, name));
    expect(new Set(versions).size, versions.join(', ')).toBe(1);
    const pins = [project.devDependencies.prisma, project.dependencies['@prisma/client'], project.dependencies['@prisma/adapter-pg']];
    expect(pins).toEqual(versions);
  });
});
