/**
 * Chunks gathered into one buffer of their own, to be transferred to another thread rather than
 * copied: a posted Buffer is cloned whole with the memory it is a slice of (zlib's 64 KB chunks,
 * Node's 8 KB pool, a socket's reads). The XLSX export sends the database's CSV to its worker this
 * way (xlsx.ts), and the worker its zip bytes back (xlsx-worker.ts).
 */
export class TransferChunks {
  private held: Uint8Array[] = [];
  /** Bytes held now. */
  bytes = 0;

  push(chunk: Uint8Array): void {
    this.held.push(chunk);
    this.bytes += chunk.length;
  }

  /** Everything held, in one new buffer (its `.buffer` is the whole of it, to transfer); null when nothing is. */
  take(): Uint8Array<ArrayBuffer> | null {
    if (this.bytes === 0) return null;
    const all = new Uint8Array(this.bytes);
    let at = 0;
    for (const part of this.held) {
      all.set(part, at);
      at += part.length;
    }
    this.held = [];
    this.bytes = 0;
    return all;
  }
}
