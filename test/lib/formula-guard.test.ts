import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FORMULA_FIRST_CHARACTERS, neutraliseFormula, restoreFormula } from '../../src/lib/formula-guard.js';

describe('neutraliseFormula', () => {
  it.each([
    ['=SUM(A1:A2)', "'=SUM(A1:A2)"],
    ['=HYPERLINK("http://example.com")', `'=HYPERLINK("http://example.com")`],
    ['@SUM(1)', "'@SUM(1)"],
    ['\tTab', "'\tTab"],
    ['\rCR', "'\rCR"],
    ['-2+3', "'-2+3"],
    ['-1+1', "'-1+1"],
    ['+ERP', "'+ERP"],
    ['+A1', "'+A1"],
    ['-1e5-1', "'-1e5-1"],
    ['+90 532 123 45 67 ext', "'+90 532 123 45 67 ext"],
    ['+1 (555) 010-9999\n', "'+1 (555) 010-9999\n"],
    ['+1\t2', "'+1\t2"],
    ['-(', "'-("],
    ['+ ', "'+ "],
    ['--', "'--"],
    ['-cmd|x', "'-cmd|x"],
    ['+1:2', "'+1:2"],
    ["'=x", "''=x"],
    ["''@x", "'''@x"],
  ])('prefixes %j with an apostrophe', (text, guarded) => {
    expect(neutraliseFormula(text)).toBe(guarded);
  });

  it.each([
    '+905551112233', '-5', '+1.5', '-.5', '5.', '+1e5', '-2E-3', '-', '+', '', 'Ali', "O'Brien", "'quoted", "'+905551112233",
    'a=b', ' =x', '05555554433', 'İpek 😀',
    // Phone-like (ours): a sign, then only digits, spaces, ( ) . / -, with a digit.
    '+90 532 123 45 67', '+1 (555) 010-9999', '+90 (532) 123.45.67', '+44/20 7946 0958', '-1/0', '--1', '- 1', '+1)',
    "'+90 532 123 45 67",
  ])('leaves %j alone', (text) => {
    expect(neutraliseFormula(text)).toBe(text);
  });
});

describe('restoreFormula', () => {
  it('undoes neutraliseFormula for every string', () => {
    const prefix = fc.constantFrom('', "'", "''", '=', '+', '-', '@', '\t', '\r', "'=", "'-", "'+5", '-5', '+90 532', "'+1 (5", '--', '- ');
    const phoneish = fc.string({ unit: fc.constantFrom('0', '9', ' ', '(', ')', '.', '/', '-', '+', 'e', "'", 'x') });
    fc.assert(
      fc.property(prefix, fc.string({ unit: 'grapheme' }), (head, tail) => {
        const text = head + tail;
        expect(restoreFormula(neutraliseFormula(text))).toBe(text);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(prefix, phoneish, (head, tail) => {
        const text = head + tail;
        expect(restoreFormula(neutraliseFormula(text))).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('never lets a spreadsheet see a formula after neutralising', () => {
    // What may reach a spreadsheet unprefixed: no formula lead character at all, a plain number,
    // or a sign followed only by digits and phone punctuation (no letter, quote, `!`, `:`, `|`, `+`...).
    const harmless = (cell: string) =>
      cell.startsWith("'") || !/^[=@\t\r+-]/.test(cell) || /^[+-][0-9 ()./-]*$/.test(cell) ||
      (/^[+-][0-9.eE+-]+$/.test(cell) && Number.isFinite(Number(cell)));
    const unit = fc.constantFrom('=', '@', '\t', '\r', '\n', '+', '-', '0', '7', ' ', '(', ')', '.', '/', 'e', 'E', 'A', ':', '!', '|', '"', '&', '*', '^', '%', "'");
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit })), (text) => {
        expect(harmless(neutraliseFormula(text))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('drops only the apostrophe the guard adds', () => {
    expect(restoreFormula("'=SUM(A1)")).toBe('=SUM(A1)');
    expect(restoreFormula("''=x")).toBe("'=x");
    expect(restoreFormula("'-2+3")).toBe('-2+3');
    // Not something the guard writes: kept as is.
    expect(restoreFormula("'-5")).toBe("'-5");
    expect(restoreFormula("'+90 532 123 45 67")).toBe("'+90 532 123 45 67");
    expect(restoreFormula("'Ali")).toBe("'Ali");
    expect(restoreFormula('=SUM(A1)')).toBe('=SUM(A1)');
  });
});

describe('FORMULA_FIRST_CHARACTERS (the cheap test PostgreSQL runs before the pattern)', () => {
  it('holds the first character of every text the guard prefixes', () => {
    const unit = fc.constantFrom(...FORMULA_FIRST_CHARACTERS, 'a', '5', '.', 'e', ' ', '\n', '😀');
    fc.assert(
      fc.property(fc.string({ unit }), (text) => {
        if (neutraliseFormula(text) !== text) expect(FORMULA_FIRST_CHARACTERS).toContain(text[0]);
      }),
      { numRuns: 3000 },
    );
  });
});
