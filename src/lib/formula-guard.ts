/**
 * CSV formula-injection guard (OWASP "CSV Injection"): a text cell that a spreadsheet would read
 * as a formula is prefixed with `'`, and the importer takes that prefix off again.
 *
 * A cell is dangerous when it starts with `=`, `@`, a tab or a carriage return, or with `+`/`-`
 * followed by anything that is neither a plain number nor phone-like. Phone-like (ours, so phone
 * numbers export as typed): after the sign, only digits, spaces, `(`, `)`, `.`, `/` and `-`, with
 * at least one digit: `+90 532 123 45 67`, `+1 (555) 010-9999`, `--1`, `- 1`, `+1)`. Such a cell
 * holds no letter (so no function, name, cell or R1C1 reference), no `"` (no string), no `!`, `:`,
 * `|`, `&`, `@` or `=` (no sheet, range, DDE or concatenation); the most a spreadsheet can make of
 * it is arithmetic on its own literals or an error. `-1+1` has a `+` after the sign and stays
 * guarded; a lone sign is plain text to Excel and stays as is; `-(`, `+ ` (no digit) are guarded.
 * To make the guard exactly reversible, a cell that is already one or more `'` followed by
 * something dangerous gets one more `'` too: `'=x` is written `''=x` and reads back as `'=x`, so a
 * guarded export round-trips every value.
 */

// After the sign: digits, an optional fraction, an optional exponent (`-5`, `+1.5e3`).
const PLAIN_NUMBER = String.raw`(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?`;
// After the sign: phone punctuation with a digit somewhere. The digit-free run comes first, so
// neither engine backtracks more than linearly on a long cell.
const PHONE_LIKE = String.raw`[ ()./-]*[0-9][0-9 ()./-]*`;

/**
 * The rule as one regular expression that JavaScript and PostgreSQL (`~`, an ARE) read alike, so
 * CSV the database writes (resource/csv-sql.ts) is guarded exactly as CSV written here: apostrophes,
 * then `=`, `@`, tab or CR, or a sign followed by something that is not all of a plain number or
 * phone-like text (a lone sign is plain text to Excel).
 * ASCII classes only (`\d` is locale-dependent in PostgreSQL); `.` must match newlines (flag `s`).
 */
export const FORMULA_PATTERN = String.raw`^'*(?:[=@\t\r]|[+-](?!(?:${PLAIN_NUMBER}|${PHONE_LIKE})$).)`;

/** Every dangerous text starts with one of these: a cheap test before the pattern. */
export const FORMULA_FIRST_CHARACTERS = "'=@\t\r+-";

const FORMULA = new RegExp(FORMULA_PATTERN, 's');

/** Zero or more apostrophes, then something a spreadsheet would evaluate. */
const startsDangerously = (text: string): boolean => FORMULA.test(text);

/** The text to write into a CSV cell: `'` + text when a spreadsheet would run it. */
export function neutraliseFormula(text: string): string {
  return startsDangerously(text) ? `'${text}` : text;
}

/** The inverse of neutraliseFormula, for every string: drops the `'` it added, nothing else. */
export function restoreFormula(text: string): string {
  return text.charCodeAt(0) === 0x27 && startsDangerously(text.slice(1)) ? text.slice(1) : text;
}
