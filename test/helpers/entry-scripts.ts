/**
 * The project's entry scripts (src/server.ts, src/cli.ts, bench/*.ts) as the tests start them:
 * as JavaScript transpiled once per run (test/global-setup.ts) by esbuild with tsx's options, the
 * transform tsx applies on every start of an npm script. `node --import tsx` costs ~0.8-1.2 s of
 * CPU more per process (tsx's loader thread and esbuild service, every module through its hooks).
 *
 * The copy mirrors the project: node_modules, prisma/ and package.json are linked beside src/ and
 * bench/, so paths taken relative to a module (the migrations, package.json, the XLSX worker,
 * bench/loop-delay.mjs) resolve as they do from the sources.
 */
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where test/global-setup.ts transpiled src/ and bench/ for this run. */
    transpiledProject: string;
  }
}

const TRANSPILED_FOLDERS = ['src', 'bench'];
const LINKED = ['node_modules', 'prisma', 'package.json'];

/**
 * Transpiles `root`'s src/ and bench/ into `into` (emptied first) or a new folder under the
 * system's temporary one, and returns its path. Other files there are linked, not copied.
 */
export async function transpileEntryScripts(root: string, into?: string): Promise<string> {
  let out: string;
  if (into) {
    rmSync(into, { recursive: true, force: true });
    mkdirSync(into);
    out = into;
  } else {
    // Real path: Node compares a script's import.meta.url (a real path) with process.argv[1] (src/lib/run-main.ts).
    out = realpathSync(mkdtempSync(join(tmpdir(), 'oms-transpiled-')));
  }
  const files = TRANSPILED_FOLDERS.flatMap((folder) =>
    readdirSync(join(root, folder), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name)),
  );
  const isTypeScript = (file: string) => file.endsWith('.ts') && !file.endsWith('.d.ts');
  const typescript = files.filter(isTypeScript);
  // What tsx passes esbuild (tsx/dist: target, keepNames, format); tsconfig.json is read by esbuild as by tsx.
  await build({
    entryPoints: typescript,
    outdir: out,
    outbase: root,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    keepNames: true,
    logLevel: 'error',
  });
  for (const file of files.filter((f) => !isTypeScript(f))) {
    const target = join(out, relative(root, file));
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(file, target);
  }
  for (const name of LINKED) symlinkSync(join(root, name), join(out, name));
  return out;
}

/**
 * Node's arguments that run `script` (a path in the project, e.g. `src/cli.ts`) as its npm script
 * does: the run's transpiled copy of it.
 */
export function entryScript(script: string): string[] {
  const transpiled = inject('transpiledProject');
  if (!transpiled) throw new Error('no transpiledProject: run the tests through vitest.config.ts (test/global-setup.ts)');
  return [join(transpiled, script.replace(/\.ts$/, '.js'))];
}
