/**
 * `npm run test:scale`: the service on the components users scale out with (test/scale/topology.ts):
 * PgBouncer in transaction pooling changes no byte of any response, HAProxy spreads requests over two
 * processes, and how one process compares with two on this machine (reported, never asserted: the
 * database shares the same CPUs).
 */
import type { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
// exceljs's own zip reader (a dependency of exceljs, not declared here).
import JSZip from 'jszip';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runAutocannon, type LoadResult } from '../../bench/load.js';
import { NODE_FLAGS, startProcess, type Started } from '../../bench/processes.js';
import { createTokenStore } from '../../src/auth/token-store.js';
import { defaultConfig } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { generateCustomers } from '../../bench/generate-customers.js';
import { migrate } from '../../src/db/migrate.js';
import { createReplicaSet, type ReplicaSet } from '../../src/db/replicas.js';
import { createPool, PREPARED_STATEMENTS_OFF } from '../../src/db/pool.js';
import { prepared } from '../../src/db/prepared-statements.js';
import { effectiveStatementTimeoutMs } from '../../src/db/statement-timeout.js';
import { buildTopology, HAPROXY_SLOWSTART_S, type Topology } from './topology.js';

const STATEMENT_TIMEOUT_MS = 30_000;
const CUSTOMERS = 20_000;
const LIST = '/api/v1/oms/customers/list-simple/';
/** Seconds of load per throughput run, and the connections autocannon keeps open. */
const LOAD_SECONDS = Number(process.env.SCALE_LOAD_SECONDS ?? 5);
const LOAD_CONNECTIONS = 16;

let topology: Topology;
let db: Database;
let token: string;
/** Two processes through PgBouncer (behind HAProxy), and one straight on the primary to compare with. */
let pooled: Started[] = [];
let direct: Started;
let balancer: string;
/** How the pooled processes reach the database: through PgBouncer, migrations straight to the primary. */
let viaBouncer: Record<string, string>;

function startService(name: string, env: Record<string, string>, port?: number): Promise<Started> {
  return startProcess(name, [...NODE_FLAGS, 'dist/server.js'], {
    LOG_LEVEL: 'info',
    DB_POOL_MAX: '8',
    DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    // Exports run concurrently with pages below; the default cap (a third of the pool) would 429 them.
    EXPORT_CONCURRENCY: '8',
    EXPORT_CONCURRENCY_PER_TOKEN: '8',
    ...env,
  }, join(topology.dir, `${name}.log`), 60_000, port);
}

beforeAll(async () => {
  topology = await buildTopology({ statementTimeoutMs: STATEMENT_TIMEOUT_MS });
  try {
    viaBouncer = { DATABASE_URL: topology.pgbouncer.url, DIRECT_DATABASE_URL: topology.primary.url() };
    db = await openDatabase(defaultConfig({ ...viaBouncer, DB_POOL_MAX: 4 }));
    await migrate(db.migrationPool);
    // COPY FROM STDIN and the generator's index juggling, through PgBouncer, and a token through Prisma.
    await generateCustomers(db.pool, { count: CUSTOMERS, seed: 13 });
    token = await createTokenStore(db).create('scale');
    pooled = [await startService('api1', viaBouncer), await startService('api2', viaBouncer)];
    direct = await startService('direct', { DATABASE_URL: topology.primary.url() });
    balancer = await topology.startHaproxy(pooled.map((s) => s.baseUrl));
  } catch (error) {
    await stopAll();
    throw error;
  }
}, 300_000);

async function stopAll() {
  for (const service of [...pooled, direct]) await service?.stop();
  await db?.close();
  await topology?.teardown();
}
afterAll(stopAll, 120_000);

