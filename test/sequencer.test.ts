/** The files `npm test` starts first (test/sequencer.ts) exist: a renamed one would silently start last again. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LONG_FILES } from './sequencer.js';

describe('the long-files-first order', () => {
  it.each(LONG_FILES)('names a test file that exists: %s', (file) => {
    expect(existsSync(join(import.meta.dirname, '..', file))).toBe(true);
  });
});
