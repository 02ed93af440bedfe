/**
 * Host header validation: port of Django 3.2's `django/http/request.py`
 * (`host_validation_re`, `split_domain_port`, `validate_host`) and
 * `django/utils/http.py` `is_same_domain`. A Host (or a trusted proxy's
 * X-Forwarded-Host) is a domain name or a bracketed IPv6 literal with an
 * optional port, nothing else, and must match ALLOWED_HOSTS; only such a
 * host is ever written into a link.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The Host this request was validated with; empty until `createHostCheck` has run. */
    validatedHost: string;
  }
}

// Django's pattern, with `[0-9]` for `\d` (Python's matches other scripts' digits; a header cannot hold them anyway)
// and `$` without Python's "or before a final newline" (Node refuses a newline in a header value).
const HOST_PATTERN = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$/;

/** `split_domain_port`: `[domain, port]` lower-cased, one trailing dot dropped; `['', '']` when the host is malformed. */
export function splitDomainPort(host: string): [string, string] {
  const lower = host.toLowerCase();
  if (!HOST_PATTERN.test(lower)) return ['', ''];
  // An IPv6 literal without a port.
  if (lower.endsWith(']')) return [lower, ''];
  const colon = lower.lastIndexOf(':');
  const [domain, port] = colon === -1 ? [lower, ''] : [lower.slice(0, colon), lower.slice(colon + 1)];
  return [domain.endsWith('.') ? domain.slice(0, -1) : domain, port];
}

/** `validate_host`: `*` matches anything, `.example.com` that domain and its subdomains, anything else exactly. */
export function isAllowedHost(domain: string, allowedHosts: readonly string[]): boolean {
  return allowedHosts.some((raw) => {
    const pattern = raw.toLowerCase();
    if (pattern === '*') return true;
    if (pattern.startsWith('.')) return domain.endsWith(pattern) || domain === pattern.slice(1);
    return pattern === domain;
  });
}

/** The whole check of `get_host`: a well-formed host whose domain is allowed. */
export function isValidHost(host: string, allowedHosts: readonly string[]): boolean {
  const [domain] = splitDomainPort(host);
  return domain !== '' && isAllowedHost(domain, allowedHosts);
}

/** 400 for a Host that is malformed or not allowed (Django answers an HTML 400 page; ours is DRF's body shape). */
export class InvalidHost extends HttpError {
  constructor() {
    super(400, 'Invalid Host header.');
  }
}

/**
 * An onRequest hook that validates the request's host (`request.host`: the Host header, or X-Forwarded-Host from
 * a trusted proxy) and keeps it as `request.validatedHost`. A request without one (HTTP/1.0 may omit Host) is
 * given the address it arrived on, as Django rebuilds one from SERVER_NAME and SERVER_PORT (PEP 333), checked
 * the same way; HTTP/1.1 requires a Host (RFC 9112 §3.2), so there its absence is a 400.
 */
export function createHostCheck(allowedHosts: readonly string[]) {
  // Takes `done` rather than being async: every request runs it, and a promise each is work for nothing.
  return function checkHost(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    let host = request.host;
    if (host === '' && request.raw.httpVersion === '1.0') host = localAuthority(request);
    if (!isValidHost(host, allowedHosts)) return done(new InvalidHost());
    request.validatedHost = host;
    done();
  };
}

/** The socket's own address as a host, IPv6 bracketed. */
function localAuthority(request: FastifyRequest): string {
  const { localAddress, localPort } = request.raw.socket;
  if (!localAddress) return '';
  const address = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
  return localPort ? `${address}:${localPort}` : address;
}

/** The host links may be built from; throws if the request never went through the check. */
export function linkHost(request: FastifyRequest): string {
  if (!request.validatedHost) throw new InvalidHost();
  return request.validatedHost;
}
