/**
 * Putting a used embedded (PGlite) test database back into the state of a
 * fresh copy of its template, so that a vitest worker (which runs file after
 * file in one process) can hand it to the next file instead of loading the
 * template's tarball again (~0.5 CPU-s a load).
 *
 * Nothing is assumed: after the reset, a fingerprint of the whole catalog
 * (every pg_catalog table, shared ones included: tables, columns, indexes,
 * constraints, triggers, functions, views, sequences' definitions, roles,
 * database settings, extensions, schemas, privileges, comments, statistics),
 * the session's state (settings, prepared statements, cursors, advisory locks,
 * LISTEN, prepared transactions), every sequence's value and every user
 * table's rows must equal the template's, taken from a fresh copy once per
 * worker. Any difference and the database is not reused (test/helpers/database.ts
 * closes it), so a test that altered the schema or anything else can never leak.
 *
 * Not compared: cumulative statistics (pg_stat_*: counters, only ever read as
 * deltas), OIDs and physical row positions of what the reset rewrote, and the
 * catalog columns a TRUNCATE or time changes (VOLATILE_COLUMNS).
 */
import type { PGlite } from '@electric-sql/pglite';

/** What a fresh copy of the template looks like, and how to put a used one back. */
export interface TemplateState {
  /** Part name → md5 of that part's rows (see fingerprintSql). */
  fingerprint: Map<string, string>;
  /** One query computing the fingerprint, built from the template's catalog. */
  fingerprintSql: string;
  /** Statements run in one transaction that restore every table's rows and every sequence's value. */
  restoreSql: string;
}

/** Catalog columns that TRUNCATE (new files, reset size estimates) or the passing of transactions change. */
const VOLATILE_COLUMNS: Record<string, readonly string[]> = {
  'pg_catalog.pg_class': ['relfilenode', 'relpages', 'reltuples', 'relallvisible', 'relfrozenxid', 'relminmxid'],
  'pg_catalog.pg_database': ['datfrozenxid', 'datminmxid'],
};

/** Schemas holding what tests create and fill: every schema but the system's. */
const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
/** md5 over the text of `rowExpression` for every row of `from`, in a fixed order. */
const digest = (rowExpression: string, from: string) =>
  `(SELECT md5(coalesce(string_agg(r, E'\\n' ORDER BY r COLLATE "C"), '')) FROM (SELECT (${rowExpression})::text AS r ${from}) s)`;

/**
 * Captures the template's state from `db`, a copy of the template nobody has
 * connected to yet. Its catalog lists which tables and sequences to restore and
 * check, so a later schema change shows up as a differing fingerprint.
 */
