import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { demoCustomers } from '../../src/customers/demo-data.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ customers: demoCustomers, config: { TRUST_PROXY: true } });
});
afterAll(async () => t?.close());

describe('GET /list-simple/ behind a trusted proxy (TRUST_PROXY)', () => {
  it('builds next/previous links from X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const res = await t.app.inject({
      url: '/api/v1/oms/customers/list-simple/?limit=2&page=2',
      headers: { authorization: `Token ${t.token}`, host: '10.0.0.5:8000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' },
    });
    const body = res.json() as { next: string; previous: string };
    expect(body.next).toBe('https://api.example.com/api/v1/oms/customers/list-simple/?limit=2&page=3');
    expect(body.previous).toBe('https://api.example.com/api/v1/oms/customers/list-simple/?limit=2');
  });

  it('uses the Host header when no forwarded headers are sent', async () => {
    const res = await t.app.inject({ url: '/api/v1/oms/customers/list-simple/?limit=2', headers: { authorization: `Token ${t.token}`, host: 'oms.internal:8000' } });
    expect((res.json() as { next: string }).next).toBe('http://oms.internal:8000/api/v1/oms/customers/list-simple/?limit=2&page=2');
  });
});
