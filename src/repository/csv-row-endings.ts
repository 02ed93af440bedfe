/**
 * COPY writes CSV rows ending in LF (resource/csv-sql.ts); Python's csv writer, whose bytes the
 * export must match, ends them with CRLF.
 */
import { Transform, type TransformCallback } from 'node:stream';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * COPY's CSV with each row's LF as CRLF, Python's line terminator. A LF inside a quoted cell is
 * data and stays as it is, so the quote state is tracked across chunks: every `"` toggles it
 * (a doubled `""` inside a cell toggles twice). Both bytes are ASCII and never part of a UTF-8
 * sequence, so chunks may split anywhere.
 */
export class CsvRowEndings extends Transform {
  private quoted = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    // At most one CR per LF is added: room for every LF being a row end.
    let lfs = 0;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) lfs++;
    if (lfs === 0) {
      // Nothing to change, but the quotes still move the state on.
      for (let i = chunk.indexOf(QUOTE); i !== -1; i = chunk.indexOf(QUOTE, i + 1)) this.quoted = !this.quoted;
      return done(null, chunk);
    }
    const out = Buffer.allocUnsafe(chunk.length + lfs);
    let written = 0;
    let from = 0; // first byte not yet copied
    let at = 0; // where scanning goes on
    let nextQuote = chunk.indexOf(QUOTE);
    let nextLf = chunk.indexOf(LF);
    for (;;) {
      if (this.quoted) {
        if (nextQuote === -1) break; // the cell goes on in the next chunk
        this.quoted = false;
        at = nextQuote + 1;
        nextQuote = chunk.indexOf(QUOTE, at);
        continue;
      }
      if (nextLf !== -1 && nextLf < at) nextLf = chunk.indexOf(LF, at);
      if (nextLf !== -1 && (nextQuote === -1 || nextLf < nextQuote)) {
        written += chunk.copy(out, written, from, nextLf);
        out[written++] = CR;
        out[written++] = LF;
        from = at = nextLf + 1;
        nextLf = chunk.indexOf(LF, at);
      } else if (nextQuote !== -1) {
        this.quoted = true;
        at = nextQuote + 1;
        nextQuote = chunk.indexOf(QUOTE, at);
      } else {
        break;
      }
    }
    written += chunk.copy(out, written, from);
    done(null, out.subarray(0, written));
  }
}
