/**
 * Synthetic customers for benchmarks and load tests, streamed into PostgreSQL
 * with COPY (set-based `INSERT … SELECT unnest(…)` batches on the embedded
 * database, whose socket server has no COPY sub-protocol):
 *   npm run db:generate-customers -- --count 1000000 [--seed 42] [--replace]
 * The same seed on the same starting table gives the same rows, byte for byte.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ensureChannels } from '../src/customers/channels.js';
import { advanceIdSequence } from '../src/db/sequences.js';
import { vacuumAnalyze } from '../src/db/vacuum.js';
import { copyTextField } from '../src/db/copy-text.js';
import { runMain } from '../src/lib/run-main.js';
import { commandLineOrExit, EMBEDDED_NOTE, usage, wholeNumber, type CommandSpec } from '../src/command-line.js';

export interface GenerateOptions {
  count: number;
  seed?: number;
  /** Empty the customer table (and restart its ids) first. */
  replace?: boolean;
  /** 'copy' (default) or 'insert' (unnest batches; for servers without COPY FROM STDIN). */
  method?: 'copy' | 'insert';
  /**
   * From this many new rows on, secondary indexes are dropped before the load and rebuilt after it
   * (one sort per index instead of a million random insertions). Default 100,000.
   */
  rebuildIndexesFrom?: number;
  log?: (message: string) => void;
}

export interface GenerateResult {
  inserted: number;
  firstId: number;
  lastId: number;
  ms: number;
}

export const CHANNELS = [1, 2, 3, 4, 5] as const;
/** Share of rows per channel: a few big storefronts and a long tail. */
const CHANNEL_WEIGHTS = [0.4, 0.25, 0.15, 0.12, 0.08];

const FIRST_NAMES = [
  'Ali', 'Ayşe', 'Mehmet', 'Fatma', 'Mustafa', 'Emine', 'Ahmet', 'Hatice', 'Hüseyin', 'Zeynep', 'İbrahim', 'Elif',
  'İpek', 'Tuğçe', 'Yılmaz', 'Gülşen', 'Çağla', 'Barış', 'Şükrü', 'Öykü', 'Ümit', 'Gökhan', 'Doğan', 'Özge',
  'Ilgın', 'Işıl', 'Çiğdem', 'Sevgül', 'Büşra', 'Oğuz', 'Selçuk', 'Ebru', 'Kübra', 'Şeyma', 'Ömer', 'Can', 'Deniz',
  'Emre', 'Veli', 'Merve',
  'José', 'Zoë', 'Łukasz', 'Søren', 'Björn', 'François', 'Jürgen', 'Ágnes', 'Nuño', 'Dvořák', 'Άννα', 'Дмитрий',
  'Мария', '李娜', 'さくら', 'محمد', 'John', 'Maria', 'Anna', 'Noah',
];
const LAST_NAMES = [
  'Yılmaz', 'Kaya', 'Demir', 'Şahin', 'Çelik', 'Yıldız', 'Yıldırım', 'Öztürk', 'Aydın', 'Özdemir', 'Arslan',
  'Doğan', 'Kılıç', 'Aslan', 'Çetin', 'Kara', 'Koç', 'Kurt', 'Özkan', 'Şimşek', 'Polat', 'Erdoğan', 'Güneş',
  'Aktaş', 'Türkmen', 'Ünal', 'Bulut', 'Işık', 'Ağaoğlu', 'Test',
  'Müller', 'García', 'Nowak', "O'Brien", 'Smith-Jones', 'Dubois', 'Ångström', 'Papadopoulos', 'Иванов', '王',
  'Weiß', 'Nguyễn', 'van der Berg', 'Smith, Jr.', 'Brown',
];
const DOMAINS = ['gmail.com', 'hotmail.com', 'yahoo.com', 'outlook.com', 'akinon.com', 'example.com.tr', 'yandex.com.tr'];

const TURKISH_ASCII: Record<string, string> = { ç: 'c', ğ: 'g', ı: 'i', İ: 'i', ö: 'o', ş: 's', ü: 'u', ß: 'ss', ł: 'l', ø: 'o', å: 'a' };

