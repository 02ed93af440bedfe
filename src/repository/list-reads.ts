/**
 * A list's two reads, the page and its count, behind one interface, so that the client running
 * them is chosen where the repository is built (DB_READ_CLIENT): `pg` here, or Prisma's
 * `$queryRaw` (prisma-reads.ts). Both take the same statements (resource/list-sql.ts) and give
 * the same rows: plain objects, keys in select order, timestamps as the text PostgreSQL wrote.
 */
import type pg from 'pg';
import { prepared } from '../db/prepared-statements.js';
import type { Sql } from '../resource/list-sql.js';
import type { Row } from '../resource/rows.js';
import { splitPageRead, type PageReadResult } from './page-read.js';


export interface ListReads {
  /** `n` of the statement's first row (0 when it returns none). */
  count(statement: Sql): Promise<number>;
  /** Every row of the statement. */
  page(statement: Sql): Promise<Row[]>;
  /** `n` and the data version `v` (text) of the statement's one row: a count and the version it was counted at. */
  versionedCount(statement: Sql): Promise<VersionedCount>;
  /** A page read (page-read.ts): its head and its rows. */
  pageRead(statement: Sql): Promise<PageReadResult>;
}

export interface VersionedCount {
  count: number;
  version: string;
}

/**
 * The reads on the `pg` pool: a Prisma `Sql` is a pg query config as it is (`text`, `values`), each
 * marked for a named prepared statement (db/prepared-statements.ts), which the pool gives when it can.
 */
export function createPgReads(pool: pg.Pool): ListReads {
  const named = (statement: Sql) => prepared({ text: statement.text, values: statement.values });
  return {
    async count(statement) {
      // int8 arrives as text from pg.
      const { rows } = await pool.query<{ n: string }>(named(statement));
      return Number(rows[0]?.n ?? 0);
    },
    async page(statement) {
      return (await pool.query<Row>(named(statement))).rows;
    },
    async versionedCount(statement) {
      const { rows } = await pool.query<{ n: string; v: string }>(named(statement));
      return { count: Number(rows[0]!.n), version: rows[0]!.v };
    },
    async pageRead(statement) {
      // As arrays: the head's columns are split off by position, and the page's rows built once.
      const result = await pool.query<unknown[]>(prepared({ text: statement.text, values: statement.values, rowMode: 'array' }));
      return splitPageRead(result.fields.map((f) => f.name), result.rows);
    },
  };
}
