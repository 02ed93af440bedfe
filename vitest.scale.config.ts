import { defineConfig } from 'vitest/config';

// `npm run test:scale`: the scale-out topology (test/scale/), outside `npm test`. One file at a time:
// each builds PostgreSQL clusters, PgBouncer and HAProxy of its own and loads the machine.
export default defineConfig({
  test: {
    include: ['test/scale/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
