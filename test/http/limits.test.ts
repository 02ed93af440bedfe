import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { checkingInterval, limitConnections, openFilesLimit, serverTimeouts } from '../../src/http/limits.js';

const limits = { HEADERS_TIMEOUT_MS: 10_000, REQUEST_TIMEOUT_MS: 20_000, KEEP_ALIVE_TIMEOUT_MS: 65_000 };

describe('server limits', () => {
  it("passes the timeouts to Node, checking them often enough to fire within a quarter of the shorter one", () => {
    expect(serverTimeouts(limits)).toEqual({
      requestTimeout: 20_000,
      keepAliveTimeout: 65_000,
      http: { headersTimeout: 10_000, requestTimeout: 20_000, keepAliveTimeout: 65_000, connectionsCheckingInterval: 1000, requireHostHeader: false },
    });
    expect(checkingInterval({ ...limits, HEADERS_TIMEOUT_MS: 400, REQUEST_TIMEOUT_MS: 800 })).toBe(100);
  });

  it('reads the soft open-files limit, or null where there is none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'limits-'));
    const file = join(dir, 'limits');
    writeFileSync(file, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n');
    try {
      expect(openFilesLimit(file)).toBe(1024);
      expect(openFilesLimit(join(dir, 'missing'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sets maxConnections, and warns when it leaves too few descriptors under the open-files limit', () => {
    const warnings: unknown[] = [];
    const log = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as FastifyBaseLogger;
    const server = createServer();
    limitConnections(server, 100, log);
    expect(server.maxConnections).toBe(100);
    const files = openFilesLimit();
    if (files === null) return;
    expect(warnings).toEqual([]);
    limitConnections(createServer(), files, log);
    expect(warnings).toHaveLength(1);
  });
});
