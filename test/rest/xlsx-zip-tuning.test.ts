/**
 * The export worker's zip tuning (src/rest/renderers/xlsx-zip-tuning.ts): a workbook many deflate
 * pieces long, deflated in this thread piece by piece, reads back whole, its CRCs checked.
 */
import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { WorkbookEncoder, ZIP_DEFLATE, type SheetColumn } from '../../src/rest/renderers/xlsx-workbook.js';
import { deflateInThisThread, useNativeZipCrc } from '../../src/rest/renderers/xlsx-zip-tuning.js';

const columns: SheetColumn[] = [
  { name: 'id', valueType: 'integer' },
  { name: 'email', valueType: 'text' },
  { name: 'note', valueType: 'text' },
];
const ROWS = 40_000;

describe('the zip deflated in this thread, in pieces', () => {
  it('writes a workbook of many pieces that reads back row for row', async () => {
    expect(deflateInThisThread(import.meta.url, ZIP_DEFLATE)).toBe(true);
    useNativeZipCrc(import.meta.url);
    const chunks: Buffer[] = [];
    const encoder = new WorkbookEncoder(columns, 'customers', 1_048_576, (chunk) => chunks.push(chunk));
    // Batches of uneven sizes, so that the XML's chunks cross the pieces' edges anywhere.
    for (let id = 1; id <= ROWS; ) {
      const values: unknown[] = [];
      const end = Math.min(ROWS, id + 500 + (id % 7) * 97);
      for (; id <= end; id++) values.push(id, `customer.${id}@example.com`, `note ${'x'.repeat(id % 50)} & <${id}>`);
      await encoder.add(values);
    }
    await encoder.finish();

    const zip = await JSZip.loadAsync(Buffer.concat(chunks), { checkCRC32: true });
    const sheet = await zip.file('xl/worksheets/sheet1.xml')!.async('string');
    // Several MB of XML: many 512 KB pieces, each deflated on its own.
    expect(sheet.length).toBeGreaterThan(8 * 512 * 1024);
    expect(sheet.match(/<row /g)?.length).toBe(ROWS + 1);
    expect(sheet).toContain(`note ${'x'.repeat(ROWS % 50)} &amp; &lt;${ROWS}&gt;`);
    expect(sheet.trimEnd().endsWith('</worksheet>')).toBe(true);
  }, 60_000);
});
