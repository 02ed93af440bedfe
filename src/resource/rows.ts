/**
 * What a resource's rows look like to those who write them out: the data shapes the repository
 * hands over and the view and renderers take, whichever database produced them.
 */
import type { Readable } from 'node:stream';

/** One result row: field name → value, keys in output order, timestamps already DRF text. */
export type Row = Readonly<Record<string, unknown>>;

/**
 * The rows of a `limit=all` export, from one snapshot. A reader takes them once, one way: as
 * rows, or (only the CSV renderer asks) as CSV lines the database writes itself, which is several
 * times faster than rows through Node.
 */
export interface ExportSource {
  /** Every row, batch by batch, only as fast as the batches are consumed. */
  rows(): AsyncIterable<readonly Row[]>;
  /**
   * The rows as CSV lines, cells in field order, exactly as the CSV renderer writes them (no
   * header); null where the database cannot write them, and rows() serves instead. Rejects,
   * before any byte, when the database fails to start them. `lineEnding: 'lf'` leaves each row's
   * end as the database writes it (LF) for a reader that takes either (the XLSX worker): the CSV
   * renderer's CRLF costs a pass over every byte and a copy of it.
   */
  csvLines(options: { formulaGuard: boolean; lineEnding?: 'crlf' | 'lf' }): Promise<Readable | null>;
}
