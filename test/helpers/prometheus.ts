/**
 * Reading a `/metrics` body with a real Prometheus text-format parser (parse-prometheus-text-format)
 * into samples by name. That parser folds a histogram's series into one, dropping their labels and
 * their `_sum`/`_count`, so each histogram is read as what its lines are on the wire: the plain
 * samples `<name>_bucket`, `<name>_sum` and `<name>_count`, labels included.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Family name → its type as declared (`counter`, `gauge`, `histogram`, …). */
  types: Map<string, string>;
  /** Sample name (`x`, `x_bucket`, `x_count`, …) → its samples. */
  samples: Map<string, Sample[]>;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(name!, type!);
  const flat = text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped');
  const samples = new Map<string, Sample[]>();
  for (const family of parsePrometheusTextFormat(flat)) {
    const list = samples.get(family.name) ?? [];
    for (const metric of family.metrics) list.push({ labels: metric.labels ?? {}, value: Number(metric.value) });
    samples.set(family.name, list);
  }
  return { types, samples };
}

/** The value of the one sample of `name` whose labels include `labels`; 0 when there is none. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const matching = (exposition.samples.get(name) ?? []).filter((sample) =>
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value ?? 0;
}

/** How many series `name` has. */
export function seriesCount(exposition: Exposition, name: string): number {
  return exposition.samples.get(name)?.length ?? 0;
}
