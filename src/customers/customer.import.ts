/**
 * `npm run customers:import -- FILE [--dry-run]`: loads customers from a CSV export (this
 * service's or the original's) or JSON Lines, all or nothing. Rows are validated while they
 * stream (resource/import-rows.ts) into a temporary staging table, with COPY (or unnest batches on the
 * embedded database, whose socket server has no COPY sub-protocol); then one set-based upsert
 * by id keeps ids and both timestamps (`oms.preserve_timestamps`), missing channels are created
 * and the id sequences moved past every id. customer_count stays exact through its triggers,
 * which count only the rows the upsert really inserted. After the commit, VACUUM (ANALYZE) of what
 * it wrote gives the planner statistics for the new rows at once.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copySupported } from '../db/copy-support.js';
import { copyTextField } from '../db/copy-text.js';
import { oneRow } from '../db/one-row.js';
import { advanceIdSequence, maxId } from '../db/sequences.js';
import { vacuumAnalyze } from '../db/vacuum.js';
import type { CompiledField, CompiledResource } from '../resource/declaration.js';
import { readImportLines, type ImportValue } from '../resource/import-rows.js';

export interface ImportOptions {
  format: 'csv' | 'jsonl';
  /** Undo the export's formula guard in CSV text cells (config CSV_FORMULA_GUARD). */
  restoreFormulas: boolean;
  /** Validate and stage everything, report what would change, then roll back. */
  dryRun?: boolean;
  /**
   * 'copy', or 'insert' (unnest batches) for a server without COPY FROM STDIN; by default
   * 'insert' on the embedded PGlite (however it is reached) and 'copy' anywhere else.
   */
  method?: 'copy' | 'insert';
  /** Progress lines (stderr in the CLI). */
  log?: (message: string) => void;
  /** How many problems to list; all are counted. Default 100. */
  maxProblems?: number;
}

export interface ImportProblem { line: number; message: string }

export interface ImportResult {
  ok: boolean;
  dryRun: boolean;
  /** Valid rows read. */
  rows: number;
  problems: ImportProblem[];
  problemCount: number;
  inserted: number;
  updated: number;
  unchanged: number;
  channelsCreated: number;
  ms: number;
}

const STAGING = 'import_customer';
const PROGRESS_EVERY = 100_000;
const INSERT_BATCH = 5000;
const COPY_CHUNK = 1 << 16;

const sqlType = (field: CompiledField) =>
  field.valueType === 'integer' ? 'integer' : field.valueType === 'datetime' ? 'timestamptz' : 'text';

interface Stager {
  add(line: number, values: readonly ImportValue[]): Promise<void>;
  finish(): Promise<void>;
}

function copyStager(client: pg.PoolClient, columns: string): Stager {
  const copy = client.query(copyFrom(`COPY ${STAGING} (${columns}) FROM STDIN`));
  let chunk = '';
  const flush = async () => {
    if (chunk === '') return;
    const ok = copy.write(chunk);
    chunk = '';
    if (!ok) await once(copy, 'drain');
  };
  return {
    async add(line, values) {
      chunk += `${line}\t${values.map(copyTextField).join('\t')}\n`;
      if (chunk.length >= COPY_CHUNK) await flush();
    },
    async finish() {
      await flush();
      const done = once(copy, 'finish');
      copy.end();
      await done;
    },
  };
}

