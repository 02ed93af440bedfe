/**
 * The order `npm test` starts its files in. Two workers pull files from one queue, so the run
 * ends when the last file started ends: a long file started last makes a long tail with one
 * worker idle. vitest orders by the durations it cached from the last run, but a clean clone
 * (CI) has no cache and gets the largest files first, which are not the slow ones. So the files
 * known to take longest (measured, per-file wall time on the embedded database) start first,
 * longest first; everything else follows in vitest's own order.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Slowest first. A file missing here only starts later; test/sequencer.test.ts checks that each name exists. */
export const LONG_FILES = [
  'test/customers/export-stall.test.ts',
  'test/customers/export.test.ts',
  'test/app/docs-browser.e2e.test.ts',
  'test/rest/xlsx-export.test.ts',
  'test/app/embedded-owner.e2e.test.ts',
  'test/app/hostile-clients.test.ts',
  'test/build.test.ts',
  'test/db/test-database-reuse.test.ts',
  'test/db/customer-summaries.test.ts',
  'test/db/embedded.test.ts',
  'test/bench/paced.test.ts',
  'test/rest/renderers-xlsx.test.ts',
];

export default class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const index = LONG_FILES.indexOf(relative(this.ctx.config.root, spec.moduleId));
      return index === -1 ? LONG_FILES.length : index;
    };
    const sorted = await super.sort(files);
    // Array.prototype.sort is stable: the rest keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
