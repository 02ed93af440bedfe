/** bench/load.ts: the paired-rounds median the report shows beside the best rounds of page 1. */
import { describe, expect, it } from 'vitest';
import { nodeOutput, pairedMedian } from '../../bench/load.js';

describe('pairedMedian', () => {
  it('takes the median of the rounds\' own ratios, not the ratio of the best rounds', () => {
    // The full run at 108388b before the one committed: best rounds 2,907 vs 3,725 (78%).
    expect(pairedMedian([2907, 2040, 2438, 1777], [3725, 2206, 3209, 3210])).toBeCloseTo((2438 / 3209 + 2907 / 3725) / 2, 10);
    expect(pairedMedian([1, 2, 3], [2, 2, 2])).toBe(1);
  });

  it('skips rounds the other side lacks, and has nothing to say with fewer than two', () => {
    expect(pairedMedian([1, 4, 9], [2, 8])).toBe(0.5);
    expect(pairedMedian([1], [2])).toBeNull();
    expect(pairedMedian([1, 2], [0, 0])).toBeNull();
  });
});

describe('nodeOutput', () => {
  it('gives stdout, and each stderr line as it comes, split across reads', async () => {
    const lines: string[] = [];
    const script = "process.stderr.write('mea'); setTimeout(() => { process.stderr.write('suring\\nnext\\n'); process.stdout.write('{}'); }, 50)";
    expect(await nodeOutput(['-e', script], 'test', (line) => lines.push(line))).toBe('{}');
    expect(lines).toEqual(['measuring', 'next']);
  });
});
