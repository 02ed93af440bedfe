// Runs `prisma generate` offline, and only when the schema changed.
// The Prisma CLI insists on locating its native schema engine even though
// generating the engine-free `prisma-client` never uses it; pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file (this Node binary) stops it
// from trying to download one (which fails without internet).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url);
const stampFile = new URL('src/generated/prisma/.schema-hash', root);
const prismaVersion = require('prisma/package.json').version;
const hash = createHash('sha256')
  .update(prismaVersion)
  .update(readFileSync(new URL('prisma/schema.prisma', root)))
  .digest('hex');

if (!process.argv.includes('--force') && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash) {
  process.exit(0);
}
const cli = require.resolve('prisma/build/index.js');
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
const result = spawnSync(process.execPath, [cli, 'generate'], { stdio: ['ignore', 'ignore', 'inherit'], env, cwd: root });
if (result.status === 0) writeFileSync(stampFile, hash);
process.exit(result.status ?? 1);
