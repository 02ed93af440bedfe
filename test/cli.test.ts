import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../src/cli.js';
import { defaultConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { migrationStatus } from '../src/db/migrate.js';
import { hashKey, createTokenStore } from '../src/auth/token-store.js';
import { demoCustomers } from '../src/customers/demo-data.js';
import { drfTimestampSql } from '../src/lib/timestamp.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let database: TestDatabase;
let db: Database;
beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDatabase(defaultConfig({ DATABASE_URL: database.url, DB_POOL_MAX: 1 }));
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCommand(db, args, (l) => out.push(...l.split('\n')), (l) => err.push(l));
  return { code, out, err };
}

describe('cli', () => {
  it('token:create on a database never migrated brings the schema up first', async () => {
    const fresh = await createTestDatabase();
    const freshDb = await openDatabase(defaultConfig({ DATABASE_URL: fresh.url, DB_POOL_MAX: 1 }));
    try {
      const out: string[] = [];
      expect(await runCommand(freshDb, ['token:create', 'early'], (l) => out.push(l), () => undefined)).toBe(0);
      expect(out.at(-1)).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      await freshDb.close();
      await fresh.drop();
    }
  });

  it('customers:import on a database never migrated migrates first, before it reads the file', async () => {
    const fresh = await createTestDatabase();
    const freshDb = await openDatabase(defaultConfig({ DATABASE_URL: fresh.url, DB_POOL_MAX: 1 }));
    try {
      const missing = join(tmpdir(), `oms-cli-missing-${process.pid}.csv`);
      await expect(runCommand(freshDb, ['customers:import', missing], () => undefined, () => undefined)).rejects.toThrow(/cannot read/);
      expect(await migrationStatus(freshDb.pool)).toEqual({ pending: [] });
    } finally {
      await freshDb.close();
      await fresh.drop();
    }
  });

  it('migrate applies every migration once', async () => {
    const { pending } = await migrationStatus(db.pool);
    expect(pending.length).toBeGreaterThan(0);
    const first = await run('migrate');
    expect(first.code).toBe(0);
    expect(first.out.at(-1)).toMatch(new RegExp(`^applied ${pending.length} migration\\(s\\)`));
    expect((await run('migrate')).out).toEqual(['no pending migrations']);
  });

  it('seed loads the spec example to the microsecond, idempotently, minting the demo token once', async () => {
    const first = await run('seed');
    expect(first.code).toBe(0);
    const token = first.out.at(-1)!;
    expect(token).toMatch(/^[0-9a-f]{40}$/);
    const second = await run('seed');
    expect(second.out[0]).toBe('demo data: 0 customer(s) inserted');
    expect(second.out.at(-1)).toMatch(/already has a token/);

    const { rows } = await db.pool.query(
      `SELECT id, ${drfTimestampSql('created_date')} AS created_date, ${drfTimestampSql('modified_date')} AS modified_date,
              omnitron_id, email, first_name, last_name, phone_number, erp_code, channel_id AS channel
       FROM customer ORDER BY id`,
    );
    expect(rows).toEqual(demoCustomers);
    expect((await createTokenStore(db).findByKey(token))?.username).toBe('demo');
  });

  it('token:create prints a 40-hex key alone on the last line and stores only its SHA-256', async () => {
    const { code, out } = await run('token:create', 'alice');
    expect(code).toBe(0);
    const key = out.at(-1)!;
    expect(key).toMatch(/^[0-9a-f]{40}$/);
    const { rows } = await db.pool.query<{ key_hash: string }>(
      `SELECT t.key_hash FROM api_token t JOIN api_user u ON u.id = t.user_id WHERE u.username = 'alice'`,
    );
    expect(rows).toEqual([{ key_hash: hashKey(key) }]);
    const { rows: leaked } = await db.pool.query(`SELECT 1 FROM api_token WHERE key_hash = $1`, [key]);
    expect(leaked).toEqual([]);
    expect(await createTokenStore(db).findByKey(key)).toMatchObject({ username: 'alice', isActive: true });
  });

  it('user:deactivate makes the token authenticate as an inactive user; token:revoke removes it', async () => {
    const key = (await run('token:create', 'bob')).out.at(-1)!;
    expect((await run('user:deactivate', 'bob')).code).toBe(0);
    expect(await createTokenStore(db).findByKey(key)).toMatchObject({ isActive: false });
    expect((await run('token:revoke', key)).out).toEqual(['token revoked']);
    expect(await createTokenStore(db).findByKey(key)).toBeNull();
    expect((await run('token:revoke', key)).code).toBe(1);
  });

  it('prints usage and exits 2 on unknown commands, missing or extra arguments and unknown options', async () => {
    expect((await run('nope')).code).toBe(2);
    const missing = await run('token:create');
    expect(missing.code).toBe(2);
    expect(missing.err[0]).toMatch(/^missing USERNAME\nusage: npm run token:create -- \[options\] USERNAME\n/);
    expect((await run('token:revoke', 'a', 'b')).err[0]).toMatch(/^unexpected argument: b\nusage: npm run token:revoke /);
    expect((await run('user:deactivate', '--force', 'bob')).err[0]).toMatch(/^Unknown option '--force'/);
  });

  it('--help and -h print the usage of that command and do nothing else', async () => {
    for (const command of ['migrate', 'seed', 'token:create', 'token:revoke', 'user:deactivate', 'user:activate', 'customers:import']) {
      for (const flag of ['--help', '-h']) {
        const { code, out, err } = await run(command, flag);
        expect(code, `${command} ${flag}`).toBe(0);
        expect(out[0]).toMatch(/^usage: npm run [a-z:-]+ -- \[options\]/);
        expect(out.join('\n')).toMatch(/environment \(also read from \.env\):\n {2}DATABASE_URL {2,}PostgreSQL connection URL/);
        expect(err).toEqual([]);
      }
    }
    const { rows } = await db.pool.query(`SELECT 1 FROM api_user WHERE username LIKE '-%'`);
    expect(rows).toEqual([]);
  });
});
