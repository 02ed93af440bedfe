/**
 * A Prometheus histogram for the per-request path: the same series, buckets and exposition as
 * prom-client's Histogram (it registers in a prom-client Registry and is scraped with the rest),
 * with an `observe` that costs a string key and a Map lookup. prom-client's validates the labels,
 * builds a closure and a pair object, hashes the labels into a string and finds the bucket by a
 * numeric-string property on every call: ~1–2 µs, twice per page (request and query durations).
 *
 * Labels are not validated here: every caller passes a fixed object shape whose values come from
 * closed sets (service-metrics.ts), which is what keeps the series bounded.
 */
import type { Registry } from 'prom-client';

interface Series<L extends string> {
  labels: Readonly<Record<L, string>>;
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** One exposed sample, as prom-client's metrics give them to their registry. */
export interface HistogramSample {
  metricName: string;
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  /** Buckets carry one (none here), as prom-client's do. */
  exemplar?: null;
}

export interface SeriesHistogramOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  /** Upper bounds, ascending. */
  buckets: readonly number[];
  registers: readonly Registry[];
}

export class SeriesHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly L[];
  private readonly bounds: readonly number[];
  private series = new Map<string, Series<L>>();

  constructor({ name, help, labelNames, buckets, registers }: SeriesHistogramOptions<L>) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.bounds = buckets;
    // prom-client's Registry takes any metric with a name, get() and reset().
    for (const registry of registers) registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  observe(labels: Readonly<Record<L, string>>, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    let key = '';
    for (const name of this.labelNames) key += `${labels[name]}\u0000`;
    let series = this.series.get(key);
    if (series === undefined) {
      // A copy: the caller may reuse or change its object.
      const own = {} as Record<L, string>;
      for (const name of this.labelNames) own[name] = labels[name];
      series = { labels: own, buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket++;
    series.buckets[bucket]! += 1;
    series.sum += value;
    series.count += 1;
  }

  reset(): void {
    this.series = new Map();
  }

  /** Each series' labels and how many observations it has (its `_count`), without building the other samples. */
  *counts(): IterableIterator<{ labels: Readonly<Record<L, string>>; count: number }> {
    for (const { labels, count } of this.series.values()) yield { labels, count };
  }

  /** What the registry formats: prom-client's histogram layout (cumulative buckets, +Inf, sum, count per series). */
  getForPromString() {
    const bucketName = `${this.name}_bucket`;
    const values: HistogramSample[] = [];
    for (const { labels, buckets, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += buckets[i]!;
        values.push({ metricName: bucketName, value: cumulative, exemplar: null, labels: { le }, sharedLabels: labels });
      });
      values.push(
        { metricName: bucketName, value: count, exemplar: null, labels: { le: '+Inf' }, sharedLabels: labels },
        { metricName: `${this.name}_sum`, value: sum, labels: {}, sharedLabels: labels },
        { metricName: `${this.name}_count`, value: count, labels: {}, sharedLabels: labels },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's `get()`: each sample's labels with the series' own merged in. */
  async get() {
    const data = this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...sample }) => ({ ...sample, labels: { ...labels, ...sharedLabels } })),
    };
  }
}
