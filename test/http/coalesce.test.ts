import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Coalesce } from '../../src/http/coalesce.js';

async function collect(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return chunks;
}

describe('Coalesce', () => {
  it('gathers small chunks written together into few large ones, bytes unchanged', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => Buffer.from(`${i},row ${i}\r\n`));
    const out = await collect(Readable.from(rows).pipe(new Coalesce(4096)));
    expect(Buffer.concat(out).equals(Buffer.concat(rows))).toBe(true);
    expect(out.length).toBeLessThan(rows.length / 50);
  });

  it('releases what it holds when the source pauses, without waiting for more', async () => {
    const gathered = new Coalesce();
    gathered.write(Buffer.from('first row\r\n'));
    const [first] = (await new Promise<Buffer[]>((resolve) => gathered.once('data', (chunk: Buffer) => resolve([chunk]))));
    expect(first!.toString()).toBe('first row\r\n');
    gathered.end();
  });
});
