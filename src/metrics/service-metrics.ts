/**
 * The service's Prometheus metrics (prom-client), one registry per app: requests by route
 * template, exports, the pool and query durations, and Node's process metrics. Every label takes
 * its values from a closed set (route templates, methods, statuses, renderer formats, query
 * kinds), never from what a client sends, so a flood of odd URLs adds no series.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type pg from 'pg';
import type { QueryKind, QueryTimer } from '../repository/timed-repository.js';
import { SeriesHistogram } from './series-histogram.js';

/** The `route` label of a request no route matched (404s of unknown paths). */
export const UNMATCHED_ROUTE = 'unmatched';
/** The `format` label when content negotiation never ran or failed. */
export const NO_FORMAT = 'none';

/** Seconds; a page answers in milliseconds, a full export in minutes. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const QUERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ServiceMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status' | 'format'>;
  requestDuration: SeriesHistogram<'route' | 'method' | 'status' | 'format'>;
  exportRows: Counter<'format'>;
  exportBytes: Counter<'format'>;
  exportsInFlight: Gauge<'format'>;
  queryDuration: SeriesHistogram<'query'>;
  /** Times one repository call, whether it succeeds or fails. */
  timeQuery: QueryTimer;
}

const QUERY_LABELS: Readonly<Record<QueryKind, { query: QueryKind }>> = {
  page_read: { query: 'page_read' },
  version: { query: 'version' },
  count: { query: 'count' },
  page: { query: 'page' },
  export_open: { query: 'export_open' },
};

/** Pools to report, by name, each once (db/database.ts `namedPools`). */
export type NamedPools = ReadonlyMap<string, pg.Pool>;

/**
 * Process metrics belong to the process, whichever app serves them, and are collected once:
 * prom-client's GC observer and event-loop monitor, started per collection, are never released.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createServiceMetrics(pools: NamedPools): ServiceMetrics {
  const own = new Registry();
  const httpLabels = ['route', 'method', 'status', 'format'] as const;
  // Observed on every request (and every query): series-histogram.ts, prom-client's layout at a fraction of its cost.
  const requestDuration = new SeriesHistogram({
    name: 'http_request_duration_seconds',
    help: 'Time from a request to the end of its response (a streamed export included), seconds',
    labelNames: httpLabels,
    buckets: REQUEST_BUCKETS,
    registers: [own],
  });
  // Each request is observed once, in the histogram; the counter is its `_count` per series, read
  // when scraped (a second observation per request would cost as much again).
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route template, method, status and rendered format',
    labelNames: httpLabels,
    registers: [own],
    collect() {
      this.reset();
      for (const { labels, count } of requestDuration.counts()) this.inc(labels, count);
    },
  });
  const exportRows = new Counter({
    name: 'export_rows_total',
    help: 'Rows of limit=all exports that were sent to the end, by format',
    labelNames: ['format'],
    registers: [own],
  });
  const exportBytes = new Counter({
    name: 'export_bytes_total',
    help: 'Body bytes of limit=all exports written to the connection (after compression), by format',
    labelNames: ['format'],
    registers: [own],
  });
  const exportsInFlight = new Gauge({
    name: 'exports_in_flight',
    help: 'limit=all exports being sent now, by format',
    labelNames: ['format'],
    registers: [own],
  });
  const queryDuration = new SeriesHistogram({
    name: 'db_query_duration_seconds',
    help: "Duration of the list repository's queries: a page with its token, version and count in one statement (page_read), version, count, page, and an export's snapshot and count (export_open), seconds",
    labelNames: ['query'],
    buckets: QUERY_BUCKETS,
    registers: [own],
  });
  const poolGauge = (name: string, help: string, read: (pool: pg.Pool) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers: [own],
      // Read when scraped: the pool's own counters are the truth, nothing to keep in step.
      collect() {
        this.reset();
        for (const [label, pool] of pools) this.set({ pool: label }, read(pool));
      },
    });
  poolGauge('db_pool_connections', 'Connections the pool holds, busy or idle', (p) => p.totalCount);
  poolGauge('db_pool_idle_connections', 'Connections the pool holds idle', (p) => p.idleCount);
  poolGauge('db_pool_waiting_requests', 'Checkouts waiting for a connection', (p) => p.waitingCount);
  poolGauge('db_pool_max_connections', 'Most connections the pool may open', (p) => p.options.max ?? 10);

  return {
    // The app's own metrics and the process's, served together.
    registry: Registry.merge([processMetrics(), own]),
    requests,
    requestDuration,
    exportRows,
    exportBytes,
    exportsInFlight,
    queryDuration,
    timeQuery<T>(kind: QueryKind, work: () => Promise<T>): Promise<T> {
      // One labels object per kind and no timer closures: this runs on every page.
      const labels = QUERY_LABELS[kind];
      const started = performance.now();
      const observe = () => queryDuration.observe(labels, (performance.now() - started) / 1000);
      let running: Promise<T>;
      try {
        running = work();
      } catch (error) {
        observe();
        return Promise.reject(error);
      }
      running.then(observe, observe);
      return running;
    },
  };
}
