// Runs `prisma generate` offline. The Prisma CLI insists on locating its native
// schema engine even though generating the engine-free `prisma-client` never
// uses it; pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file (this Node
// binary) stops it from trying to download one.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
