/**
 * The row of a query that returns exactly one by construction (an aggregate without GROUP BY, a
 * SELECT of expressions with no FROM, or FROM a sequence): checked, so a broken query fails loudly
 * here instead of as a TypeError further on.
 */
export function oneRow<Row>({ rows }: { rows: readonly Row[] }): Row {
  const [row] = rows;
  if (row === undefined || rows.length > 1) throw new Error(`expected exactly one row, got ${rows.length}`);
  return row;
}
