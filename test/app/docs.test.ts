/**
 * The API's description over HTTP: /openapi.json and /openapi.yaml (the document the declaration
 * builds), the /docs page and its assets, all without auth, behind the Host check, with HEAD, the
 * JSON 404 and the page's own CSP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { customerDocument } from '../helpers/openapi.js';
import { DOCS_CSP } from '../../src/plugins/openapi.js';

const HOST = 'docs.example.com';

describe('GET /openapi.json, /openapi.yaml and /docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ config: { ALLOWED_HOSTS: [HOST] } });
  }, 60_000);
  afterAll(async () => t?.close());

  const get = (url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET', host = HOST) => t.app.inject({ method, url, headers: { host } });

  it('serves the document built from the declaration, as JSON and as YAML, without a token', async () => {
    const document = await customerDocument();
    const json = await get('/openapi.json');
    expect([json.statusCode, json.headers['content-type']]).toEqual([200, 'application/json; charset=utf-8']);
    expect(json.json()).toEqual(document);
    const yaml = await get('/openapi.yaml');
    expect([yaml.statusCode, yaml.headers['content-type']]).toEqual([200, 'application/yaml']);
    expect(parseYaml(yaml.body)).toEqual(document);
  });

  it('describes a path the app really routes, for each method it documents', async () => {
    const [path, item] = Object.entries((await customerDocument()).paths)[0]!;
    for (const method of Object.keys(item)) expect(t.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path })).toBe(true);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    for (const url of ['/openapi.json', '/openapi.yaml', '/docs', '/docs/static/swagger-ui-bundle.js']) {
      const [head, full] = [await get(url, 'HEAD'), await get(url)];
      expect([url, head.statusCode, head.body, head.headers['content-length']]).toEqual([url, 200, '', full.headers['content-length']]);
    }
  });

  it('serves the page and its assets from the service itself, under its own CSP', async () => {
    const page = await get('/docs');
    expect([page.statusCode, page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page.headers['content-security-policy']).toBe(DOCS_CSP);
    expect(DOCS_CSP).not.toContain('upgrade-insecure-requests');
    // The app's security headers stay.
    expect(page.headers).toMatchObject({ 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff' });
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-initializer.js', 'swagger-ui.css']) {
      const response = await get(`/docs/static/${asset}`);
      expect([asset, response.statusCode, String(response.headers['content-type']).split(';')[0]])
        .toEqual([asset, 200, asset.endsWith('.css') ? 'text/css' : 'application/javascript']);
    }
  });

  it('answers the app’s JSON 404 for what it does not have', async () => {
    for (const [method, url] of [['GET', '/docs/static/nope.js'], ['POST', '/openapi.json'], ['GET', '/openapi.xml']] as const) {
      const response = await get(url, method);
      expect([method, url, response.statusCode, response.body]).toEqual([method, url, 404, '{"detail":"Not found."}']);
    }
  });

  it('answers only to an allowed Host, like the API', async () => {
    for (const url of ['/openapi.json', '/docs']) {
      const response = await get(url, 'GET', 'elsewhere.example.org');
      expect([url, response.statusCode, response.body]).toEqual([url, 400, '{"detail":"Invalid Host header."}']);
    }
  });
});
