/**
 * Configuration: one zod schema over the environment, parsed once at start-up.
 * This is the only module that reads `process.env` (and `.env`); everything
 * else receives a `Config`. Each key's `.describe()` text is the documentation
 * `.env.example` and the README table are checked against.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { parseRate } from './lib/rate.js';

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const boolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const list = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

/** `false`, `true`, a hop count, or a comma list of trusted addresses/CIDRs, as Fastify's trustProxy takes. */
const trustProxy = z
  .string()
  .trim()
  .transform((v): boolean | number | string[] => {
    const lower = v.toLowerCase();
    if (lower === '' || lower === 'false' || lower === '0' || lower === 'no') return false;
    if (lower === 'true' || lower === 'yes') return true;
    if (/^\d+$/.test(v)) return Number(v);
    return v.split(',').map((s) => s.trim()).filter(Boolean);
  });

export const ConfigSchema = z
  .object({
    PORT: integer(0, 65535).default(8000).describe('TCP port the HTTP server listens on'),
    HOST: z.string().trim().min(1).default('127.0.0.1').describe('Interface to bind; 0.0.0.0 in containers'),
    DATABASE_URL: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v ? v : undefined))
      .refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
      .describe('PostgreSQL connection URL; unset = embedded PostgreSQL (PGlite) in DATA_DIR'),
    DIRECT_DATABASE_URL: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
      .describe('PostgreSQL URL that migrations use instead of DATABASE_URL, as Prisma\'s directUrl: the server itself when DATABASE_URL is a transaction pooler such as PgBouncer (the migration lock needs a session); unset = DATABASE_URL'),
    DATABASE_REPLICA_URLS: list
      .default([])
      .refine((urls) => urls.every((v) => /^postgres(ql)?:\/\//.test(v)), 'must be a comma list of postgres:// or postgresql:// URLs')
      .describe('Comma list of PostgreSQL streaming replicas that list reads (counts, pages, exports) go to, round-robin; token lookups and every write stay on DATABASE_URL; empty = all on DATABASE_URL'),
    REPLICA_MAX_LAG_MS: integer(0, 86_400_000)
      .default(5000)
      .describe('A replica further behind its primary than this (pg_last_xact_replay_timestamp, checked every second) takes no reads'),
    DATA_DIR: z.string().trim().min(1).default('./.data').describe('Where the embedded database keeps its files (ignored with DATABASE_URL)'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino log level'),
    TRUST_PROXY: trustProxy
      .default(false)
      .describe('Honour X-Forwarded-Proto/-Host from: false, true, a hop count, or a comma list of proxy addresses'),
    CORS_ORIGINS: list
      .default([])
      .describe('Comma list of browser origins allowed by CORS (`*` for any); empty = no cross-origin access'),
    PAGE_SIZE: integer(1, 100000).default(10).describe('Default page size of the list endpoint'),
    MAX_PAGE_SIZE: integer(1, 100000).default(1000).describe('Largest `limit` honoured; larger values are clamped'),
    DB_POOL_MAX: integer(1, 1000).default(10).describe('Maximum PostgreSQL connections in the pool (embedded: always 1)'),
    DB_POOL_IDLE_TIMEOUT_MS: integer(0, 86_400_000)
      .default(60_000)
      .describe('How long a pool connection may sit unused before it is closed, ms (0 = never); a new connection plans its first statements slowly (docs/reliability.md)'),
    DB_PREPARED_STATEMENTS: integer(0, 1000)
      .default(32)
      .describe('Named prepared statements each pool connection keeps for list reads (0 = none; the embedded database: none); switched off by itself behind a pooler that does not keep them (docs/design.md)'),
    DB_STATEMENT_TIMEOUT_MS: integer(0, 86_400_000)
      .default(30_000)
      .describe('statement_timeout for API queries in ms (0 = none)'),
    DB_READ_CLIENT: z
      .enum(['pg', 'prisma'])
      .default('pg')
      .describe("Client that runs the list's page and count queries on the pool: prisma ($queryRaw through @prisma/adapter-pg) or pg"),
    DB_CONNECT_TIMEOUT_MS: integer(0, 600_000).default(5_000).describe('How long to wait for a database connection, ms'),
    DB_READY_TIMEOUT_MS: integer(1, 600_000)
      .default(2_000)
      .describe('How long GET /ready waits for the database (on a connection of its own) before answering 503, ms'),
    SHUTDOWN_GRACE_MS: integer(0, 600_000)
      .default(10_000)
      .describe('On SIGTERM/SIGINT, how long in-flight requests may take before the process exits, ms; connections still open 1 s before the end are closed'),
    SEED_DEMO_DATA: boolean
      .optional()
      .describe('On a database with no customers, load the demo customers and print a demo token at start; unset = on for the embedded database, off with DATABASE_URL'),
    CSV_FORMULA_GUARD: boolean
      .default(true)
      .describe("Prefix CSV text cells a spreadsheet would run as a formula (=, +, -, @, tab, CR) with '; the importer removes it"),
    EXPORT_MAX_ROWS: integer(1, Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('Most rows one limit=all export may return (400 when more match); unset = no limit'),
    ALLOWED_HOSTS: list
      .default(['*'])
      .describe('Comma list of host names the service answers to (`.example.com` = it and its subdomains, `*` = any valid host); others get 400'),
    HEADERS_TIMEOUT_MS: integer(100, 600_000)
      .default(10_000)
      .describe("How long a client may take to send a request's headers (or its first request on a new connection) before a 408, ms"),
    REQUEST_TIMEOUT_MS: integer(100, 600_000)
      .default(20_000)
      .describe('How long a client may take to send a whole request before a 408, ms (not the response: a long export is unaffected)'),
    KEEP_ALIVE_TIMEOUT_MS: integer(100, 600_000)
      .default(65_000)
      .describe('How long an idle kept-alive connection stays open, ms; keep it longer than the idle timeout of a proxy in front'),
    EXPORT_STALL_TIMEOUT_MS: integer(100, 3_600_000)
      .default(300_000)
      .describe('How long a response may go with nothing written to a client that reads nothing before the connection is closed and its export freed, ms; a reader that keeps reading is never cut if this exceeds the time it takes to drain the socket buffers (docs/reliability.md)'),
    EXPORT_YIELD_MAX_MS: integer(0, 10_000)
      .default(250)
      .describe('A limit=all export waits before each batch while other requests are in flight, at most this long per batch, ms; 0 = never waits (docs/reliability.md)'),
    MAX_CONNECTIONS: integer(1, 1_000_000)
      .default(1024)
      .describe('Most simultaneous client connections; new ones beyond it are closed at once. Keep it below the open-files limit'),
    EXPORT_CONCURRENCY: integer(1, 1000)
      .optional()
      .describe('Most limit=all exports at once in this process (429 beyond); unset = a third of DB_POOL_MAX, at least 1 (embedded: 1)'),
    EXPORT_CONCURRENCY_PER_TOKEN: integer(1, 1000)
      .default(2)
      .describe("Most limit=all exports at once per user's tokens in this process (429 beyond)"),
    THROTTLE_RATE: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return undefined;
        try {
          return parseRate(v);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      })
      .describe('Requests allowed per token, and per client address without a valid token, as 100/second, 1000/minute, …/hour, …/day; unset = no throttling'),
    REDIS_URL: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
      .describe('Redis URL for THROTTLE_RATE counts shared by every process; unset = counted in each process'),
    REDIS_KEY_PREFIX: z
      .string()
      .trim()
      .min(1)
      .default('oms-customers:')
      .describe('Prefix of every Redis key this service writes'),
    METRICS_PORT: integer(0, 65535)
      .optional()
      .describe('Serve GET /metrics (Prometheus) on this port, on a server of its own, instead of on PORT; unset = on PORT'),
    METRICS_TOKEN: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v ? v : undefined))
      .describe('When set, GET /metrics requires `Authorization: Bearer <this token>` (401 otherwise); unset = open'),
    COMPRESSION: boolean
      .default(true)
      .describe('Compress JSON and CSV responses over 1 KB with gzip or br, as Accept-Encoding asks; false leaves it to a proxy'),
  })
  .superRefine((c, ctx) => {
    // zod 4 runs this even when a field failed; only compare two valid sizes.
    if (c.MAX_PAGE_SIZE >= 1 && c.PAGE_SIZE > c.MAX_PAGE_SIZE) {
      ctx.addIssue({ code: 'custom', path: ['PAGE_SIZE'], message: `must not exceed MAX_PAGE_SIZE (${c.MAX_PAGE_SIZE})` });
    }
    if (c.DATABASE_REPLICA_URLS.length > 0 && c.DATABASE_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_REPLICA_URLS'], message: 'needs DATABASE_URL (the embedded database has no replicas)' });
    }
    if (c.DIRECT_DATABASE_URL !== undefined && c.DATABASE_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['DIRECT_DATABASE_URL'], message: 'needs DATABASE_URL (the embedded database has no pooler to bypass)' });
    }
    // Node refuses a headersTimeout longer than its requestTimeout.
    if (c.REQUEST_TIMEOUT_MS >= 100 && c.HEADERS_TIMEOUT_MS > c.REQUEST_TIMEOUT_MS) {
      ctx.addIssue({ code: 'custom', path: ['HEADERS_TIMEOUT_MS'], message: `must not exceed REQUEST_TIMEOUT_MS (${c.REQUEST_TIMEOUT_MS})` });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type Environment = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads `.env` (if present) under the real environment, which wins. */
export function readEnvironment(env: Environment = process.env, dotenvPath = '.env'): Environment {
  const fromFile = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath)) : {};
  return { ...fromFile, ...env };
}

/** Validates an environment; throws one ConfigError line per bad variable. */
export function parseConfig(env: Environment): Config {
  const known = Object.fromEntries(
    Object.keys(ConfigSchema.shape).map((key) => [key, env[key] === '' && key !== 'DATABASE_URL' ? undefined : env[key]]),
  );
  const result = ConfigSchema.safeParse(known);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? 'config');
    const raw = env[key];
    return `Invalid configuration: ${key} ${issue.message}${raw === undefined ? '' : ` (got ${JSON.stringify(raw)})`}`;
  });
  throw new ConfigError(lines.join('\n'));
}

export function loadConfig(): Config {
  return parseConfig(readEnvironment());
}

/**
 * Whether a start seeds an empty database. Unset means only the embedded database: a server
 * at DATABASE_URL may be production, which must never get a token nobody asked for.
 */
export function seedsDemoData(config: Pick<Config, 'SEED_DEMO_DATA' | 'DATABASE_URL'>): boolean {
  return config.SEED_DEMO_DATA ?? config.DATABASE_URL === undefined;
}

/** The defaults, as a test or a tool would start from. */
export function defaultConfig(overrides: Partial<Config> = {}): Config {
  return { ...parseConfig({}), ...overrides };
}
