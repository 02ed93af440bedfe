import { Readable } from 'node:stream';
import fc from 'fast-check';
import { parse, parseString } from 'fast-csv';
import { describe, expect, it } from 'vitest';
import { CsvRecordCutter } from '../../src/lib/csv-records.js';

type Parsed = { rows: string[][] } | { error: string };

const collect = (parser: NodeJS.ReadableStream & NodeJS.EventEmitter): Promise<Parsed> =>
  new Promise((resolve) => {
    const rows: string[][] = [];
    parser.on('data', (row: string[]) => rows.push(row));
    parser.on('error', (error: Error) => resolve({ error: error.message }));
    parser.on('end', () => resolve({ rows }));
  });

/** fast-csv on the whole text at once: the reference. */
const fastCsvAlone = (text: string) => collect(parseString(text, { headers: false }));

/** The file in the given chunks through the cutter; what it handed on, and fast-csv's reading of that. */
async function throughCutter(chunks: readonly (string | Buffer)[], maxRecordBytes = 1 << 30) {
  const cutter = new CsvRecordCutter(maxRecordBytes);
  const handedOn: string[] = [];
  for await (const whole of cutter.records(Readable.from(chunks.map((chunk) => Buffer.from(chunk))))) handedOn.push(whole);
  return { handedOn, failure: cutter.failure, parsed: await collect(Readable.from(handedOn).pipe(parse({ headers: false }))) };
}

/** `text`'s UTF-8 bytes cut at the given positions (possibly inside a character). */
const split = (text: string, cuts: readonly number[]) => {
  const bytes = Buffer.from(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [0, ...at].map((from, i) => bytes.subarray(from, at[i] ?? bytes.length)).filter((chunk) => chunk.length > 0);
};

// Every character the quote rules look at, white space fast-csv skips before a quote (NBSP, U+2028),
// and multi-byte text. Not a BOM: fast-csv drops one at the start of any chunk it is given.
const csvText = fc
  .array(fc.constantFrom('a', 'b', '"', '""', ',', '\r', '\n', '\r\n', ' ', '\t', '\u00a0', '\u2028', 'é', '🎉'), { maxLength: 60 })
  .map((parts) => parts.join(''));

describe('CsvRecordCutter', () => {
  it('hands fast-csv only whole records, and fast-csv reads them exactly as it reads the whole text', async () => {
    await fc.assert(
      fc.asyncProperty(csvText, fc.array(fc.nat(), { maxLength: 8 }), async (text, cuts) => {
        const { handedOn, failure, parsed } = await throughCutter(split(text, cuts));
        const alone = await fastCsvAlone(text);
        if (failure) {
          // Each refusal is a file fast-csv cannot read either; what came before it parses alike.
          expect(alone).toHaveProperty('error');
          expect(handedOn.join('') + failure.record).toBe(text.slice(0, handedOn.join('').length + failure.record.length));
        } else {
          expect(parsed).toEqual(alone);
          expect(handedOn.join('')).toBe(text);
        }
        // Every piece but the last ends a record, so fast-csv has no unfinished rest to re-parse.
        handedOn.slice(0, -1).forEach((piece) => expect(piece).toMatch(/[\r\n]$/));
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['a "quote" inside an unquoted field as a character', 'a,5" screen,b\nc\n', ['a,5" screen,b\n', 'c\n']],
    ['white space before a quote as opening a quoted field', 'a, \u00a0"x\ny",b\nc\n', ['a, \u00a0"x\ny",b\n', 'c\n']],
    ['"" inside quotes as a quote', '"a""\nb",c\nd\n', ['"a""\nb",c\n', 'd\n']],
  ])('reads %s, fed one character at a time', async (_, text, records) => {
    expect(await throughCutter([...text])).toEqual({ handedOn: records, failure: null, parsed: await fastCsvAlone(text) });
  });

  it.each([
    ['a quote never closed', 'a,b\n"c,d\ne,f\n', 'unclosed-quote'],
    ['text after a closing quote', 'a,b\n"c" d,e\n', 'text-after-quote'],
  ])('refuses %s, and hands on the records before it', async (_, text, problem) => {
    const { handedOn, failure } = await throughCutter([...text]);
    expect(handedOn).toEqual(['a,b\n']);
    expect(failure?.problem).toBe(problem);
    expect(failure?.record).toBe(text.slice(4, problem === 'unclosed-quote' ? undefined : 9));
  });

  it('refuses a record past the limit, counted in UTF-8 bytes, quoted line breaks included, and hands on the records before it', async () => {
    const record = `"é\n${'x'.repeat(5)}🎉"`; // 1 + 2 + 1 + 5 + 4 + 1 = 14 bytes
    expect((await throughCutter([`a\r\n${record}\r\nb\n`], 14)).failure).toBeNull();
    const { handedOn, failure, parsed } = await throughCutter([`a\r\n${record}\r\nb\n`], 13);
    expect(failure).toEqual({ problem: 'too-long', record });
    expect(handedOn.join('')).toBe('a\r\n');
    expect(parsed).toEqual({ rows: [['a']] });
  });

  it('keeps a CRLF whole when a chunk ends between its CR and LF', async () => {
    const { parsed } = await throughCutter(['a,b\r', '\nc,d\r', '\n\r', 'e\n']);
    expect(parsed).toEqual({ rows: [['a', 'b'], ['c', 'd'], [], ['e']] });
  });

  it('stops reading the input at a refused record', async () => {
    let chunksRead = 0;
    async function* endless() {
      for (;;) {
        chunksRead += 1;
        yield Buffer.from(chunksRead === 1 ? 'a\n"' : 'lorem ipsum\n'.repeat(100));
      }
    }
    const cutter = new CsvRecordCutter(10_000);
    const handedOn: string[] = [];
    for await (const whole of cutter.records(endless())) handedOn.push(whole);
    expect(handedOn).toEqual(['a\n']);
    expect(cutter.failure?.problem).toBe('too-long');
    expect(chunksRead).toBe(10);
  });
});
