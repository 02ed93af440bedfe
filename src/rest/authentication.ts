/**
 * Port of DRF `TokenAuthentication` (`authentication.py`): `Authorization: Token <key>`, each
 * malformed header with its own message, `authenticate_header` giving the keyword.
 */
import type { AuthUser, TokenLookup, UserLookup } from '../auth/token-store.js';
import { AuthenticationFailed } from './exceptions.js';

export type { AuthUser } from '../auth/token-store.js';

export interface TokenAuthentication {
  /**
   * The user, or null when the header is absent or uses another scheme (the caller then raises
   * NotAuthenticated). Throws AuthenticationFailed for a header that is ours but wrong.
   */
  authenticate(authorizationHeader: string | undefined): Promise<AuthUser | null>;
  /** The `WWW-Authenticate` value; having one makes DRF answer 401 rather than 403. */
  authenticateHeader(): string;
  /**
   * `authenticate` in two halves, for a caller that looks the key up inside a statement of its own.
   * The first reads the header: the key, or null as `authenticate` gives null; throws as it throws.
   */
  credentials(authorizationHeader: string | undefined): string | null;
  /** The key's lookup as a statement; undefined when the store has none (the caller then uses `authenticate`). */
  lookup(key: string): UserLookup | undefined;
  /** The second half: the looked-up user (null when the key matched none) admitted, or AuthenticationFailed. */
  admit(user: AuthUser | null): AuthUser;
}

// bytes.split() with no separator: runs of ASCII whitespace, ignoring leading and trailing runs.
const ASCII_WHITESPACE = /[ \t\n\r\x0b\x0c]+/;
// A scheme without whitespace, one space, and a token of printable ASCII (no whitespace in it).
const USUAL_HEADER = /^([\x21-\x7e]+) ([\x21-\x7e]+)$/;
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The header's bytes. Node hands header values over as Latin-1 (one char per byte), which is what
 * DRF's `get_authorization_header` gets back with `.encode('iso-8859-1')`. A string with characters
 * beyond U+00FF cannot have come off the wire (only from inject); it is taken as text, in UTF-8.
 */
function headerBytes(header: string): Buffer {
  return Buffer.from(header, /[^\x00-\xff]/.test(header) ? 'utf8' : 'latin1');
}

export function createTokenAuthentication(store: TokenLookup, keyword = 'Token'): TokenAuthentication {
  const fail = (detail: string): never => {
    throw new AuthenticationFailed(detail, keyword);
  };

  const keywordLower = asciiLower(keyword);

  function credentials(authorizationHeader: string | undefined): string | null {
    // The usual header, `<scheme> <token>` with one space and a printable-ASCII token, splits as the
    // general path below would split it, and its token decodes to itself: read it without the copies.
    const usual = authorizationHeader === undefined ? null : USUAL_HEADER.exec(authorizationHeader);
    if (usual) {
      const [, scheme = '', token = ''] = usual;
      return scheme === keyword || asciiLower(scheme) === keywordLower ? token : null;
    }
    const bytes = headerBytes(authorizationHeader ?? '');
    // Splitting the Latin-1 view splits the bytes: every byte is one char, whitespace is ASCII.
    const [scheme, token, ...extra] = bytes.toString('latin1').split(ASCII_WHITESPACE).filter((part) => part !== '');
    // The scheme is compared case-insensitively, as `auth[0].lower() != keyword.lower().encode()`.
    if (scheme === undefined || asciiLower(scheme) !== keywordLower) return null;
    if (token === undefined) return fail('Invalid token header. No credentials provided.');
    if (extra.length > 0) return fail('Invalid token header. Token string should not contain spaces.');

    try {
      return utf8Strict.decode(Buffer.from(token, 'latin1'));
    } catch {
      return fail('Invalid token header. Token string should not contain invalid characters.');
    }
  }

  function admit(user: AuthUser | null): AuthUser {
    if (!user) return fail('Invalid token.');
    if (!user.isActive) return fail('User inactive or deleted.');
    return user;
  }

  async function authenticate(authorizationHeader: string | undefined): Promise<AuthUser | null> {
    const key = credentials(authorizationHeader);
    return key === null ? null : admit(await store.findByKey(key));
  }

  return {
    authenticate,
    authenticateHeader: () => keyword,
    credentials,
    lookup: (key) => store.userByKey?.(key),
    admit,
  };
}

/** Python's `bytes.lower()`: A–Z only, so `TÖKEN` keeps its `Ö`. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}
