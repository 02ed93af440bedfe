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
