/**
 * One home for the recorded fixtures (test/fixtures/) and the small readers the tests share:
 * the transcript of the original, its bodies by title, and the customer_count check.
 */
import { readFileSync } from 'node:fs';

/** One request/response of the original's transcript (test/fixtures/transcript-cases.json). */
export interface TranscriptCase {
  title: string;
  section: string;
  method: string;
  path: string;
  requestHeaders: Record<string, string>;
  requestBody?: string;
  /** The two raw-socket HEAD cases: request taken from the title. */
  requestInferred?: boolean;
  status: number;
  statusText: string;
  responseHeaders: Record<string, string>;
  /** Exact when `bodyComplete`, else the shown prefix; null for binary (XLSX) bodies. */
  body: string | null;
  bodyLength: number;
  bodyComplete: boolean;
  bodyBinary?: 'xlsx';
  xlsx?: { cells: unknown };
  note?: string;
}

/** The text of a file under test/fixtures/. */
export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
}

let transcript: TranscriptCase[] | undefined;

/** Every case of the original's transcript, in recorded order. */
export function transcriptCases(): TranscriptCase[] {
  return (transcript ??= JSON.parse(fixture('transcript-cases.json')) as TranscriptCase[]);
}

/** The body the original sent for the first transcript case whose title starts with `titleStart`. */
export function originalBody(titleStart: string): string {
  const found = transcriptCases().find((c) => c.title.startsWith(titleStart));
  if (found?.body == null) throw new Error(`no transcript case with a body titled "${titleStart}…"`);
  return found.body;
}

interface Queryable {
  query<R extends object>(text: string): Promise<{ rows: R[] }>;
}

/** customer_count's counter next to the real row count: the two must always agree. */
export async function counts(db: Queryable): Promise<{ n: number; actual: number }> {
  const { rows } = await db.query<{ n: string; actual: string }>(
    'SELECT (SELECT n FROM customer_count)::text AS n, (SELECT count(*) FROM customer)::text AS actual',
  );
  return { n: Number(rows[0]!.n), actual: Number(rows[0]!.actual) };
}

/**
 * Buckets where customer_id_block or customer_day (migration …_customer_summaries) disagree with
 * the rows: `[]` when both summaries are exact. Each entry names the summary, bucket, kept and actual count.
 */
export async function summaryDrift(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ drift: string }>(
    `WITH kept AS (
       SELECT 'customer_id_block' AS summary, bucket::text AS bucket, sum(n) AS n FROM customer_id_block GROUP BY bucket
       UNION ALL SELECT 'customer_day', to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), sum(n) FROM customer_day GROUP BY bucket),
     actual AS (
       SELECT 'customer_id_block' AS summary, (id - ((id % 1000) + 1000) % 1000)::text AS bucket, count(*) AS n FROM customer GROUP BY 2
       UNION ALL SELECT 'customer_day', to_char(date_trunc('day', modified_date, 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), count(*) FROM customer GROUP BY 2)
     SELECT concat_ws(' ', summary, bucket, 'kept', coalesce(k.n, 0), 'actual', coalesce(a.n, 0)) AS drift
       FROM kept k FULL JOIN actual a USING (summary, bucket)
      WHERE coalesce(k.n, 0) <> coalesce(a.n, 0)
      ORDER BY 1`,
  );
  return rows.map((r) => r.drift);
}
