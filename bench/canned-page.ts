/**
 * Page 1 without PostgreSQL, for measuring the service's own path to a precision that load against
 * a database does not give (its CPU per request swings ±20% between rounds here): a list
 * repository that answers every page read at once with the same ten rows (fresh objects each time,
 * as a driver gives them), an admitted token and a version. Used by bench/canned-service.ts (the
 * service's app around it) and bench/canned-bare.ts (a bare Fastify route sending the same page).
 */
import type { ListRepository } from '../src/repository/list-repository.js';
import type { PageReadResult } from '../src/repository/page-read.js';

const ROWS = Array.from({ length: 10 }, (_, i) => ({
  id: i + 1, created_date: '2021-03-04T05:06:07Z', modified_date: '2022-03-04T05:06:07.123456Z', omnitron_id: 1000 + i,
  email: `customer${i}@example.com`, first_name: 'Ayşe', last_name: 'Yılmaz', phone_number: '+905551112233', erp_code: `ERP-${i}`, channel: 1,
}));

/** One page read's answer, as the database would give it (after a microtask, like any I/O). */
export async function cannedPageRead(): Promise<PageReadResult> {
  await Promise.resolve();
  return { gate: { userId: 1, username: 'bench', isActive: true, admitted: true }, version: '12345', count: 1_000_000, rows: ROWS.map((row) => ({ ...row })) };
}

/** A repository whose page reads are canned; anything else is not part of page 1 and fails. */
export const cannedRepository: ListRepository = {
  readPage: cannedPageRead,
  version: () => Promise.reject(new Error('not canned')),
  count: () => Promise.reject(new Error('not canned')),
  findPage: () => Promise.reject(new Error('not canned')),
  openExport: () => Promise.reject(new Error('not canned')),
};
