/**
 * Names that end up double-quoted in SQL (tables, columns) and as object keys: a strict shape keeps
 * both trivially safe, with no escaping to get wrong (and keeps integer-like keys, which JS objects
 * reorder, out of a resource's fields).
 */
export const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** `name` when it has that shape; otherwise an error naming `what` it is, for start-up. */
export function sqlIdentifier(what: string, name: string): string {
  if (!SQL_IDENTIFIER.test(name)) throw new Error(`${what} "${name}" must match ${SQL_IDENTIFIER}`);
  return name;
}
