/**
 * The zip's CRC-32 by zlib's native crc32 instead of the crc-32 package's JavaScript: archiver
 * (through crc32-stream) checksums every byte it deflates, which took ~1/10 of the export's worker
 * thread; zlib's takes ~1/10 of that. The package's `buf` is replaced on the module instance
 * exceljs's archiver loads, which reads it at each call; where that instance cannot be found the
 * JavaScript one stays, as correct and slower. Each thread has its own modules: this changes the
 * thread it runs in.
 */
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';

interface Crc32Package {
  buf(data: Uint8Array, seed?: number): number;
}

/** exceljs → archiver → zip-stream → compress-commons → crc32-stream, each resolved from the last. */
const CHAIN = ['exceljs', 'archiver', 'zip-stream', 'compress-commons', 'crc32-stream'];

let done = false;

export function useNativeZipCrc(from: string): void {
  if (done) return;
  done = true;
  try {
    let require = createRequire(from);
    for (const name of CHAIN) require = createRequire(require.resolve(`${name}/package.json`));
    const crc = require('crc-32') as Crc32Package;
    // The package's contract: a signed 32-bit result, the seed the previous result.
    crc.buf = (data, seed = 0) => crc32(data, seed >>> 0) | 0;
  } catch {
    // another layout of the dependencies: the JavaScript CRC stays
  }
}
