import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSchema, defaultConfig, parseConfig, seedsDemoData } from '../src/config.js';

describe('config', () => {
  it('has documented defaults when the environment is empty', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ PORT: 8000, HOST: '127.0.0.1', DATABASE_URL: undefined, PAGE_SIZE: 10, MAX_PAGE_SIZE: 1000, TRUST_PROXY: false, CORS_ORIGINS: [] });
  });

  it('parses typed values', () => {
    const config = parseConfig({ PORT: '9000', TRUST_PROXY: '10.0.0.1, 10.0.0.2', CORS_ORIGINS: 'https://a.example,https://b.example', SEED_DEMO_DATA: 'false', DATABASE_URL: 'postgresql://u@h/db' });
    expect(config.PORT).toBe(9000);
    expect(config.TRUST_PROXY).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(config.CORS_ORIGINS).toEqual(['https://a.example', 'https://b.example']);
    expect(config.SEED_DEMO_DATA).toBe(false);
    expect(config.DATABASE_URL).toBe('postgresql://u@h/db');
    expect(parseConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(parseConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(parseConfig({}).ALLOWED_HOSTS).toEqual(['*']);
    expect(parseConfig({ ALLOWED_HOSTS: '.example.com, api.test' }).ALLOWED_HOSTS).toEqual(['.example.com', 'api.test']);
  });

  it.each([
    [{ PORT: 'abc' }, /^Invalid configuration: PORT must be a whole number \(got "abc"\)$/],
    [{ PORT: '70000' }, /^Invalid configuration: PORT must be at most 65535/],
    [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL /],
    [{ DATABASE_URL: 'mysql://x' }, /^Invalid configuration: DATABASE_URL must be a postgres/],
    [{ PAGE_SIZE: '2000' }, /^Invalid configuration: PAGE_SIZE must not exceed MAX_PAGE_SIZE \(1000\)/],
    [{ SEED_DEMO_DATA: 'maybe' }, /^Invalid configuration: SEED_DEMO_DATA must be true or false/],
    [{ HEADERS_TIMEOUT_MS: '30000' }, /^Invalid configuration: HEADERS_TIMEOUT_MS must not exceed REQUEST_TIMEOUT_MS \(20000\)/],
    [{ MAX_CONNECTIONS: '0' }, /^Invalid configuration: MAX_CONNECTIONS must be at least 1/],
    [{ THROTTLE_RATE: '100/week' }, /^Invalid configuration: THROTTLE_RATE must look like 100\/second, 1000\/minute, 50\/hour or 5000\/day \(got "100\/week"\)$/],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, /^Invalid configuration: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ EXPORT_CONCURRENCY: '0' }, /^Invalid configuration: EXPORT_CONCURRENCY must be at least 1/],
  ])('rejects %o with one clear line naming the variable', (env, message) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });

  it('reads THROTTLE_RATE as DRF does; unset means no throttling', () => {
    expect(parseConfig({ THROTTLE_RATE: '1000/minute' }).THROTTLE_RATE).toEqual({ numRequests: 1000, durationSeconds: 60 });
    expect(parseConfig({}).THROTTLE_RATE).toBeUndefined();
  });

  it('reports every bad variable, one line each', () => {
    try {
      parseConfig({ PORT: 'x', MAX_PAGE_SIZE: '0' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message.split('\n')).toHaveLength(2);
    }
  });

  it('reads DATABASE_REPLICA_URLS as a list of postgres URLs beside DATABASE_URL only', () => {
    const primary = 'postgresql://u@primary:5432/oms';
    const urls = 'postgresql://u@r1:5432/oms, postgres://u@r2/oms';
    expect(parseConfig({ DATABASE_URL: primary, DATABASE_REPLICA_URLS: urls }).DATABASE_REPLICA_URLS).toEqual([
      'postgresql://u@r1:5432/oms',
      'postgres://u@r2/oms',
    ]);
    expect(parseConfig({ DATABASE_URL: primary }).DATABASE_REPLICA_URLS).toEqual([]);
    expect(() => parseConfig({ DATABASE_URL: primary, DATABASE_REPLICA_URLS: 'postgresql://u@r1/oms,mysql://x' })).toThrow(
      /^Invalid configuration: DATABASE_REPLICA_URLS must be a comma list of postgres:\/\/ or postgresql:\/\/ URLs/,
    );
    expect(() => parseConfig({ DATABASE_REPLICA_URLS: 'postgresql://u@r1/oms' })).toThrow(/^Invalid configuration: DATABASE_REPLICA_URLS needs DATABASE_URL/);
  });

  it('reads DIRECT_DATABASE_URL beside DATABASE_URL only', () => {
    const pooler = 'postgresql://u@pgbouncer:6432/db';
    const direct = 'postgresql://u@db:5432/db';
    expect(parseConfig({ DATABASE_URL: pooler, DIRECT_DATABASE_URL: direct }).DIRECT_DATABASE_URL).toBe(direct);
    expect(parseConfig({ DATABASE_URL: pooler, DIRECT_DATABASE_URL: '' }).DIRECT_DATABASE_URL).toBeUndefined();
    expect(() => parseConfig({ DATABASE_URL: pooler, DIRECT_DATABASE_URL: 'mysql://x' })).toThrow(
      /^Invalid configuration: DIRECT_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL \(got "mysql:\/\/x"\)$/,
    );
    expect(() => parseConfig({ DIRECT_DATABASE_URL: direct })).toThrow(/^Invalid configuration: DIRECT_DATABASE_URL needs DATABASE_URL/);
  });

  it('seeds demo data by default on the embedded database only; an explicit SEED_DEMO_DATA wins', () => {
    const server = 'postgresql://u@h/db';
    expect(seedsDemoData(parseConfig({}))).toBe(true);
    expect(seedsDemoData(parseConfig({ DATABASE_URL: server }))).toBe(false);
    expect(seedsDemoData(parseConfig({ DATABASE_URL: server, SEED_DEMO_DATA: 'true' }))).toBe(true);
    expect(seedsDemoData(parseConfig({ SEED_DEMO_DATA: 'false' }))).toBe(false);
    expect(seedsDemoData(parseConfig({ DATABASE_URL: server, SEED_DEMO_DATA: '' }))).toBe(false);
  });

  it('.env.example documents every variable with its description and default', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const defaults = defaultConfig();
    for (const [key, schema] of Object.entries(ConfigSchema.shape)) {
      expect(example, key).toContain(`# ${schema.description}\n`);
      const value = defaults[key as keyof typeof defaults];
      const shown = value === undefined ? '' : Array.isArray(value) ? value.join(',') : String(value);
      expect(example, key).toMatch(new RegExp(`^${key}=${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    }
  });
});
