/**
 * Describes a schema two ways in one line format, so they can be diffed: from
 * Prisma's DMMF (what `prisma migrate diff` would create, with Prisma's
 * default type mapping and constraint names) and from a live database's
 * catalog. One line per table, column, index and foreign key.
 */
import type pg from 'pg';

export interface Dmmf {
  datamodel: {
    models: DmmfModel[];
    enums: Array<{ name: string; dbName?: string | null }>;
    indexes: DmmfIndex[];
  };
}

interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}

interface DmmfField {
  name: string;
  dbName?: string;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  type: string;
  isRequired: boolean;
  isList: boolean;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}

interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  fields: Array<{ name: string; sortOrder?: 'asc' | 'desc' }>;
}

/** The lines Prisma's schema implies for PostgreSQL. */
export function describeSchema(dmmf: Dmmf): string[] {
  const { models, enums, indexes } = dmmf.datamodel;
  const byName = new Map(models.map((model) => [model.name, model]));
  const table = (model: DmmfModel) => model.dbName ?? model.name;
  const column = (model: DmmfModel, fieldName: string) => {
    const field = model.fields.find((candidate) => candidate.name === fieldName)!;
    return field.dbName ?? field.name;
  };
  const lines: string[] = [];
  for (const model of models) {
    const t = table(model);
    lines.push(`${t}: table`);
    for (const field of model.fields.filter((f) => f.kind === 'scalar' || f.kind === 'enum')) {
      const enumName = enums.find((e) => e.name === field.type);
      const type = enumName ? (enumName.dbName ?? enumName.name) : columnType(field);
      lines.push(columnLine(t, field.dbName ?? field.name, type, field.isRequired, schemaDefault(field)));
    }
    for (const field of model.fields.filter((f) => f.kind === 'object' && f.relationFromFields?.length)) {
      const target = byName.get(field.type)!;
      const from = field.relationFromFields!.map((name) => column(model, name));
      const to = field.relationToFields!.map((name) => column(target, name));
      const required = field.relationFromFields!.every((name) => model.fields.find((f) => f.name === name)!.isRequired);
      // Prisma's defaults: Restrict for a required relation, SetNull for an optional one; Cascade on update.
      const onDelete = field.relationOnDelete ?? (required ? 'Restrict' : 'SetNull');
      const onUpdate = field.relationOnUpdate ?? 'Cascade';
      lines.push(foreignKeyLine(t, `${t}_${from.join('_')}_fkey`, from, table(target), to, action(onDelete), action(onUpdate)));
    }
  }
  for (const index of indexes) {
    const model = byName.get(index.model)!;
    const t = table(model);
    const columns = index.fields.map((f) => column(model, f.name) + (f.sortOrder === 'desc' ? ' DESC' : ''));
    const plain = index.fields.map((f) => column(model, f.name));
    const kind = { id: 'primary key', unique: 'unique index', normal: 'index', fulltext: 'fulltext index' }[index.type];
    const suffix = { id: 'pkey', unique: 'key', normal: 'idx', fulltext: 'idx' }[index.type];
    const name = index.dbName ?? (index.type === 'id' ? `${t}_pkey` : `${t}_${plain.join('_')}_${suffix}`);
    lines.push(`${t}: ${kind} ${name} (${columns.join(', ')})`);
  }
  return lines.sort();
}

