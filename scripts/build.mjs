// Compiles the project in the current directory (src/ to dist/, tsconfig.build.json):
// `node scripts/build.mjs` (what `npm start` runs) builds incrementally, `--clean` (what
// `npm run build` runs) from nothing. The Prisma client is generated before, by package.json.
//
// Incremental: when no input is newer than the last successful build (modification times, as make
// compares them; a folder's changes when an entry is added, removed or renamed), nothing runs, not
// even TypeScript, whose loading alone costs half a second. Otherwise `tsc -b` recompiles what
// changed, with what it affects (dist/.tsbuildinfo). tsc never deletes an output whose source
// went away, so then every file in dist/ without its source in src/ is removed: a deleted or
// renamed module is never served stale. An output that went missing by hand makes a clean build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, rmdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const root = process.cwd();
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = join(dist, '.build-stamp');
const require = createRequire(import.meta.url);

/** Every file under `dir`, as paths relative to it. */
const filesUnder = (dir) =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name))) : [];

/** The source an output in dist/ comes from (rootDir src), or null for the build's own files. */
function sourceOf(output) {
  if (output === '.tsbuildinfo' || output === '.build-stamp') return null;
  const match = /^(.*)\.(js|mjs|cjs)(\.map)?$|^(.*)\.d\.(ts|mts|cts)(\.map)?$/.exec(output);
  if (!match) return [output]; // copied as is (a JSON module)
  const base = match[1] ?? match[4];
  const kind = match[2] ?? match[5];
  const ts = { js: 'ts', ts: 'ts', mjs: 'mts', mts: 'mts', cjs: 'cts', cts: 'cts' }[kind];
  return [`${base}.${ts}`, `${base}.tsx`];
}

/** Removes outputs whose source is gone, then the folders that left empty. */
function pruneStaleOutputs() {
  const removed = [];
  for (const output of filesUnder(dist)) {
    const sources = sourceOf(output);
    if (sources && !sources.some((source) => existsSync(join(src, source)))) {
      rmSync(join(dist, output));
      removed.push(output);
    }
  }
  const dirs = readdirSync(dist, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort((a, b) => b.length - a.length);
  for (const dir of dirs) if (readdirSync(dir).length === 0) rmdirSync(dir);
  return removed;
}

/** True when some source has no compiled output (dist/ edited by hand): tsc -b would not notice. */
const outputMissing = () =>
  filesUnder(src).some((file) => /(?<!\.d)\.(ts|mts|cts)$/.test(file) &&
    !existsSync(join(dist, file.replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs'))));

/** Newest modification time of the build's inputs: src/ (files and folders), configs, lockfile. */
function newestInput() {
  const sourceEntries = readdirSync(src, { recursive: true, withFileTypes: true }).map((entry) => join(entry.parentPath, entry.name));
  const configs = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'].map((file) => join(root, file));
  return Math.max(...[src, ...sourceEntries, ...configs].filter((path) => existsSync(path)).map((path) => statSync(path).mtimeMs));
}

const clean = process.argv.includes('--clean') || outputMissing();
if (!clean && existsSync(stamp) && statSync(stamp).mtimeMs > newestInput()) process.exit(0);
// The stamp gets the time the build began, so a file saved while it runs is compiled next time.
const began = new Date();
if (clean) rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'tsconfig.build.json'], { stdio: 'inherit', cwd: root });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const removed = pruneStaleOutputs();
if (removed.length > 0) process.stderr.write(`build: removed ${removed.length} output(s) whose source is gone: ${removed.join(', ')}\n`);
writeFileSync(stamp, '');
utimesSync(stamp, began, began);
