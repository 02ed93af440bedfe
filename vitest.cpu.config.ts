import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import LongFilesFirst from './test/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The scale-out topology has its own run: npm run test:scale (vitest.scale.config.ts).
    exclude: [...configDefaults.exclude, 'test/scale/**'],
    // The run's database templates, copied by every test file (see test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'], setupFiles: ['test/zz-cpu-setup.ts'],
    // Each file gets its own database (see test/helpers/database.ts), so files run in parallel.
    pool: 'forks',
    // One worker per core: vitest's default for a run (cores - 1) is one worker on two cores, which
    // leaves a core idle. Not more: the files that time things (stall and keep-alive timeouts, child
    // processes) are then starved, and a 60,000-row insert outlasts its pool's query timeout.
    maxWorkers: availableParallelism(),
    // A worker runs file after file in one process: Node, vitest, the imports and PGlite's compiled
    // WASM are paid once per worker, not per file. Each file still builds its own app and database.
    isolate: false,
    // The slowest files start first, so that no long file starts last and runs alone (test/sequencer.ts).
    sequence: { sequencer: LongFilesFirst },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
