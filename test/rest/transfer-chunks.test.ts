/** TransferChunks (src/rest/renderers/transfer-chunks.ts): held chunks, given back as one buffer that owns its memory. */
import { describe, expect, it } from 'vitest';
import { TransferChunks } from '../../src/rest/renderers/transfer-chunks.js';

describe('TransferChunks', () => {
  it('gives back every byte held, in order, in one buffer that is all of its own ArrayBuffer', () => {
    const pool = Buffer.alloc(8192, 0x61);
    const held = new TransferChunks();
    held.push(pool.subarray(10, 13));
    held.push(Buffer.from('bc'));
    expect(held.bytes).toBe(5);
    const taken = held.take()!;
    expect(Buffer.from(taken).toString()).toBe('aaabc');
    // Not a view into the 8 KB it came from: transferring it hands over 5 bytes, not the pool.
    expect(taken.buffer.byteLength).toBe(5);
    expect(held.bytes).toBe(0);
    expect(held.take()).toBeNull();
  });
});
