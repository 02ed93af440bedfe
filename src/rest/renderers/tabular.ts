/**
 * What the file formats (CSV, XLSX) share: turning their byte stream into one body for a page.
 */
import type { Readable } from 'node:stream';
import type { Row } from './renderer.js';

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
