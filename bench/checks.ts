/**
 * Before measuring: that the floor answers with the service's bytes (so the two do the same
 * work), and which optional scenarios (CSV, XLSX, `limit=all`) the service serves yet.
 */
import ExcelJS from 'exceljs';
import { download } from './load.js';
import type { Started } from './processes.js';
import { LIST_PATH, type Scenario } from './scenarios.js';

export interface BodyCheck {
  scenario: string;
  identical: boolean;
  detail: string;
}

const MEDIA = {
  csv: ['text/csv'],
  // The original answers `application/xls`; the registered type of .xlsx is accepted too.
  xlsx: ['application/xls', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
} as const;

/** One JSON response of each scenario from both servers, compared byte for byte once hosts are equalised. */
export async function compareBodies(service: Started, floor: Started, scenarios: readonly Scenario[], token: string): Promise<BodyCheck[]> {
  const headers = { authorization: `Token ${token}` };
  const checks: BodyCheck[] = [];
  for (const scenario of scenarios) {
    const suffix = `${LIST_PATH}${scenario.query ? `?${scenario.query}` : ''}`;
    const [a, b] = await Promise.all([download(service.baseUrl + suffix, headers, true), download(floor.baseUrl + suffix, headers, true)]);
    const bodyA = a.body!.toString('utf8').replaceAll(new URL(service.baseUrl).host, 'HOST');
    const bodyB = b.body!.toString('utf8').replaceAll(new URL(floor.baseUrl).host, 'HOST');
    let detail = `${a.bytes} bytes`;
    if (a.status !== 200 || b.status !== 200) detail = `status ${a.status} (service) vs ${b.status} (floor)`;
    else if (bodyA !== bodyB) {
      const at = [...bodyA].findIndex((ch, i) => ch !== bodyB[i]);
      detail = `first difference at character ${at}: service …${bodyA.slice(Math.max(0, at - 40), at + 40)}… floor …${bodyB.slice(Math.max(0, at - 40), at + 40)}…`;
    }
    checks.push({ scenario: scenario.id, identical: a.status === 200 && bodyA === bodyB, detail });
  }
  return checks;
}

const PROBE_ROWS = 12;

/** Data rows in a small CSV or XLSX answer. */
async function countRows(format: 'csv' | 'xlsx', body: Buffer): Promise<number> {
  if (format === 'csv') return body.toString('utf8').split('\n').filter((line) => line.trim() !== '').length - 1;
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(body as unknown as ArrayBuffer);
  return (workbook.worksheets[0]?.actualRowCount ?? 1) - 1;
}

/**
 * Why the service does not serve this scenario's format (and `limit=all`) yet, or null when it
 * does, asked with a filter that keeps the answer small: 200, the renderer's media type, and for
 * `limit=all` more rows than a default page (DRF quietly falls back to 10 on a `limit` it does
 * not understand).
 */
export async function probe(service: Started, scenario: Scenario, token: string): Promise<string | null> {
  if (!scenario.format) return null;
  const params = new URLSearchParams(scenario.query);
  params.set('id__lte', String(PROBE_ROWS));
  const res = await download(`${service.baseUrl}${LIST_PATH}?${params}`, { authorization: `Token ${token}` }, true);
  if (res.status !== 200) return `HTTP ${res.status}: ${res.body!.toString('utf8').slice(0, 200)}`;
  if (!MEDIA[scenario.format].some((type) => res.contentType.startsWith(type))) return `Content-Type ${res.contentType}`;
  if (params.get('limit') !== 'all') return null;
  const rows = await countRows(scenario.format, res.body!).catch((error: unknown) => String(error));
  return rows === PROBE_ROWS ? null : `id__lte=${PROBE_ROWS} with limit=all gave ${rows} rows, not ${PROBE_ROWS}`;
}
