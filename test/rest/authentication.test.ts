import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { AuthenticationFailed } from '../../src/rest/exceptions.js';
import { createTokenAuthentication, type AuthUser } from '../../src/rest/authentication.js';

const KEY = '0123456789abcdef0123456789abcdef01234567';
const INACTIVE_KEY = 'ffffffffffffffffffffffffffffffffffffffff';
const alice: AuthUser = { userId: 1, username: 'alice', isActive: true };
const users = new Map<string, AuthUser>([
  [KEY, alice],
  [INACTIVE_KEY, { userId: 2, username: 'bob', isActive: false }],
]);

function setup(keyword?: string) {
  const findByKey = vi.fn(async (key: string) => users.get(key) ?? null);
  return { auth: createTokenAuthentication({ findByKey }, keyword), findByKey };
}

/** The AuthenticationFailed thrown, so status, detail and headers can be asserted at once. */
async function failure(header: string, keyword?: string) {
  const error: unknown = await setup(keyword).auth.authenticate(header).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthenticationFailed);
  const failed = error as AuthenticationFailed;
  return { status: failed.statusCode, body: failed.body(), headers: failed.headers };
}

const failed = (detail: string, keyword = 'Token') => ({
  status: 401,
  body: { detail },
  headers: { 'WWW-Authenticate': keyword },
});

describe('TokenAuthentication: headers that are not ours', () => {
  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['whitespace only', ' \t '],
    ['Bearer with a valid key', `Bearer ${KEY}`],
    ['Basic', 'Basic YWxpY2U6c2VjcmV0'],
    ['the keyword glued to the key', `Token${KEY}`],
    ['a non-breaking space (not whitespace in bytes)', `Token\xa0${KEY}`],
    ['a Latin-1 letter in the scheme', `TÖKEN ${KEY}`],
  ])('returns null (caller answers "not provided") for %s', async (_name, header) => {
    const { auth, findByKey } = setup();
    await expect(auth.authenticate(header)).resolves.toBeNull();
    expect(findByKey).not.toHaveBeenCalled();
  });
});

describe('TokenAuthentication: accepted headers', () => {
  it.each([
    ['Token <key>', `Token ${KEY}`],
    ['token <key> (scheme in any case)', `token ${KEY}`],
    ['TOKEN <key>', `TOKEN ${KEY}`],
    ['Token  <key> (several spaces)', `Token  ${KEY}`],
    ['a tab between', `Token\t${KEY}`],
    ['surrounding whitespace', ` Token ${KEY} `],
  ])('returns the user for %s', async (_name, header) => {
    const { auth, findByKey } = setup();
    await expect(auth.authenticate(header)).resolves.toEqual(alice);
    expect(findByKey).toHaveBeenCalledWith(KEY);
  });
});

describe('TokenAuthentication: 401 answers', () => {
  it('401 {"detail":"Invalid token header. No credentials provided."} for Token alone', async () => {
    expect(await failure('Token')).toEqual(failed('Invalid token header. No credentials provided.'));
    expect(await failure('Token   ')).toEqual(failed('Invalid token header. No credentials provided.'));
  });

  it('401 {"detail":"Invalid token header. Token string should not contain spaces."} for Token a b', async () => {
    expect(await failure('Token a b')).toEqual(failed('Invalid token header. Token string should not contain spaces.'));
    expect(await failure('Token\ta\tb')).toEqual(failed('Invalid token header. Token string should not contain spaces.'));
  });

  it.each([
    ['a lone byte 0xFF', 'Token \xff'],
    ['a truncated sequence C4', 'Token abc\xc4'],
    ['an encoded surrogate ED A0 80', 'Token \xed\xa0\x80'],
    ['an overlong C0 AF', 'Token \xc0\xaf'],
  ])('401 "…should not contain invalid characters." for a key with %s (header bytes as Latin-1)', async (_n, header) => {
    expect(await failure(header)).toEqual(
      failed('Invalid token header. Token string should not contain invalid characters.'),
    );
  });

  it('decodes valid UTF-8 bytes before the lookup: Ä° (C4 B0) is looked up as İ', async () => {
    const { auth, findByKey } = setup();
    await expect(auth.authenticate('Token \xc4\xb0')).rejects.toThrow('Invalid token.');
    expect(findByKey).toHaveBeenCalledWith('İ');
  });

  it('takes text beyond Latin-1 (only possible through inject) as UTF-8', async () => {
    const { auth, findByKey } = setup();
    await expect(auth.authenticate('Token ключ')).rejects.toThrow('Invalid token.');
    expect(findByKey).toHaveBeenCalledWith('ключ');
  });

  it('401 {"detail":"Invalid token."} for an unknown key', async () => {
    expect(await failure(`Token ${'0'.repeat(40)}`)).toEqual(failed('Invalid token.'));
  });

  it('401 {"detail":"User inactive or deleted."} for an inactive user', async () => {
    expect(await failure(`Token ${INACTIVE_KEY}`)).toEqual(failed('User inactive or deleted.'));
  });
});

describe('TokenAuthentication keyword', () => {
  it('answers WWW-Authenticate: Token by default', () => {
    expect(setup().auth.authenticateHeader()).toBe('Token');
  });

  it('uses a custom keyword for matching and for WWW-Authenticate', async () => {
    const { auth } = setup('Bearer');
    expect(auth.authenticateHeader()).toBe('Bearer');
    await expect(auth.authenticate(`bearer ${KEY}`)).resolves.toEqual(alice);
    await expect(auth.authenticate(`Token ${KEY}`)).resolves.toBeNull();
    expect(await failure('Bearer', 'Bearer')).toEqual(failed('Invalid token header. No credentials provided.', 'Bearer'));
  });
});

describe('TokenAuthentication: the usual header read without copies', () => {
  /** What `credentials` gives for a header: the key, null, or the detail it fails with. */
  const outcome = (header: string) => {
    try {
      return { key: setup().auth.credentials(header) };
    } catch (error) {
      return { failed: (error as AuthenticationFailed).body() };
    }
  };

  it('reads any header as the general path does (a leading space always takes that path)', () => {
    const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)) });
    const usual = fc.tuple(fc.constantFrom('Token', 'token', 'TOKEN', 'Bearer', 'T\xd6KEN'), fc.string()).map(([s, t]) => `${s} ${t}`);
    fc.assert(
      fc.property(fc.oneof(latin1, usual, fc.string({ unit: 'binary' })), (header) => {
        expect(outcome(header)).toEqual(outcome(` ${header}`));
      }),
      { numRuns: 3000 },
    );
  });
});