/** One request, read to its end; every side gets the same Host, so links in bodies compare equal. */
const get = (base: string, path: string, method = 'GET') =>
  new Promise<{ status: number; type: string | undefined; servedBy: string | undefined; body: Buffer }>((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers: { host: 'customers.example', authorization: `Token ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () =>
        resolve({
          status: res.statusCode!,
          type: res.headers['content-type'],
          servedBy: res.headers['x-served-by'] as string | undefined,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.once('error', reject);
    req.end();
  });

/**
 * An .xlsx as its entries' bytes. Two workbooks of the same rows are never the same file: the zip
 * stamps each entry with the time it was written, and docProps/core.xml holds the creation time
 * (exceljs sets it to now), so those two times are taken out and every other byte compared.
 */
async function xlsxEntries(file: Buffer): Promise<Record<string, string>> {
  const zip = await JSZip.loadAsync(file);
  const entries: Record<string, string> = {};
  for (const name of Object.keys(zip.files).sort()) {
    const text = await zip.file(name)!.async('string');
    entries[name] = name === 'docProps/core.xml' ? text.replace(/(<dcterms:(?:created|modified)[^>]*>)[^<]*/g, '$1…') : text;
  }
  return entries;
}

describe('PgBouncer in transaction pooling', () => {
  it('leaves statement_timeout to the server, which applies DB_STATEMENT_TIMEOUT_MS on every pooled connection', async () => {
    const pool = createPool({ url: topology.pgbouncer.url, max: 10, statementTimeoutMs: STATEMENT_TIMEOUT_MS, connectTimeoutMs: 5_000 });
    try {
      // Ten at once: PgBouncer hands them several server connections.
      const seen = await Promise.all(Array.from({ length: 10 }, () => effectiveStatementTimeoutMs(pool)));
      expect(new Set(seen)).toEqual(new Set([STATEMENT_TIMEOUT_MS]));
    } finally {
      await pool.end();
    }
    for (const service of pooled) expect(readFileSync(service.logPath, 'utf8')).not.toContain('not DB_STATEMENT_TIMEOUT_MS');
  });

  it('loses no read to named list statements: at the first one PgBouncer cannot carry, the pool reads on unnamed', async () => {
    // One server connection behind PgBouncer: the second client's statement meets the first's name there.
    const pool = createPool({ url: topology.pgbouncer.oneServerUrl, max: 2, statementTimeoutMs: STATEMENT_TIMEOUT_MS, connectTimeoutMs: 5_000, preparedStatements: 8 });
    const switchedOff: Error[] = [];
    (pool as EventEmitter).on(PREPARED_STATEMENTS_OFF, (error: Error) => switchedOff.push(error));
    try {
      const clients = [await pool.connect(), await pool.connect()];
      try {
        for (let i = 0; i < 5; i++) {
          for (const client of clients) expect((await client.query(prepared({ text: 'SELECT $1::int AS n', values: [i] }))).rows).toEqual([{ n: i }]);
        }
      } finally {
        for (const client of clients) client.release();
      }
      expect(switchedOff.map((error) => (error as { code?: string }).code)).toEqual(['42P05']);
    } finally {
      await pool.end();
    }
  });

  it('changes no byte of pages, OPTIONS and full CSV/JSON/XLSX exports, all running at once', async () => {
    const requests: [string, string][] = [
      ['GET', LIST],
      ['GET', `${LIST}?limit=100&page=7`],
      ['GET', `${LIST}?sort=-modified_date&limit=250&page=last`],
      ['GET', `${LIST}?channel_id=2&id__gte=5000&limit=40`],
      ['GET', `${LIST}?format=csv&limit=500`],
      ['HEAD', LIST],
      ['OPTIONS', LIST],
      ['GET', `${LIST}?limit=all&format=csv`],
      ['GET', `${LIST}?limit=all&format=json`],
      ['GET', `${LIST}?limit=all&format=xlsx`],
      ['GET', `${LIST}?limit=all&format=csv&sort=-id&channel_id=3`],
    ];
    // Both sides concurrently, so transactions of different requests share PgBouncer's server connections.
    const [through, straight] = await Promise.all([
      Promise.all(requests.map(([method, path]) => get(pooled[0]!.baseUrl, path, method))),
      Promise.all(requests.map(([method, path]) => get(direct.baseUrl, path, method))),
    ]);
    for (const [i, [method, path]] of requests.entries()) {
      const label = `${method} ${path}`;
      expect(through[i]!.status, label).toBe(200);
      expect(through[i]!.type, label).toBe(straight[i]!.type);
      if (path.includes('format=xlsx')) {
        expect(await xlsxEntries(through[i]!.body), label).toEqual(await xlsxEntries(straight[i]!.body));
      } else {
        expect(through[i]!.body.length, label).toBe(straight[i]!.body.length);
        expect(through[i]!.body.equals(straight[i]!.body), label).toBe(true);
      }
    }
    // The full CSV export is every customer (a header line, then one line each).
    const csv = through[7]!.body.toString('utf8');
    expect(csv.split('\r\n').filter(Boolean)).toHaveLength(CUSTOMERS + 1);
  });
});

describe('HAProxy in front of two processes', () => {
  it('serves requests from both', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(balancer, `${LIST}?limit=5`)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(new Set(answers.map((a) => a.servedBy))).toEqual(new Set(['api1', 'api2']));
    // Same database, same bytes, whoever answered.
    expect(new Set(answers.map((a) => a.body.toString('utf8'))).size).toBe(1);
  });

  it('ramps up a process that comes back (slowstart): it gets a small share of its first seconds, not half', async () => {
    const path = `${LIST}?limit=1`;
    const polling = { timeout: 20_000, interval: 100 };
    // A balancer of its own over api1 and a process of this test's, which it stops and starts again.
    let second = await startService('api-comes-back', viaBouncer);
    const port = Number(new URL(second.baseUrl).port);
    const lb = await topology.startHaproxy([pooled[0]!.baseUrl, second.baseUrl]);
    try {
      await second.stop();
      // Down once two checks failed (1 s apart): then api1 answers everything.
      await expect.poll(async () => {
        const answers = await Promise.all(Array.from({ length: 4 }, () => get(lb, path)));
        return answers.every((a) => a.status === 200 && a.servedBy === 'api1');
      }, { ...polling, message: 'HAProxy to see it down' }).toBe(true);
      second = await startService('api-comes-back', viaBouncer, port);
      // Up at the next check (rise 1); counted from the first answer it gives, for 2 s, one request at a time.
      await expect.poll(async () => (await get(lb, path)).servedBy, { ...polling, message: 'HAProxy to see it up' }).toBe('api2');
      const servedBy: (string | undefined)[] = [];
      const from = performance.now();
      while (performance.now() - from < 2_000) {
        const answer = await get(lb, path);
        expect(answer.status).toBe(200);
        servedBy.push(answer.servedBy);
      }
      const share = servedBy.filter((s) => s === 'api2').length / servedBy.length;
      expect(servedBy.length).toBeGreaterThan(50);
      // Round-robin without slowstart gives it half at once; ramped over HAPROXY_SLOWSTART_S (10 s) its
      // weight is at most a fifth of api1's by the end of these 2 s, a share of ~10% over them.
      expect(share).toBeGreaterThan(0);
      expect(share).toBeLessThan(2 / HAPROXY_SLOWSTART_S + 0.05);
    } finally {
      await second.stop();
    }
  }, 90_000);

  it('reports the throughput of one process against two (never asserted)', async () => {
    const loadBefore = loadavg()[0]!;
    const headers = { authorization: `Token ${token}` };
    const scenarios: [string, string][] = [
      ['page of 10', `${LIST}`],
      ['page of 100, filtered', `${LIST}?limit=100&channel_id=2&sort=-modified_date`],
    ];
    // Both sides pay the same proxy hop: the single process sits behind a one-server HAProxy of its own.
    const single = await topology.startHaproxy([pooled[0]!.baseUrl]);
    const rows: { scenario: string; one: LoadResult; two: LoadResult }[] = [];
    for (const [scenario, path] of scenarios) {
      const one = await runAutocannon(`${single}${path}`, headers, LOAD_CONNECTIONS, LOAD_SECONDS);
      const two = await runAutocannon(`${balancer}${path}`, headers, LOAD_CONNECTIONS, LOAD_SECONDS);
      expect(one.errors, scenario).toBe(0);
      expect(two.errors, scenario).toBe(0);
      rows.push({ scenario, one, two });
    }
    const lines = rows.map(
      ({ scenario, one, two }) =>
        `${scenario}: one process ${one.rps.toFixed(0)} req/s (p99 ${one.p99} ms), two ${two.rps.toFixed(0)} req/s (p99 ${two.p99} ms), ` +
        `x${(two.rps / one.rps).toFixed(2)}`,
    );
    // Everything here (both databases, PgBouncer, HAProxy, autocannon, the processes) shares this machine's cores.
    const load = `${cpus().length} cores, 1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`;
    const report = `throughput through HAProxy and PgBouncer, ${LOAD_CONNECTIONS} connections, ${LOAD_SECONDS} s each (${load}):\n${lines.join('\n')}`;
    console.log(report);
    if (process.env.SCALE_REPORT) writeFileSync(process.env.SCALE_REPORT, `${report}\n`);
  }, 120_000);
});

describe('the streaming replica', () => {
  it('is a hot standby that replays what the primary writes', async () => {
    const replica = createPool({ url: topology.replica.url(), max: 1, statementTimeoutMs: 0, connectTimeoutMs: 5_000 });
    try {
      const { rows } = await replica.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      expect(rows[0]!.standby).toBe(true);
      await db.migrationPool.query(`UPDATE customer SET first_name = 'Replayed' WHERE id = 1`);
      await expect
        .poll(async () => (await replica.query<{ n: string }>(`SELECT first_name AS n FROM customer WHERE id = 1`)).rows[0]?.n, { timeout: 10_000 })
        .toBe('Replayed');
    } finally {
      await replica.end();
    }
  });

});

describe('replica routing through the API (DATABASE_REPLICA_URLS)', () => {
  const MAX_LAG_MS = 1_000;
  /** omnitron_id of the rows written during an export, removed after it. */
  const WRITER_MARK = -424242;
  let reader: Started;
  let replicaAdmin: ReturnType<typeof createPool>;
  beforeAll(async () => {
    reader = await startService('reader', {
      DATABASE_URL: topology.primary.url(),
      DATABASE_REPLICA_URLS: topology.replica.url(),
      REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
    });
    replicaAdmin = createPool({ url: topology.replica.url(), max: 1, statementTimeoutMs: 0, connectTimeoutMs: 5_000 });
  }, 120_000);
  afterAll(async () => {
    await reader?.stop();
    await replicaAdmin?.end();
  });

  const countOf = async (query: string) => {
    const res = await get(reader.baseUrl, `${LIST}?${query}`);
    expect(res.status).toBe(200);
    return (JSON.parse(res.body.toString()) as { count: number }).count;
  };
  /** Transactions the replica has run for the service's database. */
  const replicaCommits = async () =>
    Number((await replicaAdmin.query<{ n: string }>(`SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`)).rows[0]?.n);
  const replicaState = async () =>
    ((await (await fetch(`${reader.baseUrl}/ready`)).json()) as { replicas: { state: string }[] }).replicas[0]?.state;

  it('sends list reads to the replica, and serves rows written on the primary within REPLICA_MAX_LAG_MS', async () => {
    await expect.poll(replicaState, { timeout: 10_000 }).toBe('ok');
    const before = await replicaCommits();
    for (let i = 0; i < 20; i++) await countOf('limit=5');
    // A page is two statements (count and page), each its own transaction, on the replica. Backends
    // report their counts to the statistics at most every second or when idle for ten, so wait for them.
    await expect.poll(async () => (await replicaCommits()) - before, { timeout: 15_000, interval: 500 }).toBeGreaterThanOrEqual(40);

    const name = `Fresh${Date.now()}`;
    await db.migrationPool.query(`UPDATE customer SET first_name = $1 WHERE id = 3`, [name]);
    const written = performance.now();
    await expect.poll(() => countOf(`first_name=${name}`), { timeout: MAX_LAG_MS, interval: 10 }).toBe(1);
    console.log(`a row written on the primary was served from the replica after ${Math.round(performance.now() - written)} ms`);
  });

  it('skips a replica more than REPLICA_MAX_LAG_MS behind (reads go to the primary), and /ready says so', async () => {
    await replicaAdmin.query('SELECT pg_wal_replay_pause()');
    try {
      const name = `Behind${Date.now()}`;
      await db.migrationPool.query(`UPDATE customer SET first_name = $1 WHERE id = 4`, [name]);
      await expect.poll(replicaState, { timeout: 10_000 }).toBe('lagging');
      expect(await countOf(`first_name=${name}`)).toBe(1);
    } finally {
      await replicaAdmin.query('SELECT pg_wal_replay_resume()');
    }
    await expect.poll(replicaState, { timeout: 10_000 }).toBe('ok');
  });

  it('keeps a full export on one snapshot of the replica while the primary takes writes', async () => {
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await db.migrationPool.query(`INSERT INTO customer (omnitron_id, email) SELECT ${WRITER_MARK}, 'w' || g || '@example.com' FROM generate_series(1, 50) g`);
        await new Promise((done) => setTimeout(done, 20));
      }
    })();
    try {
      const exports = await Promise.all(
        ['csv', 'json'].map(async (format) => {
          const res = await new Promise<{ total: string | undefined; body: string }>((resolve, reject) => {
            http.get(`${reader.baseUrl}${LIST}?limit=all&format=${format}`, { headers: { authorization: `Token ${token}` } }, (r) => {
              const chunks: Buffer[] = [];
              r.on('data', (c: Buffer) => chunks.push(c));
              r.once('end', () => resolve({ total: r.headers['x-total-count'] as string | undefined, body: Buffer.concat(chunks).toString() }));
              r.once('error', reject);
            }).once('error', reject);
          });
          return { format, ...res };
        }),
      );
      for (const e of exports) {
        if (e.format === 'csv') expect(e.body.split('\r\n').filter(Boolean).length - 1).toBe(Number(e.total));
        else {
          const page = JSON.parse(e.body) as { count: number; results: unknown[] };
          expect(page.results.length).toBe(page.count);
        }
      }
    } finally {
      writing = false;
      await writer;
      // The tests after these count the generated customers.
      await db.migrationPool.query(`DELETE FROM customer WHERE omnitron_id = ${WRITER_MARK}`);
    }
  });

  it('costs 0 failed requests when the replica stops under load: reads retry on the primary', async () => {
    await expect.poll(replicaState, { timeout: 10_000 }).toBe('ok');
    const outcome = { ok: 0, failed: 0 };
    let stopping = false;
    const loop = async () => {
      while (!stopping) {
        const res = await get(reader.baseUrl, `${LIST}?limit=20&sort=-id`).catch(() => null);
        if (res?.status === 200) outcome.ok += 1;
        else outcome.failed += 1;
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    await new Promise((done) => setTimeout(done, 1_000));
    await topology.replica.stop();
    await new Promise((done) => setTimeout(done, 1_500));
    stopping = true;
    await Promise.all(loops);
    console.log(`replica stopped under API load: ${JSON.stringify(outcome)}`);
    expect(outcome.failed).toBe(0);
    expect(outcome.ok).toBeGreaterThan(0);
    expect(await replicaState()).toBe('failed');
    // Back for the tests after these.
    await topology.replica.start();
    await expect.poll(replicaState, { timeout: 20_000 }).toBe('ok');
  }, 60_000);
});

describe('the replica set (src/db/replicas.ts) on the streaming replica', () => {
  const POOL = { max: 4, statementTimeoutMs: 0, connectTimeoutMs: 2_000 };
  let set: ReplicaSet | undefined;
  let primaryPool: ReturnType<typeof createPool>;
  beforeAll(() => {
    primaryPool = createPool({ url: topology.primary.url(), ...POOL });
  });
  afterEach(async () => {
    await set?.close();
    set = undefined;
  });
  afterAll(async () => {
    await primaryPool?.end();
  });
  const standby = async (pool: ReturnType<typeof createPool>) =>
    (await pool.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows[0]!.standby;

  it('takes turns over the replicas in step, and reads run on them', async () => {
    // The one replica under two names: two members of the set.
    const urls = [topology.replica.url(), topology.replica.url().replace('127.0.0.1', 'localhost')];
    set = createReplicaSet({ urls, maxLagMs: 5_000, checkIntervalMs: 0, pool: POOL });
    await set.check();
    expect(set.report().map((r) => r.state)).toEqual(['ok', 'ok']);
    for (const r of set.report()) expect(r.lagMs).toBeLessThanOrEqual(5_000);
    const firsts = Array.from({ length: 4 }, () => set!.usable()[0]!.name);
    expect(firsts[0]).not.toBe(firsts[1]);
    expect(firsts[0]).toBe(firsts[2]);
    expect(await set.read(primaryPool, standby)).toBe(true);
  });

  it('skips a replica further behind than maxLagMs, and takes it back once it caught up', async () => {
    set = createReplicaSet({ urls: [topology.replica.url()], maxLagMs: 300, checkIntervalMs: 0, pool: POOL });
    const admin = createPool({ url: topology.replica.url(), max: 1, statementTimeoutMs: 0, connectTimeoutMs: 2_000 });
    try {
      await admin.query('SELECT pg_wal_replay_pause()');
      await primaryPool.query(`UPDATE customer SET last_name = 'Behind' WHERE id = 2`);
      await new Promise((done) => setTimeout(done, 600));
      await set.check();
      expect(set.report()[0]).toMatchObject({ state: 'lagging', lagMs: expect.any(Number) });
      expect(set.report()[0]!.lagMs).toBeGreaterThan(300);
      expect(await set.read(primaryPool, standby)).toBe(false);
    } finally {
      await admin.query('SELECT pg_wal_replay_resume()');
      await admin.end();
    }
    await expect.poll(async () => (await set!.check(), set!.report()[0]!.state), { timeout: 10_000 }).toBe('ok');
  });

  // Last: the replica does not come back.
  it('loses no read when the replica stops under load: they move to the primary', async () => {
    set = createReplicaSet({ urls: [topology.replica.url()], maxLagMs: 5_000, checkIntervalMs: 200, pool: POOL });
    await set.check();
    const served = { replica: 0, primary: 0, failed: 0 };
    let stopping = false;
    const reader = async () => {
      while (!stopping) {
        try {
          const onStandby = await set!.read(primaryPool, async (pool) => {
            const { rows } = await pool.query<{ standby: boolean; n: string }>('SELECT pg_is_in_recovery() AS standby, count(*) AS n FROM customer');
            expect(Number(rows[0]!.n)).toBe(CUSTOMERS);
            return rows[0]!.standby;
          });
          served[onStandby ? 'replica' : 'primary'] += 1;
        } catch {
          served.failed += 1;
        }
      }
    };
    const readers = Array.from({ length: 4 }, reader);
    await new Promise((done) => setTimeout(done, 1_000));
    await topology.replica.stop();
    await new Promise((done) => setTimeout(done, 1_000));
    stopping = true;
    await Promise.all(readers);
    console.log(`replica stopped under reads: ${JSON.stringify(served)}`);
    expect(served.failed).toBe(0);
    expect(served.replica).toBeGreaterThan(0);
    expect(served.primary).toBeGreaterThan(0);
    expect(set.report()[0]).toMatchObject({ state: 'failed' });
  });
});
