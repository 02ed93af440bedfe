/**
 * docs/postman-collection.json: generated from the OpenAPI document (scripts/postman-collection.ts,
 * `npm run docs:postman`), so the committed file must be what a fresh generation gives.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildPostmanCollection, COLLECTION_FILE } from '../../scripts/postman-collection.js';
import { customerDocument } from '../helpers/openapi.js';

type Node = Record<string, any>;

describe('docs/postman-collection.json', () => {
  it('is what `npm run docs:postman` generates now (run it when this fails)', async () => {
    const fresh = await buildPostmanCollection();
    expect(readFileSync(COLLECTION_FILE, 'utf8') === fresh, 'docs/postman-collection.json is stale: run `npm run docs:postman`').toBe(true);
  }, 30_000);

  it('authorizes every request with `Token {{token}}` and sends it to {{baseUrl}}', async () => {
    const collection = JSON.parse(await buildPostmanCollection()) as Node;
    expect(collection.auth).toEqual({
      type: 'apikey',
      apikey: expect.arrayContaining([
        { key: 'key', value: 'Authorization', type: 'string' },
        { key: 'value', value: 'Token {{token}}', type: 'string' },
        { key: 'in', value: 'header', type: 'string' },
      ]),
    });
    expect(collection.variable.map((v: Node) => v.key)).toEqual(['baseUrl', 'token']);
    const requests = collection.item.flatMap((folder: Node) => folder.item.map((item: Node) => item.request));
    for (const request of requests) {
      expect(request.url.host).toEqual(['{{baseUrl}}']);
      // No auth of its own: each inherits the collection's.
      expect(request).not.toHaveProperty('auth');
    }
    // One request per documented operation, with the document's query and header parameters.
    const document = (await customerDocument()) as Node;
    const [path, item] = Object.entries(document.paths as Record<string, Node>)[0]!;
    expect(requests.map((r: Node) => r.method).sort()).toEqual(Object.keys(item).map((m) => m.toUpperCase()).sort());
    const get = requests.find((r: Node) => r.method === 'GET');
    expect(`/${get.url.path.join('/')}`).toBe(path);
    const params = Object.values(document.components.parameters as Record<string, Node>);
    expect(get.url.query.map((q: Node) => q.key)).toEqual(params.filter((p) => p.in === 'query').map((p) => p.name));
    // The header parameters (If-None-Match) as request headers, off until the user turns them on.
    const headers = params.filter((p) => p.in === 'header').map((p) => p.name);
    expect(headers).toEqual(['If-None-Match']);
    expect(get.header.filter((h: Node) => headers.includes(h.key)).map((h: Node) => [h.key, h.disabled])).toEqual(headers.map((h) => [h, true]));
  }, 30_000);
});
