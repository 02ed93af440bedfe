import { describe, expect, it } from 'vitest';
import { expandWildcard } from '../../src/http/accept-encoding.js';

describe('expandWildcard (RFC 9110 §12.5.3)', () => {
  it.each([
    ['*', 'br, gzip'],
    ['gzip;q=0, *', 'gzip;q=0, br'],
    ['br;q=0, *;q=0.3', 'br;q=0, gzip;q=0.3'],
    ['gzip, br, *;q=0.1', 'gzip, br'],
    ['*;q=0', 'br;q=0, gzip;q=0'],
    ['GZIP;q=0 , *', 'GZIP;q=0, br'],
  ])('%j → %j', (header, expanded) => {
    expect(expandWildcard(header, ['br', 'gzip'])).toBe(expanded);
  });
});
