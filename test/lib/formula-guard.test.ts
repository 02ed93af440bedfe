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
    ['+ERP', "'+ERP"],
    ['+90 555 111 22 33', "'+90 555 111 22 33"],
    ['-cmd|x', "'-cmd|x"],
    ["'=x", "''=x"],
    ["''@x", "'''@x"],
  ])('prefixes %j with an apostrophe', (text, guarded) => {
    expect(neutraliseFormula(text)).toBe(guarded);
  });

  it.each([
    '+905551112233', '-5', '+1.5', '-.5', '5.', '+1e5', '-2E-3', '-', '+', '', 'Ali', "O'Brien", "'quoted", "'+905551112233",
    'a=b', ' =x', '05555554433', 'İpek 😀',
  ])('leaves %j alone', (text) => {
    expect(neutraliseFormula(text)).toBe(text);
  });
});

describe('restoreFormula', () => {
  it('undoes neutraliseFormula for every string', () => {
    const prefix = fc.constantFrom('', "'", "''", '=', '+', '-', '@', '\t', '\r', "'=", "'-", "'+5", '-5');
    fc.assert(
      fc.property(prefix, fc.string({ unit: 'grapheme' }), (head, tail) => {
        const text = head + tail;
        expect(restoreFormula(neutraliseFormula(text))).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('never lets a spreadsheet see a formula after neutralising', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(neutraliseFormula(text)).not.toMatch(/^(?:[=@\t\r]|[+-](?!(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$).)/s);
      }),
      { numRuns: 2000 },
    );
  });

  it('drops only the apostrophe the guard adds', () => {
    expect(restoreFormula("'=SUM(A1)")).toBe('=SUM(A1)');
    expect(restoreFormula("''=x")).toBe("'=x");
    expect(restoreFormula("'-2+3")).toBe('-2+3');
    // Not something the guard writes: kept as is.
    expect(restoreFormula("'-5")).toBe("'-5");
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
