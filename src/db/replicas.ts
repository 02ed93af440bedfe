/**
 * A set of PostgreSQL streaming replicas to spread reads over (docs/scaling.md#read-replicas):
 * a pool per replica, chosen round-robin among those usable. A replica is usable while
 *  - it last answered: one whose connection failed (refused, reset, timed out) is set aside for a
 *    back-off period, then measured again;
 *  - it is a standby: a server out of recovery (promoted, or a misconfigured URL) takes no reads
 *    meant for replicas;
 *  - its lag, measured every second, is within maxLagMs.
 * `read()` runs a piece of read work on the next usable replica and, when that replica fails under
 * it, on the next one, and last on the primary: a replica that stops costs the caller nothing.
 *
 * Not wired into the repository yet: the routing of list reads lands with its rewrite.
 */
import type pg from 'pg';
import { createPool } from './pool.js';
import { isDatabaseUnavailable } from './unavailable.js';

export interface ReplicaSetOptions {
  /** postgresql:// URLs, one per replica. */
  urls: readonly string[];
  /** A replica further behind than this is skipped (REPLICA_MAX_LAG_MS). */
  maxLagMs: number;
  /** How long a replica whose connection failed is set aside, ms. */
  backoffMs?: number;
  /** How often each replica's lag is measured, ms; 0 = only when check() is called. */
  checkIntervalMs?: number;
  /** Each replica's pool, as the primary's (db/pool.ts). */
  pool: { max: number; statementTimeoutMs: number; connectTimeoutMs: number; idleTimeoutMs?: number; preparedStatements?: number };
  /** The clock, for tests. */
  now?: () => number;
}

export type ReplicaState =
  /** Not measured yet. */
  | 'unknown'
  | 'ok'
  | 'lagging'
  /** Answers, but is not in recovery: not a replica. */
  | 'not-standby'
  /** Its connection failed; set aside until retryAt. */
  | 'failed';

/** One replica as /ready reports it: no credentials, only where it is. */
export interface ReplicaReport {
  replica: string;
  state: ReplicaState;
  /** Last measured lag, ms (0 when it has replayed all it received and streams). */
  lagMs: number | null;
  error?: string;
}

export interface Replica {
  /** host:port/database, for logs and /ready. */
  readonly name: string;
  readonly pool: pg.Pool;
}

export interface ReplicaSet {
  /** Every replica, in the order of the URLs. */
  readonly replicas: readonly Replica[];
  /** The usable replicas, starting at the next one in round-robin order. */
  usable(): Replica[];
  /** Sets a replica aside for the back-off period after its connection failed. */
  setAside(replica: Replica, error: Error): void;
  /**
   * `work` on the next usable replica; on a replica failure (connection lost or refused, or a query
   * cancelled by a conflict with recovery) on the next, and last on `primary`. Other errors (a bad
   * query, a statement timeout) are the caller's: they would fail on the primary too.
   */
  read<T>(primary: pg.Pool, work: (pool: pg.Pool) => Promise<T>): Promise<T>;
  /** Measures every replica once (the timer does it every checkIntervalMs). */
  check(): Promise<void>;
  report(): ReplicaReport[];
  close(): Promise<void>;
}

/**
 * Lag as a replica knows it. pg_last_xact_replay_timestamp() alone grows while the primary writes
 * nothing, so a replica that streams and has replayed all it received counts as 0 behind.
 */
const LAG_QUERY = `
  SELECT pg_is_in_recovery() AS standby,
         CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                   AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
              ELSE (EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::bigint
         END AS lag_ms`;

/** SQLSTATE 40001 on a standby: a query cancelled because replay had to remove rows it could see. */
const RECOVERY_CONFLICT = '40001';

interface Member extends Replica {
  state: ReplicaState;
  lagMs: number | null;
  error?: string;
  retryAt: number;
}

function nameOf(url: string): string {
  const u = new URL(url);
  return `${u.host}${u.pathname}`;
}

export function createReplicaSet(options: ReplicaSetOptions): ReplicaSet {
  const now = options.now ?? Date.now;
  const backoffMs = options.backoffMs ?? 5_000;
  const members: Member[] = options.urls.map((url) => ({
    name: nameOf(url),
    pool: createPool({ url, ...options.pool, applicationName: 'oms-customers-replica' }),
    state: 'unknown',
    lagMs: null,
    retryAt: 0,
  }));
  let cursor = 0;

  // A replica back from its back-off takes reads again only once a check found it well: a request
  // is never the probe.
  const isUsable = (m: Member) => m.state === 'ok';

  const setAside = (replica: Replica, error: Error) => {
    const member = members.find((m) => m === replica);
    if (!member) return;
    member.state = 'failed';
    member.error = error.message;
    member.retryAt = now() + backoffMs;
  };

  const measure = async (member: Member) => {
    // A replica set aside is left alone until its back-off is over.
    if (member.state === 'failed' && now() < member.retryAt) return;
    try {
      const { rows } = await member.pool.query<{ standby: boolean; lag_ms: string | null }>(LAG_QUERY);
      const row = rows[0]!;
      member.lagMs = row.lag_ms === null ? null : Number(row.lag_ms);
      member.error = undefined;
      if (!row.standby) member.state = 'not-standby';
      // No replay timestamp yet (nothing replayed since start): unknown lag, not usable.
      else member.state = member.lagMs !== null && member.lagMs <= options.maxLagMs ? 'ok' : 'lagging';
    } catch (error) {
      setAside(member, error instanceof Error ? error : new Error(String(error)));
    }
  };

  let checking: Promise<void> | null = null;
  const check = () => (checking ??= Promise.all(members.map(measure)).then(() => void (checking = null)));

  const interval = options.checkIntervalMs ?? 1_000;
  const timer = interval > 0 && members.length > 0 ? setInterval(() => void check(), interval) : null;
  timer?.unref();

  const usable = (): Replica[] => {
    const start = cursor;
    cursor = (cursor + 1) % Math.max(members.length, 1);
    const ordered = members.map((_, i) => members[(start + i) % members.length]!);
    return ordered.filter(isUsable);
  };

  return {
    replicas: members,
    usable,
    setAside,
    async read(primary, work) {
      for (const replica of usable()) {
        try {
          return await work(replica.pool);
        } catch (error) {
          if ((error as { code?: unknown }).code === RECOVERY_CONFLICT) continue;
          // 57014 (statement_timeout) counts as unavailable for a 503, but the primary would time out too.
          if (!isDatabaseUnavailable(error) || (error as { code?: unknown }).code === '57014') throw error;
          setAside(replica, error as Error);
        }
      }
      return work(primary);
    },
    check,
    report: () =>
      members.map((m) => ({ replica: m.name, state: m.state, lagMs: m.lagMs, ...(m.error ? { error: m.error } : {}) })),
    async close() {
      if (timer) clearInterval(timer);
      await checking;
      await Promise.all(members.map((m) => (m.pool.ended ? undefined : m.pool.end())));
    },
  };
}
