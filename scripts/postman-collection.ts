/**
 * `npm run docs:postman`: docs/postman-collection.json, generated from the OpenAPI document (built
 * without a database, default configuration) by openapi-to-postmanv2. The collection authorizes
 * with `Authorization: Token {{token}}` and prefixes every URL with `{{baseUrl}}`.
 * test/docs/postman.test.ts regenerates it in memory and fails when the committed file is stale.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { convertV2 } from 'openapi-to-postmanv2';
import { defaultConfig } from '../src/config.js';
import { createCustomerOpenApi } from '../src/customers/customer.openapi.js';
import { runMain } from '../src/lib/run-main.js';

export const COLLECTION_FILE = fileURLToPath(new URL('../docs/postman-collection.json', import.meta.url));

/** Where Postman sends requests until the user changes the variable: the service's default address. */
const BASE_URL = 'http://127.0.0.1:8000';

type Node = Record<string, any>;

/**
 * A value for each parameter and response header, where Postman shows it (parameters start
 * disabled): its default, else its first choice, else its minimum, else empty, which for a filter
 * means "no filter". Without one the converter makes values up at random, and the committed file
 * could never be compared with a fresh one.
 */
function withExampleValues(document: Node): Node {
  const valueOf = (schema: Node) => schema.default ?? schema.enum?.[0] ?? schema.minimum ?? '';
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const object = node as Node;
    if (object.schema && (object.in || object.description !== undefined) && object.example === undefined && !object.content) {
      object.example = valueOf(object.schema);
    }
    for (const child of Object.values(object)) visit(child);
  };
  visit(document.components.parameters);
  visit(document.components.headers);
  for (const item of Object.values(document.paths)) for (const operation of Object.values(item as Node)) {
    for (const response of Object.values((operation as Node).responses as Node)) visit(response.headers);
  }
  for (const response of Object.values(document.components.responses as Node)) visit(response.headers);
  return document;
}

/**
 * Without the random identifiers the converter writes (Postman makes its own on import), and
 * without requests' `auth: null`, so that every request plainly inherits the collection's.
 */
function withoutIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIds);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node)
    .filter(([key, value]) => key !== 'id' && key !== '_postman_id' && !(key === 'auth' && value === null))
    .map(([key, value]) => [key, withoutIds(value)]));
}

export async function buildPostmanCollection(): Promise<string> {
  const document = withExampleValues(structuredClone(await createCustomerOpenApi(defaultConfig())));
  const collection = await new Promise<Node>((resolve, reject) => {
    convertV2(
      { type: 'json', data: document },
      { folderStrategy: 'Tags', requestNameSource: 'Fallback', enableOptionalParameters: false, alwaysInheritAuthentication: true, includeAuthInfoInExample: false, schemaFaker: false, parametersResolution: 'Example' },
      (error, result) => {
        if (error) reject(error);
        else if (!result?.result) reject(new Error(`openapi-to-postmanv2: ${result?.reason ?? 'no result'}`));
        else resolve(result.output![0]!.data as Node);
      },
    );
  });
  collection.auth = {
    type: 'apikey',
    apikey: [
      { key: 'key', value: 'Authorization', type: 'string' },
      { key: 'value', value: 'Token {{token}}', type: 'string' },
      { key: 'in', value: 'header', type: 'string' },
    ],
  };
  collection.variable = [
    { key: 'baseUrl', value: BASE_URL, type: 'string' },
    { key: 'token', value: '', type: 'string', description: 'An API key: `npm run token:create -- NAME` prints one.' },
  ];
  return `${JSON.stringify(withoutIds(collection), null, 2)}\n`;
}

runMain(import.meta.url, async () => {
  await writeFile(COLLECTION_FILE, await buildPostmanCollection());
  process.stdout.write(`wrote ${COLLECTION_FILE}\n`);
  return 0;
});
