/**
 * Cuts CSV text into whole records before fast-csv parses it, reading quotes exactly as fast-csv
 * does, and refuses a record past a size limit. fast-csv re-parses the unfinished end of its input
 * on every chunk, so a quote that never closes made a large file quadratic (10 MB: 41 s, 675 MB);
 * fed only whole, bounded records, it parses each byte about once.
 */
import { StringDecoder } from 'node:string_decoder';

/** Why a record cannot be handed to the parser. */
export type CsvRecordProblem = 'too-long' | 'unclosed-quote' | 'text-after-quote';

export interface CsvRecordFailure {
  problem: CsvRecordProblem;
  /** The failing record's text as far as it was read (the start is what an error should show). */
  record: string;
}

// fast-csv's quote rules (@fast-csv/parse 5, ColumnParser and QuotedColumnParser): a field is
// quoted when its first character other than white space (JS `\s`, line breaks aside) is `"`;
// inside, `""` is a quote and a lone `"` closes it; after the closing quote only white space may
// come before `,` or a line break (anything else is fast-csv's parse error). A `"` inside an
// unquoted field is a plain character, as in Python's csv. CR, LF and CRLF end a record.
const enum State { FieldStart, Unquoted, Quoted, QuoteInQuoted, AfterQuoted }

const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;
const COMMA = 0x2c;
const SPACE = /\s/;
/** JS `\s` (fast-csv's white space), checked by code to spare a string per character. */
const isSpace = (code: number): boolean =>
  code < 0x80 ? code === 0x20 || (code >= 0x09 && code <= 0x0d) : SPACE.test(String.fromCharCode(code));

/** UTF-8 length of one UTF-16 code unit (a surrogate pair's 4 bytes split as 2 + 2). */
const utf8Bytes = (code: number): number => (code < 0x80 ? 1 : code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 2 : 3);

export class CsvRecordCutter {
  /** Set once a record is refused; nothing after it is handed on. */
  failure: CsvRecordFailure | null = null;
  private state = State.FieldStart;
  private afterCr = false;
  /** Text read but not handed on yet: it starts at or before the unfinished record. */
  private held: string[] = [];
  private heldFrom = 0;
  /** Offsets count UTF-16 units from the start of the input. */
  private recordFrom = 0;
  private recordBytes = 0;
  private read = 0;

  constructor(private readonly maxRecordBytes: number) {}

  /** Everything up to the end of the last whole record read so far; the rest is held back. */
  write(text: string): string {
    if (this.failure) return '';
    let cut = -1;
    for (let i = 0; i < text.length; i += 1) {
      const code = text.charCodeAt(i);
      if (this.afterCr) {
        this.afterCr = false;
        if (code === LF) {
          this.recordFrom = this.read + i + 1; // the LF of a CRLF
          cut = i + 1;
          continue;
        }
      }
      if (this.state !== State.Quoted && (code === CR || code === LF)) {
        this.state = State.FieldStart;
        this.afterCr = code === CR;
        this.recordFrom = this.read + i + 1;
        this.recordBytes = 0;
        cut = i + 1;
        continue;
      }
      this.recordBytes += utf8Bytes(code);
      if (this.recordBytes > this.maxRecordBytes) return this.fail('too-long', text, i + 1);
      if (!this.step(code)) return this.fail('text-after-quote', text, i + 1);
    }
    this.read += text.length;
    if (cut < 0) {
      this.held.push(text);
      return '';
    }
    const whole = this.held.join('') + text.slice(0, cut);
    this.held = [text.slice(cut)];
    this.heldFrom = this.read - (text.length - cut);
    return whole;
  }

  /** The rest at the end of the input, or '' with `failure` set when a quoted field never closed. */
  end(): string {
    if (this.failure) return '';
    if (this.state === State.Quoted) return this.fail('unclosed-quote', '', 0);
    const rest = this.held.join('');
    this.held = [];
    return rest;
  }

  /** Whole records of a byte or text stream, decoded as UTF-8; stops at the first refused record. */
  async *records(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
    const decoder = new StringDecoder('utf8');
    for await (const chunk of input) {
      const whole = this.write(typeof chunk === 'string' ? chunk : decoder.write(chunk));
      if (whole) yield whole;
      if (this.failure) return; // leaving the loop stops reading the input
    }
    const rest = this.write(decoder.end()) + this.end();
    if (rest) yield rest;
  }

  /** Moves the quote state by one character (not a line break outside quotes); false on text after a closing quote. */
  private step(code: number): boolean {
    switch (this.state) {
      case State.FieldStart:
        if (code === QUOTE) this.state = State.Quoted;
        else if (code !== COMMA && !isSpace(code)) this.state = State.Unquoted;
        return true;
      case State.Unquoted:
        if (code === COMMA) this.state = State.FieldStart;
        return true;
      case State.Quoted:
        if (code === QUOTE) this.state = State.QuoteInQuoted;
        return true;
      case State.QuoteInQuoted:
        if (code === QUOTE) {
          this.state = State.Quoted; // "" inside quotes
          return true;
        }
        this.state = State.AfterQuoted;
        return this.step(code);
      case State.AfterQuoted:
        if (code === COMMA) this.state = State.FieldStart;
        return code === COMMA || isSpace(code);
    }
  }

  /** Records the failure and hands on the whole records before the failing one. */
  private fail(problem: CsvRecordProblem, text: string, readTo: number): string {
    const held = this.held.join('') + text.slice(0, readTo);
    const recordAt = this.recordFrom - this.heldFrom;
    this.failure = { problem, record: held.slice(recordAt) };
    this.held = [];
    return held.slice(0, recordAt);
  }
}
