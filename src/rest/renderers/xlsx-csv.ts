/**
 * Reads the CSV lines PostgreSQL writes for an export (ExportSource.csvLines, no formula guard)
 * back into cell values: in the XLSX export's worker, the first message's rows, which size the
 * columns (the rows themselves are transcoded from the bytes by xlsx-csv-rows.ts, which reads the
 * CSV as this does, and is tested against it). RFC 4180 as QUOTE_MINIMAL writes it; chunks may
 * end anywhere, even inside a character or a `""`. An empty cell, quoted or not, is null: this
 * CSV writes NULL and '' alike.
 */
const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

export class CsvCells {
  // A leading U+FEFF is a first text's character here, not a byte order mark to drop.
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private row: (string | null)[] = [];
  private field = '';
  private inQuotes = false;
  /** The chunk ended on a `"` inside quotes: the next character says whether it closed them. */
  private quoteAtEnd = false;

  /** The values of the rows completed by `bytes`, flat, row after row. */
  push(bytes: Uint8Array): (string | null)[] {
    return this.parse(this.decoder.decode(bytes, { stream: true }));
  }

  /** The values of a last row without a line end, if any. */
  end(): (string | null)[] {
    const values = this.parse(this.decoder.decode());
    if (this.quoteAtEnd) this.inQuotes = false;
    if (this.field !== '' || this.row.length > 0) {
      this.endField();
      values.push(...this.row);
      this.row = [];
    }
    return values;
  }

  private endField(): void {
    this.row.push(this.field === '' ? null : this.field);
    this.field = '';
  }

  private parse(text: string): (string | null)[] {
    const values: (string | null)[] = [];
    const n = text.length;
    let i = 0;
    if (this.quoteAtEnd && n > 0) {
      this.quoteAtEnd = false;
      if (text.charCodeAt(0) === QUOTE) {
        this.field += '"';
        i = 1;
      } else this.inQuotes = false;
    }
    while (i < n) {
      if (this.inQuotes) {
        const quote = text.indexOf('"', i);
        if (quote === -1) {
          this.field += text.slice(i);
          break;
        }
        this.field += text.slice(i, quote);
        if (quote + 1 === n) {
          this.quoteAtEnd = true;
          break;
        }
        if (text.charCodeAt(quote + 1) === QUOTE) {
          this.field += '"';
          i = quote + 2;
        } else {
          this.inQuotes = false;
          i = quote + 1;
        }
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        this.inQuotes = true;
        i += 1;
      } else if (c === COMMA) {
        this.endField();
        i += 1;
      } else if (c === LF) {
        this.endField();
        for (const value of this.row) values.push(value);
        this.row = [];
        i += 1;
      } else if (c === CR) {
        i += 1;
      } else {
        let j = i + 1;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === COMMA || d === LF || d === CR || d === QUOTE) break;
          j++;
        }
        this.field += text.slice(i, j);
        i = j;
      }
    }
    return values;
  }
}
