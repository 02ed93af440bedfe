/**
 * One field of PostgreSQL's COPY text format (`COPY … FROM STDIN`, the default format): NULL as
 * `\N`, and backslash, tab, newline and carriage return escaped, so any text survives the tabs
 * and newlines that separate fields and rows. Shared by the importer and the data generator.
 */
const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export function copyTextField(value: string | number | null): string {
  if (value === null) return '\\N';
  const text = String(value);
  // Most fields hold none of the four: test before building a new string.
  return SPECIAL.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c] ?? c) : text;
}
