import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The run's database templates, copied by every test file (see test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    // Each file gets its own database (see test/helpers/database.ts), so files run in parallel.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
