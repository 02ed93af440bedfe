/**
 * The list's reads through the Prisma client (raw queries over @prisma/adapter-pg, on the same
 * `pg` pool): the statements are the ones `pg` runs (resource/list-sql.ts), and the rows come out
 * the same. The select list is all int4, text and NULL (timestamps are to_char() text, which keeps
 * their microseconds), which the adapter returns as pg does; only a count's int8 differs, a BigInt
 * here and text from pg, and both become a number.
 *
 * No named prepared statements: adapter-pg passes `name` to pg only when given a
 * `statementNameGenerator` (database.ts gives none), so each query is Parse/Bind/Execute on the
 * unnamed statement, as pg's own parameterised queries are, which PgBouncer in transaction mode
 * allows. The client is created on the first read (Database.prisma()).
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Sql } from '../resource/list-sql.js';
import type { Row } from '../resource/rows.js';
import type { ListReads } from './list-reads.js';
import { splitPageRead } from './page-read.js';

/**
 * A failed read as pg would have thrown it: the SQLSTATE (or socket errno) in `code`, the server's
 * message, and Prisma's error as the cause. Prisma wraps every driver error in a
 * PrismaClientKnownRequestError (P2010) whose code says nothing; db/unavailable.ts tells a
 * database that cannot serve (503) from a bug (500) by the driver's code.
 */
export class PrismaReadError extends Error {
  override name = 'PrismaReadError';
  constructor(message: string, readonly code: string | undefined, options: { cause: unknown }) {
    super(message, options);
  }
}

/** What adapter-pg keeps of the driver's error (DriverAdapterError's cause). */
interface AdapterCause {
  kind: string;
  originalCode?: string;
  originalMessage?: string;
}

/** The errnos adapter-pg turned into kinds (its mapSocketError). */
const SOCKET_KINDS: Readonly<Record<string, string>> = {
  DatabaseNotReachable: 'ECONNREFUSED',
  ConnectionClosed: 'ECONNRESET',
  SocketTimeout: 'ETIMEDOUT',
};

function driverError(error: unknown): unknown {
  const cause = (error as { meta?: { driverAdapterError?: { cause?: AdapterCause } } } | null)?.meta?.driverAdapterError?.cause;
  // Errors pg raises without a code (pool checkout timeout, 'Query read timeout', 'Connection
  // terminated') come through Prisma unwrapped.
  if (!cause || !(error instanceof Error)) return error;
  const message = cause.originalMessage ?? error.message.trim().split('\n').at(-1) ?? error.message;
  return new PrismaReadError(message, cause.originalCode ?? SOCKET_KINDS[cause.kind], { cause: error });
}

export function createPrismaReads(prisma: () => Promise<PrismaClient>): ListReads {
  async function query<T>(statement: Sql): Promise<T[]> {
    const client = await prisma();
    try {
      // The statement's own text and values: still `$n` placeholders bound as parameters, as
      // $queryRaw(statement) would send them, for ~20% less of Prisma's CPU per read (bench/reads-cpu.ts).
      return await client.$queryRawUnsafe<T[]>(statement.text, ...statement.values);
    } catch (error) {
      throw driverError(error);
    }
  }
  return {
    async count(statement) {
      const rows = await query<{ n: bigint }>(statement);
      return Number(rows[0]?.n ?? 0);
    },
    page: (statement) => query<Row>(statement),
    async versionedCount(statement) {
      const rows = await query<{ n: bigint; v: string }>(statement);
      return { count: Number(rows[0]!.n), version: rows[0]!.v };
    },
    async pageRead(statement) {
      // Objects with keys in select order (the head's names cannot clash with a field's).
      const rows = await query<Record<string, unknown>>(statement);
      const names = rows[0] ? Object.keys(rows[0]) : [];
      return splitPageRead(names, rows.map((row) => Object.values(row)));
    },
  };
}