/** The local part of an address made from a name: lower-case ASCII letters, or '' for non-Latin scripts. */
function asciiSlug(name: string): string {
  return name
    .replace(/[çğıİöşüßłøå]/gi, (ch) => TURKISH_ASCII[ch] ?? TURKISH_ASCII[ch.toLowerCase()] ?? ch)
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

/** `first.last` as an address's local part, for every pair of names. */
const LOCAL_PARTS = FIRST_NAMES.map((first) =>
  LAST_NAMES.map((last) => [asciiSlug(first), asciiSlug(last)].filter(Boolean).join('.') || 'customer'));

/** sfc32 seeded through splitmix32: fast, 128-bit state, identical on every platform. */
export function createRandom(seed: number): () => number {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/** Customers are created over six years; created_date grows with the id. */
const T0_US = Date.UTC(2019, 0, 1) * 1000;
const SPAN_US = 6 * 365 * 86_400 * 1_000_000;
/** Rows per simulated bulk update (an ERP sync touching a block at one instant). */
const BULK_BLOCK = 1000;

const DAY_US = 86_400_000_000;
const dayPrefixes = new Map<number, string>();
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` for microseconds since the epoch (a million of these, so no Date per call). */
function isoMicros(us: number): string {
  const day = Math.floor(us / DAY_US);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * 86_400_000).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  const inDay = us - day * DAY_US;
  const seconds = Math.floor(inDay / 1e6);
  const micro = String(inDay - seconds * 1e6).padStart(6, '0');
  return `${prefix}${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}.${micro}Z`;
}

/** id, created_date, modified_date, omnitron_id, email, first_name, last_name, phone_number, erp_code, channel_id. */
export type GeneratedRow = [number, string, string, number, string, string, string, string | null, string | null, number];

export const COLUMNS = [
  'id', 'created_date', 'modified_date', 'omnitron_id', 'email', 'first_name', 'last_name', 'phone_number', 'erp_code', 'channel_id',
] as const;

/** Row `ordinal` (0-based) of a run of `count` rows whose first id is `firstId`; call in ordinal order with one `random`. */
export function makeRow(random: () => number, ordinal: number, count: number, firstId: number): GeneratedRow {
  const id = firstId + ordinal;
  const step = SPAN_US / count;
  const created = Math.floor(T0_US + ordinal * step + random() * step);
  const r = random();
  let modified: number;
  if (r < 0.55) {
    // Never edited: Django's auto_now stamps a few microseconds after auto_now_add.
    modified = created + 15 + Math.floor(random() * 30);
  } else if (r < 0.8) {
    modified = Math.min(created + Math.floor(random() * 400 * 86_400e6), T0_US + SPAN_US + 86_400e6);
  } else {
    // Bulk-updated: every such row of the block shares one whole-second instant after the block's last creation.
    const block = Math.floor(ordinal / BULK_BLOCK);
    const end = T0_US + Math.min(count, (block + 1) * BULK_BLOCK) * step;
    modified = Math.ceil((end + 3_600e6) / 1e6) * 1e6;
  }
  const first = Math.floor(random() * FIRST_NAMES.length);
  const last = Math.floor(random() * LAST_NAMES.length);
  const email = `${LOCAL_PARTS[first]![last]}.${id}@${DOMAINS[Math.floor(random() * DOMAINS.length)]}`;
  const phone = random() < 0.2 ? null : `05${String(Math.floor(random() * 1e9)).padStart(9, '0')}`;
  const erp = random() < 0.2 ? null : `ERP${String(Math.floor(random() * 1e8)).padStart(8, '0')}`;
  let channel = CHANNELS[CHANNELS.length - 1]!;
  for (let i = 0, u = random(), acc = 0; i < CHANNELS.length; i++) {
    acc += CHANNEL_WEIGHTS[i]!;
    if (u < acc) {
      channel = CHANNELS[i]!;
      break;
    }
  }
  const omnitronId = 1 + Math.floor(random() * 2_147_483_646);
  return [id, isoMicros(created), isoMicros(modified), omnitronId, email, FIRST_NAMES[first]!, LAST_NAMES[last]!, phone, erp, channel];
}

/** COPY text format, in chunks of a few thousand lines. */
function copyText(random: () => number, count: number, firstId: number): Readable {
  let ordinal = 0;
  return new Readable({
    read() {
      if (ordinal >= count) {
        this.push(null);
        return;
      }
      const lines: string[] = [];
      for (const end = Math.min(count, ordinal + 5000); ordinal < end; ordinal++) {
        const row = makeRow(random, ordinal, count, firstId);
        lines.push(row.map(copyTextField).join('\t'));
      }
      this.push(`${lines.join('\n')}\n`);
    },
  });
}

const INSERT_BATCH = 5000;
const UNNEST_INSERT = `INSERT INTO customer (${COLUMNS.join(', ')})
  SELECT * FROM unnest($1::int[], $2::timestamptz[], $3::timestamptz[], $4::int[], $5::varchar[],
                       $6::varchar[], $7::varchar[], $8::varchar[], $9::varchar[], $10::int[])`;

/**
 * Adds `count` customers (ids after the current maximum) in one transaction, keeping customer_count exact,
 * then vacuums and analyzes what it wrote (db/vacuum.ts).
 */
export async function generateCustomers(pool: pg.Pool, options: GenerateOptions): Promise<GenerateResult> {
  const { count, seed = 1, replace = false, method = 'copy', rebuildIndexesFrom = 100_000 } = options;
  const log = options.log ?? (() => undefined);
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`count must be a non-negative integer (got ${count})`);
  const started = performance.now();
  const client = await pool.connect();
  let firstId: number;
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    if (replace) await client.query('TRUNCATE customer RESTART IDENTITY');
    // Explicit ids need the table to ourselves against concurrent inserts; readers are not blocked.
    await client.query('LOCK TABLE customer IN SHARE ROW EXCLUSIVE MODE');
    const { rows } = await client.query<{ max: number }>('SELECT coalesce(max(id), 0)::int AS max FROM customer');
    firstId = rows[0]!.max + 1;
    await ensureChannels(client, CHANNELS);
    const rebuilt = count >= rebuildIndexesFrom ? await dropSecondaryIndexes(client) : [];
    const random = createRandom(seed);
    if (method === 'copy') {
      // FREEZE (only legal on a table emptied in this transaction) spares the VACUUM that follows a rewrite of every page.
      const freeze = replace ? ' WITH (FREEZE)' : '';
      await pipeline(copyText(random, count, firstId), client.query(copyFrom(`COPY customer (${COLUMNS.join(', ')}) FROM STDIN${freeze}`)));
    } else {
      for (let ordinal = 0; ordinal < count; ) {
        const batch: GeneratedRow[] = [];
        for (const end = Math.min(count, ordinal + INSERT_BATCH); ordinal < end; ordinal++) batch.push(makeRow(random, ordinal, count, firstId));
        await client.query(UNNEST_INSERT, COLUMNS.map((_, i) => batch.map((row) => row[i])));
      }
    }
    log(`loaded ${count} customers in ${Math.round(performance.now() - started)} ms`);
    for (const { name, definition } of rebuilt) {
      await client.query(definition);
      log(`rebuilt index ${name}`);
    }
    await advanceIdSequence(client, 'channel');
    await advanceIdSequence(client, 'customer');
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  // After the commit (VACUUM runs in no transaction), on the pool: the embedded database has one connection.
  await vacuumAnalyze(pool, ['customer', 'channel']);
  log('VACUUM (ANALYZE) of customer and channel done');
  return { inserted: count, firstId, lastId: firstId + count - 1, ms: performance.now() - started };
}

/** Drops the customer indexes that back no constraint; returns their definitions to recreate them. */
async function dropSecondaryIndexes(client: pg.PoolClient): Promise<{ name: string; definition: string }[]> {
  const { rows } = await client.query<{ name: string; definition: string }>(
    `SELECT quote_ident(c.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = 'customer'::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
      ORDER BY c.relname`,
  );
  for (const { name } of rows) await client.query(`DROP INDEX ${name}`);
  return rows;
}

const GENERATE_COMMAND: CommandSpec = {
  script: 'db:generate-customers',
  summary: 'Appends synthetic customers (for benchmarks), migrating first; deterministic for a seed.',
  options: {
    count: { type: 'string', value: 'N', text: 'how many customers to add (required)' },
    seed: { type: 'string', value: 'N', text: 'random seed (default 1)' },
    replace: { type: 'boolean', text: 'delete every customer first' },
  },
  env: ['DATABASE_URL', 'DIRECT_DATABASE_URL', 'DATA_DIR', 'DB_CONNECT_TIMEOUT_MS'],
  notes: EMBEDDED_NOTE,
};

async function main(): Promise<number> {
  const args = commandLineOrExit(GENERATE_COMMAND, process.argv.slice(2));
  if ('exitCode' in args) return args.exitCode;
  const count = args.values.count === undefined ? 'missing --count' : wholeNumber('count', args.values.count);
  const seed = args.values.seed === undefined ? 1 : wholeNumber('seed', args.values.seed, { min: Number.MIN_SAFE_INTEGER });
  const problem = [count, seed].find((v) => typeof v === 'string');
  if (typeof count !== 'number' || typeof seed !== 'number') {
    process.stderr.write(`${problem}\n${usage(GENERATE_COMMAND)}`);
    return 2;
  }
  const { loadConfig } = await import('../src/config.js');
  const { openDatabase } = await import('../src/db/database.js');
  const { migrate } = await import('../src/db/migrate.js');
  const db = await openDatabase(loadConfig(), { role: 'command', name: GENERATE_COMMAND.script });
  try {
    await migrate(db.migrationPool);
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const result = await generateCustomers(db.pool, { count, seed, replace: args.values.replace === true, method: db.embedded ? 'insert' : 'copy', log });
    process.stdout.write(`generated ${result.inserted} customers (ids ${result.firstId}–${result.lastId}, seed ${seed}) in ${(result.ms / 1000).toFixed(1)} s\n`);
    return 0;
  } finally {
    await db.close();
  }
}

runMain(import.meta.url, main);
