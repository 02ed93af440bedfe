/**
 * scripts/build.mjs, as `npm start` runs it before serving: incremental, so a restart with no
 * change skips the compile, yet dist/ never serves a stale module (changed, deleted, renamed).
 * Run on a small project of its own, with this project's tsconfig files and node_modules.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const project = mkdtempSync(join(tmpdir(), 'oms-build-'));
const at = (path: string) => join(project, path);
const write = (path: string, text: string) => {
  mkdirSync(join(at(path), '..'), { recursive: true });
  writeFileSync(at(path), text);
};
const build = (...args: string[]) =>
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), ...args], { cwd: project, encoding: 'utf8', stdio: 'pipe' });
const runMain = () => execFileSync(process.execPath, ['dist/main.js'], { cwd: project, encoding: 'utf8' }).trim();

beforeAll(() => {
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) copyFileSync(join(root, file), at(file));
  symlinkSync(join(root, 'node_modules'), at('node_modules'), 'dir');
  write('package.json', '{ "type": "module" }\n');
  write('src/main.ts', "import { greeting } from './greet.js';\nconsole.log(greeting);\n");
  write('src/greet.ts', "export const greeting: string = 'hello';\n");
  write('src/old-name.ts', 'export const renamed = 1;\n');
  write('src/nested/gone.ts', 'export const gone = 2;\n');
  write('src/nested/deleted-alone.ts', 'export const alone = 3;\n');
  build('--clean');
}, 120_000);
afterAll(() => rmSync(project, { recursive: true, force: true }));

// Each build loads TypeScript and @types/node: seconds on a busy machine.
describe('scripts/build.mjs (npm start)', { timeout: 120_000 }, () => {
  it('a clean build compiles every module', () => {
    expect(runMain()).toBe('hello');
    for (const file of ['main.js', 'greet.js', 'old-name.js', 'old-name.js.map', 'nested/gone.js']) expect(existsSync(at(`dist/${file}`)), file).toBe(true);
  });

  it('with nothing changed, writes nothing', () => {
    const before = statSync(at('dist/main.js')).mtimeMs;
    build();
    expect(statSync(at('dist/main.js')).mtimeMs).toBe(before);
  });

  it('removes the output of a module deleted with nothing else changed', () => {
    unlinkSync(at('src/nested/deleted-alone.ts'));
    build();
    expect(existsSync(at('dist/nested/deleted-alone.js'))).toBe(false);
    expect(existsSync(at('dist/nested/gone.js'))).toBe(true);
  });

  // One build for two cases: the fix is a changed module since the last successful build.
  it('fails on a type error; the build after the fix recompiles the changed module, and removes the outputs of deleted and renamed ones', () => {
    write('src/greet.ts', 'export const greeting: string = 42;\n');
    expect(() => build()).toThrow(expect.objectContaining({ status: 1, stdout: expect.stringMatching(/src\/greet\.ts.*TS2322/) }));
    write('src/greet.ts', "export const greeting: string = 'fixed';\n");
    unlinkSync(at('src/old-name.ts'));
    write('src/new-name.ts', 'export const renamed = 1;\n');
    unlinkSync(at('src/nested/gone.ts'));
    expect(build()).toBe('');
    expect(runMain()).toBe('fixed');
    expect(readFileSync(at('dist/greet.js'), 'utf8')).toContain("'fixed'");
    expect(existsSync(at('dist/new-name.js'))).toBe(true);
    for (const file of ['old-name.js', 'old-name.js.map', 'nested/gone.js', 'nested']) expect(existsSync(at(`dist/${file}`)), file).toBe(false);
  });

  it('rebuilds an output deleted by hand', () => {
    unlinkSync(at('dist/greet.js'));
    build();
    expect(runMain()).toBe('fixed');
  });
});
