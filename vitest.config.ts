import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The scale-out topology has its own run: npm run test:scale (vitest.scale.config.ts).
    exclude: [...configDefaults.exclude, 'test/scale/**'],
    // Each file gets its own database (see test/helpers.ts), so files run in parallel.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
