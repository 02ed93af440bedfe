/**
 * A list repository whose calls are timed: the same rows, each page read, version, count, page and export opening
 * reported to a timer (the metrics' query-duration histogram). An export's rows are not one
 * query but a stream at the client's pace, so only its opening (snapshot and count) is timed.
 */
import type { ListRepository } from './list-repository.js';

/** What a repository call is timed as. */
export type QueryKind = 'page_read' | 'version' | 'count' | 'page' | 'export_open';

/** Runs `work` and records how long it took, whether it succeeded or failed. */
export type QueryTimer = <T>(kind: QueryKind, work: () => Promise<T>) => Promise<T>;

export function timeRepository(repository: ListRepository, time: QueryTimer): ListRepository {
  return {
    readPage: (read) => time('page_read', () => repository.readPage(read)),
    version: () => time('version', () => repository.version()),
    count: (conditions, options) => time('count', () => repository.count(conditions, options)),
    findPage: (query) => time('page', () => repository.findPage(query)),
    openExport: (conditions, ordering, options) => time('export_open', () => repository.openExport(conditions, ordering, options)),
  };
}
