import { describe, expect, it } from 'vitest';
import { isAllowedHost, isValidHost, splitDomainPort } from '../../src/http/host.js';

describe('splitDomainPort (Django split_domain_port)', () => {
  it.each([
    ['example.com', ['example.com', '']],
    ['Example.COM:8000', ['example.com', '8000']],
    ['example.com.', ['example.com', '']],
    ['example.com.:443', ['example.com', '443']],
    ['127.0.0.1:8000', ['127.0.0.1', '8000']],
    ['[::1]', ['[::1]', '']],
    ['[::1]:8000', ['[::1]', '8000']],
    ['[::ffff:127.0.0.1]:80', ['[::ffff:127.0.0.1]', '80']],
  ])('splits %s', (host, expected) => {
    expect(splitDomainPort(host)).toEqual(expected);
  });

  it.each([
    'evil.com>; rel="next", <http://x',
    'user@evil.com',
    'evil.com/x?',
    'evil.com:',
    'evil.com:80:80',
    'evil.com:8o',
    'evil com',
    'évil.com',
    '[::1',
    '[not:ipv6]',
    '',
  ])('refuses %j', (host) => {
    expect(splitDomainPort(host)).toEqual(['', '']);
  });
});

describe('isAllowedHost (Django validate_host)', () => {
  const allowed = ['.example.com', 'api.test', '[::1]'];
  it.each([
    ['example.com', true],
    ['a.example.com', true],
    ['a.b.example.com', true],
    ['badexample.com', false],
    ['example.com.evil', false],
    ['api.test', true],
    ['x.api.test', false],
    ['[::1]', true],
  ])('%s → %s', (domain, expected) => {
    expect(isAllowedHost(domain, allowed)).toBe(expected);
  });

  it('`*` allows any domain; patterns compare case-insensitively', () => {
    expect(isAllowedHost('anything.example', ['*'])).toBe(true);
    expect(isAllowedHost('api.test', ['API.Test'])).toBe(true);
    expect(isAllowedHost('api.test', [])).toBe(false);
  });
});

describe('isValidHost', () => {
  it('needs a well-formed host whose domain is allowed, even with `*`', () => {
    expect(isValidHost('API.example.com.:8443', ['.example.com'])).toBe(true);
    expect(isValidHost('user@example.com', ['*'])).toBe(false);
    expect(isValidHost('other.org', ['.example.com'])).toBe(false);
  });
});