export async function captureTemplateState(db: PGlite): Promise<TemplateState> {
  const catalogs = await db.query<{ name: string; columns: string[] }>(`
    SELECT format('%I.%I', n.nspname, c.relname) AS name, array_agg(a.attname::text ORDER BY a.attnum) AS columns
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE n.nspname IN ('pg_catalog', 'information_schema') AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
     GROUP BY 1 ORDER BY 1`);
  const tables = await db.query<{ name: string; columns: string[] }>(`
    SELECT format('%I.%I', n.nspname, c.relname) AS name,
           array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '') AS columns
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE ${USER_SCHEMA} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
     GROUP BY 1 ORDER BY 1`);
  const sequences = await db.query<{ name: string }>(`
    SELECT format('%I.%I', n.nspname, c.relname) AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${USER_SCHEMA} AND c.relkind = 'S' ORDER BY 1`);

  // Catalog rows written after this point (a later xmin) are new or changed. Every copy of the template starts
  // at the same next transaction id, so one that has written none since has the template's rows, unless it
  // deleted some (the count). Rows of user objects (OID past the system's) are compared by content as well:
  // TRUNCATE rewrites theirs in pg_class, in columns left out here (VOLATILE_COLUMNS).
  const { rows: snapshot } = await db.query<{ next: string }>(`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS next`);
  const since = `age(xmin) < age(${literal(String(BigInt(snapshot[0]!.next) % 2n ** 32n))}::xid)`;
  const parts: string[] = [];
  for (const { name, columns } of catalogs.rows) {
    const kept = columns.filter((column) => !VOLATILE_COLUMNS[name]?.includes(column)).map(ident);
    const from = `FROM ${name} WHERE ${since}${columns.includes('oid') ? ' OR oid >= 16384' : ''}`;
    parts.push(`SELECT ${literal(name)}, (SELECT count(*) FROM ${name})::text || ' ' || ${digest(`ROW(${kept.join(', ')})`, from)}`);
  }
  // PL/pgSQL's own settings appear once the session first runs a PL/pgSQL function (the migrations' triggers).
  // transaction_isolation, _read_only and _deferrable are set anew by every BEGIN (from default_transaction_*, compared); their
  // source is that of the last transaction's SET TRANSACTION, which RESET ALL leaves.
  const settings = `FROM pg_settings WHERE NOT (name LIKE 'plpgsql.%' AND source = 'default')`;
  const setting = `ROW(name, setting, CASE WHEN name IN ('transaction_isolation', 'transaction_read_only', 'transaction_deferrable') THEN NULL ELSE source END)`;
  parts.push(`SELECT 'settings', ${digest(setting, settings)}`);
  parts.push(`SELECT 'file settings', ${digest('ROW(name, setting, applied, error)', 'FROM pg_file_settings')}`);
  parts.push(
    `SELECT 'session', ${digest(
      'x',
      `FROM (SELECT ROW('prepared statement', name)::text AS x FROM pg_prepared_statements
             UNION ALL SELECT ROW('cursor', name)::text FROM pg_cursors
             UNION ALL SELECT ROW('advisory lock', classid, objid, objsubid, mode)::text FROM pg_locks WHERE locktype = 'advisory'
             UNION ALL SELECT ROW('listen', channel)::text FROM pg_listening_channels() AS channel
             UNION ALL SELECT ROW('prepared transaction', gid)::text FROM pg_prepared_xacts
             UNION ALL SELECT ROW('user', current_user, session_user)::text) x`,
    )}`,
  );
  for (const { name } of sequences.rows) parts.push(`SELECT ${literal(`sequence ${name}`)}, ${digest('ROW(last_value, is_called)', `FROM ${name}`)}`);
  for (const { name } of tables.rows) parts.push(`SELECT ${literal(`rows of ${name}`)}, ${digest('t', `FROM ${name} t`)}`);
  const fingerprintSql = parts.join('\nUNION ALL ');

  // The template's rows (tables the migrations wrote to) and sequence values, restored with triggers
  // and foreign keys off (session_replication_role): the rows are the template's own, already consistent.
  const restore = ['SET LOCAL session_replication_role = replica'];
  if (tables.rows.length > 0) restore.push(`TRUNCATE ${tables.rows.map((t) => t.name).join(', ')}`);
  for (const { name, columns } of tables.rows) {
    const { rows } = await db.query<{ json: string | null }>(`SELECT json_agg(t)::text AS json FROM ${name} t`);
    const json = rows[0]?.json;
    if (!json) continue;
    const list = columns.map(ident).join(', ');
    restore.push(`INSERT INTO ${name} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM json_populate_recordset(NULL::${name}, ${literal(json)})`);
  }
  for (const { name } of sequences.rows) {
    const { rows } = await db.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${name}`);
    restore.push(`SELECT setval(${literal(name)}, ${rows[0]!.last_value}, ${rows[0]!.is_called})`);
  }
  return { fingerprint: await fingerprint(db, fingerprintSql), fingerprintSql, restoreSql: restore.join(';\n') };
}

async function fingerprint(db: PGlite, sql: string): Promise<Map<string, string>> {
  const { rows } = await db.query<[string, string]>(sql, [], { rowMode: 'array' });
  return new Map(rows.map(([part, hash]) => [part, hash]));
}

/**
 * Puts `db` (no client connected any more) back into the template's state and
 * checks it. Returns the parts of the fingerprint that still differ: empty when
 * `db` is indistinguishable from a fresh copy. Throws if a step fails (a table
 * dropped, PGlite closed): the caller then discards `db` as well.
 */
export async function resetToTemplate(db: PGlite, template: TemplateState): Promise<string[]> {
  if (db.isInTransaction()) await db.exec('ROLLBACK');
  // Settings, prepared statements, cursors, temporary tables, advisory locks, LISTEN, SET ROLE.
  await db.exec('DISCARD ALL');
  await db.exec(`BEGIN;\n${template.restoreSql};\nCOMMIT`);
  const now = await fingerprint(db, template.fingerprintSql);
  const differing = [...template.fingerprint].filter(([part, hash]) => now.get(part) !== hash).map(([part]) => part);
  // A part only the used database has (it cannot, the query being the template's) would count too.
  for (const part of now.keys()) if (!template.fingerprint.has(part)) differing.push(part);
  return differing;
}
