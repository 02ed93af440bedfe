/**
 * The per-request histogram must be scraped exactly as prom-client's own Histogram would be: the
 * same text for the same observations, series by series, and the same `get()` for whatever reads it
 * (http_requests_total is derived from its `_count` samples).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from '../../src/metrics/series-histogram.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const labelNames = ['route', 'status'] as const;

function pair() {
  const ours = new Registry();
  const theirs = new Registry();
  const options = { name: 'x_duration_seconds', help: 'Durations "quoted" \\ and all', labelNames, buckets: BUCKETS };
  return {
    ours, theirs,
    lean: new SeriesHistogram({ ...options, registers: [ours] }),
    reference: new Histogram({ ...options, registers: [theirs] }),
  };
}

const observation = fc.record({
  route: fc.constantFrom('/a/', '/b/{id}', 'unmatched', 'say "hi"\n'),
  status: fc.constantFrom('200', '404', '503'),
  value: fc.oneof(fc.double({ min: 0, max: 2, noNaN: true }), fc.constantFrom(...BUCKETS, 0, 100)),
});

describe('SeriesHistogram', () => {
  it('exposes what prom-client exposes for the same observations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
        const { ours, theirs, lean, reference } = pair();
        for (const { route, status, value } of observations) {
          lean.observe({ route, status }, value);
          reference.observe({ route, status }, value);
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
        const samples = await reference.get();
        expect(await lean.get()).toEqual(samples);
        // counts() is each series' _count sample (what http_requests_total is read from).
        const counted = samples.values.filter((v) => v.metricName === 'x_duration_seconds_count').map((v) => ({ labels: v.labels, count: v.value }));
        expect([...lean.counts()]).toEqual(counted);
      }),
    );
  });

  it('starts again from nothing when reset', async () => {
    const { ours, lean } = pair();
    lean.observe({ route: '/a/', status: '200' }, 0.2);
    lean.reset();
    expect(await ours.metrics()).toBe('# HELP x_duration_seconds Durations "quoted" \\\\ and all\n# TYPE x_duration_seconds histogram\n');
  });

  it('keeps its own copy of the labels and refuses values that are not numbers', async () => {
    const { lean } = pair();
    const labels = { route: '/a/', status: '200' };
    lean.observe(labels, 0.001);
    labels.status = '500';
    const { values } = await lean.get();
    expect(new Set(values.map((v) => v.labels.status))).toEqual(new Set(['200']));
    expect(() => lean.observe({ route: '/a/', status: '200' }, Number.NaN)).toThrow(TypeError);
  });
});
