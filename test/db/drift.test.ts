/**
 * Drift check: prisma/schema.prisma, read by Prisma's own parser, must describe
 * exactly the database that prisma/migrations builds (tables, columns, types,
 * nullability, defaults, indexes, foreign keys). Triggers, CHECK constraints
 * and functions are outside Prisma's schema language and are not compared.
 * The API declaration (src/customers/customer.resource.ts) must agree with the
 * migrated columns too: its maxLength, nullable and integer bounds are what
 * OPTIONS promises, and its cell types are how renderers write each column.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerResource } from '../../src/customers/customer.resource.js';
import { createMigratedTestDatabase, createTestPool, type TestDatabase } from '../helpers/database.js';
import { describeDatabase, describeSchema, diffDescriptions } from './support/catalog.js';
import { declarationDrift, describeColumns } from './support/declaration-drift.js';
import { getDmmf } from './support/prisma-schema.js';

let database: TestDatabase;
let pool: pg.Pool;
let schema: string;
let migrated: string[];

beforeAll(async () => {
  schema = await readFile(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');
  database = await createMigratedTestDatabase();
  pool = createTestPool(database);
  migrated = await describeDatabase(pool);
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});

function driftFrom(schemaText: string): string[] {
  return diffDescriptions(describeSchema(getDmmf(schemaText)), migrated);
}

describe('prisma/schema.prisma and prisma/migrations', () => {
  it('describe the same tables, columns, types, defaults, indexes and foreign keys', () => {
    expect(driftFrom(schema), 'only in schema.prisma (-) / only in the migrated database (+)').toEqual([]);
  });

  it('describe what the service relies on', () => {
    expect(migrated).toEqual(
      expect.arrayContaining([
        'customer: column created_date timestamp(6) with time zone NOT NULL DEFAULT now()',
        'customer: column email character varying(254) NOT NULL',
        "customer: column first_name character varying(255) NOT NULL DEFAULT ''",
        'customer: column id integer NOT NULL DEFAULT autoincrement()',
        'customer: index customer_modified_date_id_idx (modified_date, id)',
        'customer: foreign key customer_channel_id_fkey (channel_id) REFERENCES channel (id) ON DELETE SET NULL ON UPDATE CASCADE',
        'api_token: column key_hash character(64) NOT NULL',
        'api_token: unique index api_token_key_hash_key (key_hash)',
        'customer_count: column n bigint NOT NULL',
      ]),
    );
  });
});

describe('the drift check', () => {
  const edits: Array<[string, (text: string) => string, string]> = [
    ['a varchar length', (s) => s.replace('@db.VarChar(254)', '@db.VarChar(200)'), '- schema.prisma  customer: column email character varying(200) NOT NULL'],
    ['a timestamp precision', (s) => s.replace('@map("created_date") @db.Timestamptz(6)', '@map("created_date") @db.Timestamptz(3)'), '+ database       customer: column created_date timestamp(6) with time zone NOT NULL DEFAULT now()'],
    ['nullability', (s) => s.replace('phoneNumber  String? ', 'phoneNumber  String  '), '+ database       customer: column phone_number character varying(128)'],
    ['a default', (s) => s.replace('firstName    String   @default("")', 'firstName    String   @default("?")'), "- schema.prisma  customer: column first_name character varying(255) NOT NULL DEFAULT '?'"],
    ['a missing index', (s) => s.replace('  @@index([erpCode, id])\n', ''), '+ database       customer: index customer_erp_code_id_idx (erp_code, id)'],
    ['index column order', (s) => s.replace('@@index([email, id])', '@@index([id, email])'), '- schema.prisma  customer: index customer_id_email_idx (id, email)'],
    ['uniqueness', (s) => s.replace('username   String     @unique', 'username   String    '), '+ database       api_user: unique index api_user_username_key (username)'],
    ['a referential action', (s) => s.replace('onDelete: SetNull', 'onDelete: Cascade'), '- schema.prisma  customer: foreign key customer_channel_id_fkey (channel_id) REFERENCES channel (id) ON DELETE CASCADE ON UPDATE CASCADE'],
    ['a new column', (s) => s.replace('  erpCode ', '  vatNumber String? @map("vat_number")\n  erpCode '), '- schema.prisma  customer: column vat_number text'],
    ['a table name', (s) => s.replace('@@map("channel")', '@@map("channels")'), '- schema.prisma  channels: table'],
  ];

  it("surfaces Prisma's validation error for an invalid schema", () => {
    expect(() => getDmmf(schema.replace('@db.VarChar(254)', '@db.VarChar(-1)'))).toThrow(/^P1012: .*VarChar/s);
  });

  it.each(edits)('reports %s', (_what, edit, expectedLine) => {
    const edited = edit(schema);
    expect(edited).not.toBe(schema);
    expect(driftFrom(edited)).toContain(expectedLine);
  });
});

describe('the list-simple declaration and the migrated customer table', () => {
  it("agree on every field's column, cell type, maxLength, nullable and integer bounds", async () => {
    const columns = await describeColumns(pool, customerResource.table);
    expect(declarationDrift(customerResource.table, customerResource.fields, columns)).toEqual([]);
  });

  it('are reported when they disagree', async () => {
    const columns = await describeColumns(pool, customerResource.table);
    const edited = customerResource.fields.map((field) => {
      if (field.name === 'id') return { ...field, minValue: 1, maxValue: 2 ** 31 };
      if (field.name === 'created_date') return { ...field, valueType: 'text' as const };
      if (field.name === 'omnitron_id') return { ...field, minValue: -(2 ** 31) - 1 };
      if (field.name === 'email') return { ...field, maxLength: 255 };
      if (field.name === 'first_name') return { ...field, maxValue: 10 };
      if (field.name === 'erp_code') return { ...field, nullable: false };
      if (field.name === 'channel') return { ...field, column: 'channel' };
      return field;
    });
    expect(declarationDrift(customerResource.table, edited, columns)).toEqual([
      'id: maxValue 2147483648 does not fit column customer.id integer (-2147483648 to 2147483647)',
      'created_date: text cells, column customer.created_date is timestamp with time zone',
      'omnitron_id: minValue -2147483649 does not fit column customer.omnitron_id integer (-2147483648 to 2147483647)',
      'email: maxLength 255, column customer.email holds 254',
      'first_name: integer bounds on column customer.first_name, which is character varying',
      'erp_code: nullable false, column customer.erp_code is NULL',
      'channel: no column customer.channel',
    ]);
  });
});