function insertStager(client: pg.PoolClient, columns: string, fields: readonly CompiledField[]): Stager {
  const types = ['integer', ...fields.map(sqlType)];
  const sql = `INSERT INTO ${STAGING} (${columns}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;
  let lines: number[] = [];
  let cells: ImportValue[][] = fields.map(() => []);
  const flush = async () => {
    if (lines.length === 0) return;
    await client.query(sql, [lines, ...cells]);
    lines = [];
    cells = fields.map(() => []);
  };
  return {
    async add(line, values) {
      lines.push(line);
      // `values` has one entry per field, in field order (resource/import-rows.ts).
      cells.forEach((column, i) => column.push(values[i] ?? null));
      if (lines.length >= INSERT_BATCH) await flush();
    },
    finish: flush,
  };
}

/**
 * Reads, validates, stages and upserts `input` in one transaction; nothing is written unless every row is valid.
 * What it wrote is then vacuumed and analyzed (db/vacuum.ts), after the commit since VACUUM runs in none.
 */
export async function importCustomers(
  pool: pg.Pool,
  resource: CompiledResource,
  input: Readable,
  options: ImportOptions,
): Promise<ImportResult> {
  const result = await importInOneTransaction(pool, resource, input, options);
  if (result.ok && !result.dryRun && result.rows > 0) {
    options.log?.('import: committed; VACUUM (ANALYZE) of customer and channel');
    await vacuumAnalyze(pool, [resource.table, 'channel']);
  }
  return result;
}

async function importInOneTransaction(
  pool: pg.Pool,
  resource: CompiledResource,
  input: Readable,
  options: ImportOptions,
): Promise<ImportResult> {
  const { dryRun = false, maxProblems = 100 } = options;
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const fields = resource.fields;
  const columns = fields.map((f) => `"${f.column}"`);
  const result: ImportResult = {
    ok: false, dryRun, rows: 0, problems: [], problemCount: 0, inserted: 0, updated: 0, unchanged: 0, channelsCreated: 0, ms: 0,
  };
  const problem = (line: number, message: string) => {
    result.problemCount += 1;
    if (result.problems.length < maxProblems) result.problems.push({ line, message });
  };

  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL statement_timeout = 0');
    // The triggers then keep the created_date/modified_date this import writes.
    await client.query(`SET LOCAL oms.preserve_timestamps = 'on'`);
    await client.query(
      `CREATE TEMPORARY TABLE ${STAGING} (line integer NOT NULL, ${fields.map((f, i) => `${columns[i]} ${sqlType(f)}`).join(', ')}) ON COMMIT DROP`,
    );
    const stagingColumns = ['line', ...columns].join(', ');
    const method = options.method ?? (await copySupported(client) ? 'copy' : 'insert');
    const stager = method === 'copy' ? copyStager(client, stagingColumns) : insertStager(client, stagingColumns, fields);

    for await (const read of readImportLines(input, fields, options)) {
      if ('problems' in read) {
        for (const message of read.problems) problem(read.line, message);
        continue;
      }
      result.rows += 1;
      // After the first problem nothing will be written: keep validating, stop staging.
      if (result.problemCount === 0) await stager.add(read.line, read.values);
      if (result.rows % PROGRESS_EVERY === 0) log(`import: ${result.rows} rows read (${Math.round(performance.now() - started)} ms)`);
    }
    await stager.finish();
    if (result.problemCount === 0) {
      const idColumn = `"${fields.find((f) => f.name === 'id')?.column ?? 'id'}"`;
      const { rows: duplicates } = await client.query<{ id: number; lines: number[] }>(
        `SELECT ${idColumn} AS id, array_agg(line ORDER BY line) AS lines FROM ${STAGING}
         WHERE ${idColumn} IS NOT NULL GROUP BY ${idColumn} HAVING count(*) > 1 ORDER BY min(line)`,
      );
      for (const { id, lines } of duplicates) {
        for (const line of lines.slice(1)) problem(line, `id: ${id} appears more than once (first on line ${lines[0]})`);
      }
    }
    if (result.problemCount > 0) {
      await client.query('ROLLBACK');
      return { ...result, ms: Math.round(performance.now() - started) };
    }
    log(`import: ${result.rows} rows valid and staged; upserting`);
    await client.query(`ANALYZE ${STAGING}`);
    const { inserted, changed, channelsCreated } = await upsert(client, fields);
    Object.assign(result, { ok: true, inserted, updated: changed - inserted, unchanged: result.rows - changed, channelsCreated });
    await client.query(dryRun ? 'ROLLBACK' : 'COMMIT');
    return { ...result, ms: Math.round(performance.now() - started) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Channels, sequences and the one `INSERT … ON CONFLICT (id) DO UPDATE` from the staging table. */
async function upsert(client: pg.PoolClient, fields: readonly CompiledField[]) {
  const col = (name: string) => {
    const field = fields.find((f) => f.name === name);
    if (!field) throw new Error(`the resource has no ${name} field to import`);
    return `"${field.column}"`;
  };
  const [id, created, modified, channel] = [col('id'), col('created_date'), col('modified_date'), col('channel')];
  const data = fields.filter((f) => f.name !== 'id' && f.valueType !== 'datetime').map((f) => `"${f.column}"`);
  const all = fields.map((f) => `"${f.column}"`);

  const channels = await client.query(
    `INSERT INTO channel (id, name) SELECT DISTINCT ${channel}, 'Channel ' || ${channel} FROM ${STAGING}
     WHERE ${channel} IS NOT NULL ORDER BY 1 ON CONFLICT (id) DO NOTHING`,
  );
  const counts = oneRow(await client.query<{ inserted: string; without_id: string; max_id: number | null }>(
    `SELECT count(*) FILTER (WHERE c.id IS NULL) AS inserted, count(*) FILTER (WHERE s.${id} IS NULL) AS without_id,
            max(s.${id}) AS max_id
     FROM ${STAGING} s LEFT JOIN customer c ON c.id = s.${id}`,
  ));
  // New ids must not land on an id this very file brings.
  if (Number(counts.without_id) > 0) {
    await advanceIdSequence(client, 'customer', Math.max((await maxId(client, 'customer')) ?? 0, counts.max_id ?? 0) || null);
  }
  const sameData = `(${data.map((c) => `old.${c}`).join(', ')}) IS NOT DISTINCT FROM (${data.map((c) => `s.${c}`).join(', ')})`;
  const affected = oneRow(await client.query<{ n: string }>(
    `WITH upserted AS (
       INSERT INTO customer AS c (${all.join(', ')})
       SELECT COALESCE(s.${id}, nextval(pg_get_serial_sequence('customer', 'id'))::integer),
              COALESCE(s.${created}, old.${created}, now()),
              -- Not given: Django's auto_now, i.e. now() unless the row stays exactly as it is.
              COALESCE(s.${modified}, CASE WHEN old.id IS NOT NULL AND ${sameData} THEN old.${modified} ELSE now() END),
              ${data.map((c) => `s.${c}`).join(', ')}
       FROM ${STAGING} s LEFT JOIN customer old ON old.id = s.${id}
       ORDER BY s.line
       ON CONFLICT (id) DO UPDATE SET ${all.filter((c) => c !== id).map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
       WHERE (${all.map((c) => `c.${c}`).join(', ')}) IS DISTINCT FROM (${all.map((c) => `EXCLUDED.${c}`).join(', ')})
       RETURNING 1)
     SELECT count(*) AS n FROM upserted`,
  ));
  await advanceIdSequence(client, 'customer');
  await advanceIdSequence(client, 'channel');
  return { inserted: Number(counts.inserted), changed: Number(affected.n), channelsCreated: channels.rowCount ?? 0 };
}

type Out = (line: string) => void;

/** The CLI command `customers:import FILE [--dry-run]` (arguments parsed by cli.ts); returns the exit code. */
export async function runImportCommand(
  pool: pg.Pool,
  resource: CompiledResource,
  { file, dryRun }: { file: string; dryRun: boolean },
  { out, err, restoreFormulas }: { out: Out; err: Out; restoreFormulas: boolean },
): Promise<number> {
  const format = /\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : 'csv';
  const input = createReadStream(file);
  await once(input, 'open').catch((error: Error) => {
    throw new Error(`cannot read ${file}: ${error.message}`);
  });
  const result = await importCustomers(pool, resource, input, { format, restoreFormulas, dryRun, log: err });
  if (!result.ok) {
    for (const { line, message } of result.problems) err(`${file}:${line}: ${message}`);
    if (result.problemCount > result.problems.length) err(`… and ${result.problemCount - result.problems.length} more`);
    err(`nothing imported: ${result.problemCount} problem(s) in ${file}`);
    return 1;
  }
  const verb = dryRun ? 'would import' : 'imported';
  out(`${verb} ${result.rows} row(s) from ${file}: ${result.inserted} inserted, ${result.updated} updated, ` +
    `${result.unchanged} unchanged, ${result.channelsCreated} channel(s) created (${result.ms} ms)${dryRun ? '; dry run, nothing written' : ''}`);
  return 0;
}