/** The same lines read from the catalog of the connected database's current schema. */
export async function describeDatabase(pool: pg.Pool): Promise<string[]> {
  const lines: string[] = [];
  const tables = await pool.query<{ t: string }>(`SELECT c.relname AS t FROM pg_class c ${USER_TABLES}`);
  for (const { t } of tables.rows) lines.push(`${t}: table`);

  const columns = await pool.query<{ t: string; c: string; type: string; not_null: boolean; def: string | null }>(
    `SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       ${USER_TABLES} AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  for (const row of columns.rows) lines.push(columnLine(row.t, row.c, row.type, row.not_null, databaseDefault(row.t, row.c, row.def)));

  const indexes = await pool.query<{ t: string; name: string; is_unique: boolean; is_primary: boolean; cols: string[] }>(
    `SELECT c.relname AS t, i.relname AS name, x.indisunique AS is_unique, x.indisprimary AS is_primary,
            ARRAY(SELECT COALESCE(a.attname::text, '<expression>')
                         || CASE WHEN pg_index_column_has_property(x.indexrelid, k.ord::int, 'desc') THEN ' DESC' ELSE '' END
                    FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS cols
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
       ${USER_TABLES}`,
  );
  for (const row of indexes.rows) {
    const kind = row.is_primary ? 'primary key' : row.is_unique ? 'unique index' : 'index';
    lines.push(`${row.t}: ${kind} ${row.name} (${row.cols.join(', ')})`);
  }

  const foreignKeys = await pool.query<{ t: string; name: string; cols: string[]; rt: string; rcols: string[]; del: string; upd: string }>(
    `SELECT c.relname AS t, k.conname AS name, r.relname AS rt, k.confdeltype AS del, k.confupdtype AS upd,
            ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord) AS cols,
            ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord) AS rcols
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
       ${USER_TABLES} AND k.contype = 'f'`,
  );
  const codes: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };
  for (const row of foreignKeys.rows) {
    lines.push(foreignKeyLine(row.t, row.name, row.cols, row.rt, row.rcols, codes[row.del]!, codes[row.upd]!));
  }
  return lines.sort();
}

/** Lines only in the schema (-) or only in the database (+), a changed item's pair side by side. */
export function diffDescriptions(schema: string[], database: string[]): string[] {
  const inDatabase = new Set(database);
  const inSchema = new Set(schema);
  return [
    ...schema.filter((line) => !inDatabase.has(line)).map((line) => ({ line, mark: '- schema.prisma ' })),
    ...database.filter((line) => !inSchema.has(line)).map((line) => ({ line, mark: '+ database      ' })),
  ]
    .sort((a, b) => (a.line === b.line ? 0 : a.line < b.line ? -1 : 1))
    .map(({ line, mark }) => `${mark} ${line}`);
}

const USER_TABLES = `JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'`;

function columnLine(table: string, column: string, type: string, notNull: boolean, def: string | null): string {
  return `${table}: column ${column} ${type}${notNull ? ' NOT NULL' : ''}${def === null ? '' : ` DEFAULT ${def}`}`;
}

function foreignKeyLine(t: string, name: string, cols: string[], rt: string, rcols: string[], del: string, upd: string): string {
  return `${t}: foreign key ${name} (${cols.join(', ')}) REFERENCES ${rt} (${rcols.join(', ')}) ON DELETE ${del} ON UPDATE ${upd}`;
}

function action(prismaAction: string): string {
  const actions: Record<string, string> = { Cascade: 'CASCADE', Restrict: 'RESTRICT', NoAction: 'NO ACTION', SetNull: 'SET NULL', SetDefault: 'SET DEFAULT' };
  return actions[prismaAction] ?? `<unknown ${prismaAction}>`;
}

/** Prisma's PostgreSQL column type, as format_type() spells it. */
function columnType(field: DmmfField): string {
  if (field.isList) throw new Error(`${field.name}: scalar lists are not mapped yet; extend columnType()`);
  const [native, args] = field.nativeType ?? [undefined, []];
  const sized = (base: string) => (args.length ? `${base}(${args.join(',')})` : base);
  const precision = () => {
    if (!args.length) throw new Error(`${field.name}: give @db.${native} an explicit precision; its default is not mapped`);
    return args[0];
  };
  const key = `${field.type}:${native ?? ''}`;
  const types: Record<string, () => string> = {
    'String:': () => 'text',
    'String:Text': () => 'text',
    'String:VarChar': () => sized('character varying'),
    'String:Char': () => sized('character'),
    'String:Uuid': () => 'uuid',
    'Int:': () => 'integer',
    'Int:Integer': () => 'integer',
    'Int:SmallInt': () => 'smallint',
    'BigInt:': () => 'bigint',
    'BigInt:BigInt': () => 'bigint',
    'Boolean:': () => 'boolean',
    'DateTime:': () => 'timestamp(3) without time zone',
    'DateTime:Timestamptz': () => `timestamp(${precision()}) with time zone`,
    'DateTime:Timestamp': () => `timestamp(${precision()}) without time zone`,
    'DateTime:Date': () => 'date',
    'Float:': () => 'double precision',
    'Decimal:': () => 'numeric(65,30)',
    'Json:': () => 'jsonb',
    'Bytes:': () => 'bytea',
  };
  const type = types[key];
  if (!type) throw new Error(`${field.name}: ${field.type} @db.${native} is not mapped yet; extend columnType()`);
  return type();
}

function schemaDefault(field: DmmfField): string | null {
  const value = field.default;
  if (value === undefined) return null;
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const fn = value as { name: string; args: unknown[] };
  if (fn.name === 'autoincrement') return 'autoincrement()';
  if (fn.name === 'now') return 'now()';
  if (fn.name === 'dbgenerated') return String(fn.args[0]);
  return null; // uuid(), cuid(): generated by the client, no database default
}

/** pg_get_expr() output in the schema's spelling: serial sequences, now(), literals without casts. */
function databaseDefault(table: string, column: string, expr: string | null): string | null {
  if (expr === null) return null;
  if (expr === `nextval('${table}_${column}_seq'::regclass)`) return 'autoincrement()';
  if (expr === 'CURRENT_TIMESTAMP' || expr === 'now()') return 'now()';
  const literal = /^('(?:[^']|'')*')::[a-z ]+(?:\(\d+\))?$/.exec(expr);
  if (literal) return literal[1]!;
  const number = /^\(?(-?\d+(?:\.\d+)?)\)?(?:::[a-z ]+)?$/.exec(expr);
  return number ? number[1]! : expr;
}
