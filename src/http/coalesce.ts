/**
 * Small chunks gathered into larger ones before a compressor. A zlib stream pays a thread-pool
 * round trip per write: fed one CSV row (~140 bytes) at a time, as a COPY export's stream
 * delivers them, gzip ran ~50 times slower than on 16 KB chunks. Chunks are held only until
 * `size` bytes are in or the event loop turns (whatever arrived from one socket read goes out
 * together), so a slow source is never delayed, and backpressure passes through unchanged.
 */
import { Transform, type TransformCallback } from 'node:stream';

export const COALESCE_BYTES = 64 * 1024;

export class Coalesce extends Transform {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private flushScheduled = false;

  constructor(private readonly size = COALESCE_BYTES) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= this.size) this.release();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (!this.destroyed) this.release();
      });
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.release();
    done();
  }

  private release(): void {
    if (this.heldBytes === 0) return;
    const out = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    this.push(out);
  }
}
