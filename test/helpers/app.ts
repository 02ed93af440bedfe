/**
 * `createTestApp()`: the real app (`buildApp`) on a private, migrated test
 * database, with customers loaded and tokens for an active and an inactive
 * user. Tests call it through `app.inject` (or supertest on `app.server`).
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { buildApp, type ApiRoutes } from '../../src/app.js';
import { defaultConfig, type Config } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { insertCustomers } from '../../src/customers/seed.js';
import type { DemoCustomer } from '../../src/customers/demo-data.js';
import { createTokenStore } from '../../src/auth/token-store.js';
import { createMigratedTestDatabase, type TestDatabase } from './database.js';

export interface TestApp {
  app: FastifyInstance;
  db: Database;
  database: TestDatabase;
  config: Config;
  token: string;
  inactiveToken: string;
  /** Every log line the app wrote, as text. */
  logs(): string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  customers?: readonly DemoCustomer[];
  config?: Partial<Config>;
  /** The APIs to mount instead of the service's (buildApp's `routes`). */
  routes?: readonly ApiRoutes[];
  /** The URL the app connects to, given its database's (e.g. through a test/helpers/tcp-proxy.ts). */
  connectThrough?: (url: string) => string;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createMigratedTestDatabase();
  const config = defaultConfig({
    DATABASE_URL: options.connectThrough ? options.connectThrough(database.url) : database.url,
    DB_POOL_MAX: database.embedded ? 1 : 4,
    // The embedded database answers in this thread: on a loaded machine, with several files' queries
    // before it, a connection can take longer than the default 5 s. Tests of the timeout set their own.
    ...(database.embedded ? { DB_CONNECT_TIMEOUT_MS: 30_000 } : {}),
    LOG_LEVEL: 'info',
    ...options.config,
  });
  const db = await openDatabase(config);
  const logLines: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(chunk.toString('utf8'));
      callback();
    },
  });
  let app: FastifyInstance | undefined;
  try {
    if (options.customers) await insertCustomers(db.pool, options.customers);
    const tokens = createTokenStore(db);
    const token = await tokens.create('tester');
    const inactiveToken = await tokens.create('retired');
    await tokens.setUserActive('retired', false);
    app = await buildApp(config, { database: db, logStream, ...(options.routes ? { routes: options.routes } : {}) });
    await app.ready();
    const ready = app;
    return {
      app: ready,
      db,
      database,
      config,
      token,
      inactiveToken,
      logs: () => logLines.join(''),
      async close() {
        await ready.close();
        await database.drop();
      },
    };
  } catch (error) {
    if (app) await app.close();
    else await db.close();
    await database.drop();
    throw error;
  }
}

/** The spec example's ten customers followed by 99 generated ones (ids 11–109), as the spec's count of 109 implies. */
export function exampleCustomers(example: readonly DemoCustomer[]): DemoCustomer[] {
  const more: DemoCustomer[] = [];
  for (let id = 11; id <= 109; id++) {
    const second = String(id % 60).padStart(2, '0');
    more.push({
      id,
      created_date: `2022-01-${String((id % 28) + 1).padStart(2, '0')}T10:00:${second}.${String(id * 1000 + 7).padStart(6, '0')}Z`,
      modified_date: `2022-02-${String((id % 28) + 1).padStart(2, '0')}T11:30:${second}Z`,
      omnitron_id: 1000 + id,
      email: `customer${id}@example.com`,
      first_name: `Name${id}`,
      last_name: id % 3 === 0 ? 'Şahin' : 'Test',
      phone_number: id % 5 === 0 ? null : `0555${String(id).padStart(7, '0')}`,
      erp_code: id % 4 === 0 ? `ERP-${id}` : null,
      channel: id % 2 === 0 ? 1 : 2,
    });
  }
  return [...example, ...more];
}

/** Puts the app on a free loopback port, for tests that need a real socket; returns its origin. */
export async function listenOnLoopback(t: TestApp): Promise<string> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}
