/**
 * What the file formats (CSV, XLSX) share: the columns they take from the render context, the
 * rows they take from a page, and turning their byte stream into one body for a page.
 */
import type { Readable } from 'node:stream';
import type { CompiledField } from '../../resource/declaration.js';
import type { RenderContext, Row } from './renderer.js';

export function columnsOf(ctx: RenderContext): readonly CompiledField[] {
  if (!ctx.fields) throw new Error('A tabular renderer needs the resource fields in its render context');
  return ctx.fields;
}

/** The rows of a page `{count, next, previous, results}`, as one batch. */
export function pageRows(data: unknown): readonly Row[] {
  const results = (data as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) throw new Error('A tabular renderer renders a page: {count, next, previous, results}');
  return results as readonly Row[];
}

/** A page is small (at most MAX_PAGE_SIZE rows): it is sent whole, with a Content-Length. */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** An iterable of one batch, as the streaming writers take their input. */
export async function* oneBatch(rows: readonly Row[]): AsyncGenerator<readonly Row[]> {
  yield rows;
}
