/**
 * Two changes to how archiver (under exceljs) zips, on the module instances exceljs's archiver
 * loads; where those cannot be found the packages stay as they are, correct and slower. Each thread
 * has its own modules: a change applies to the thread it runs in.
 *
 * - The CRC-32 by zlib's native crc32 instead of the crc-32 package's JavaScript: archiver (through
 *   crc32-stream) checksums every byte it zips, which took ~1/10 of the export's worker thread;
 *   zlib's takes ~1/10 of that. The package's `buf` is replaced; it is read at each call.
 * - The deflate in the calling thread (deflateInThisThread): zlib streams deflate on libuv's
 *   threadpool, shared by the process and at its normal priority, so a full export's heaviest step
 *   ran beside the pages at full weight even though the export's worker thread is niced.
 */
import { createRequire } from 'node:module';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import type { DeflateRaw, ZlibOptions } from 'node:zlib';

interface Crc32Package {
  buf(data: Uint8Array, seed?: number): number;
}

/** crc32-stream's deflating checksummer as compress-commons uses it: a zlib DeflateRaw with a running CRC and sizes. */
interface DeflateCrc32Stream extends DeflateRaw {
  checksum: number;
  rawSize: number;
  /** Input not deflated yet: the piece being filled, and how much of it is (deflateInThisThread). */
  piece?: Buffer;
  pieceBytes?: number;
  _transform(chunk: Buffer, encoding: string, callback: (error?: Error | null) => void): void;
  _flush(callback: (error?: Error | null) => void): void;
}

/** exceljs → archiver → zip-stream → compress-commons → crc32-stream, each resolved from the last. */
const CHAIN = ['exceljs', 'archiver', 'zip-stream', 'compress-commons', 'crc32-stream'];

/** require() as seen from crc32-stream under exceljs, or null for another layout of the dependencies. */
function crc32StreamRequire(from: string): NodeJS.Require | null {
  try {
    let require = createRequire(from);
    for (const name of CHAIN) require = createRequire(require.resolve(`${name}/package.json`));
    return require;
  } catch {
    return null;
  }
}

let nativeCrc = false;

export function useNativeZipCrc(from: string): void {
  if (nativeCrc) return;
  nativeCrc = true;
  try {
    const crc = crc32StreamRequire(from)?.('crc-32') as Crc32Package | undefined;
    // The package's contract: a signed 32-bit result, the seed the previous result.
    if (crc) crc.buf = (data, seed = 0) => crc32(data, seed >>> 0) | 0;
  } catch {
    // the JavaScript CRC stays
  }
}

let syncDeflate = false;

/** Input deflated per synchronous call: each call starts a fresh dictionary, a loss that is negligible at this size. */
const PIECE_BYTES = 512 * 1024;

/**
 * Makes the zip's deflating streams deflate synchronously in the thread that writes to them. zlib's
 * sync functions are one-shot (each closes its compressor), so the input is deflated in pieces of
 * PIECE_BYTES, each ended by a sync flush (byte-aligned, not final: the next piece's blocks simply
 * follow it), and the last piece by the final block. A valid raw deflate stream, as one compressor
 * would write it save for the dictionary restarting at each piece. `options` are the ones the zip
 * is made with (a zlib stream keeps none it could give back). For the export's worker only:
 * the main thread must not spend a workbook's deflate between requests. False where the packages
 * could not be found (they stay as they are).
 *
 * Each chunk is copied into the stream's one piece buffer as it comes, not held until a piece is
 * full and then concatenated: no new buffer per piece, and a chunk is garbage at once, so it dies
 * young instead of outliving scavenges and waiting in the old generation for a full collection.
 */
export function deflateInThisThread(from: string, options: ZlibOptions): boolean {
  if (syncDeflate) return true;
  let prototype: DeflateCrc32Stream | undefined;
  try {
    prototype = (crc32StreamRequire(from)?.('crc32-stream') as { DeflateCRC32Stream?: { prototype: DeflateCrc32Stream } } | undefined)
      ?.DeflateCRC32Stream?.prototype;
  } catch {
    return false;
  }
  if (!prototype) return false;
  syncDeflate = true;
  /** Deflates what the piece holds (sync: the piece is free again on return) and passes it on. */
  const deflate = (stream: DeflateCrc32Stream, finish: boolean): void => {
    const input = stream.piece?.subarray(0, stream.pieceBytes ?? 0) ?? Buffer.alloc(0);
    stream.pieceBytes = 0;
    const out = deflateRawSync(input, { ...options, finishFlush: finish ? constants.Z_FINISH : constants.Z_SYNC_FLUSH });
    // crc32-stream's push() counts the compressed size.
    if (out.length > 0) stream.push(out);
  };
  prototype._transform = function (this: DeflateCrc32Stream, chunk, _encoding, callback) {
    this.checksum = crc32(chunk, this.checksum >>> 0);
    this.rawSize += chunk.length;
    const piece = (this.piece ??= Buffer.allocUnsafe(PIECE_BYTES));
    try {
      for (let from = 0; from < chunk.length; ) {
        const copied = chunk.copy(piece, this.pieceBytes ?? 0, from);
        from += copied;
        this.pieceBytes = (this.pieceBytes ?? 0) + copied;
        if (this.pieceBytes === PIECE_BYTES) deflate(this, false);
      }
    } catch (error) {
      return callback(error as Error);
    }
    callback();
  };
  prototype._flush = function (this: DeflateCrc32Stream, callback) {
    try {
      deflate(this, true);
    } catch (error) {
      return callback(error as Error);
    } finally {
      this.piece = undefined;
    }
    callback();
  };
  return true;
}
