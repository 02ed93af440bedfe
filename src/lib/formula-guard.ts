/**
 * CSV formula-injection guard (OWASP "CSV Injection"): a text cell that a spreadsheet would read
 * as a formula is prefixed with `'`, and the importer takes that prefix off again.
 *
 * A cell is dangerous when it starts with `=`, `@`, a tab or a carriage return, or with `+`/`-`
 * followed by anything that is not a plain number (so `+905551112233` and `-5` stay as they are,
 * `-2+3` and `+90 555 111 22 33` do not). To make the guard exactly reversible, a cell that is
 * already one or more `'` followed by something dangerous gets one more `'` too: `'=x` is written
 * `''=x` and reads back as `'=x`, so a guarded export round-trips every value.
 */

/** `+`/`-` and a number Excel parses as such: digits, an optional fraction, an optional exponent. */
const SIGNED_NUMBER = /^[+-](?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Would a spreadsheet evaluate this text (after any leading apostrophes)? */
function isDangerous(text: string, from: number): boolean {
  const first = text.charAt(from);
  if (first === '=' || first === '@' || first === '\t' || first === '\r') return true;
  if (first === '+' || first === '-') {
    // A lone sign is plain text to Excel; a sign and a number is a number.
    return text.length > from + 1 && !SIGNED_NUMBER.test(text.slice(from));
  }
  return false;
}

/** Zero or more apostrophes from `from`, then something dangerous. */
function startsDangerously(text: string, from = 0): boolean {
  let i = from;
  while (text.charCodeAt(i) === 0x27) i++;
  return isDangerous(text, i);
}

/** The text to write into a CSV cell: `'` + text when a spreadsheet would run it. */
export function neutraliseFormula(text: string): string {
  return startsDangerously(text) ? `'${text}` : text;
}

/** The inverse of neutraliseFormula, for every string: drops the `'` it added, nothing else. */
export function restoreFormula(text: string): string {
  return text.charCodeAt(0) === 0x27 && startsDangerously(text, 1) ? text.slice(1) : text;
}
