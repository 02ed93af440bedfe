/**
 * Typed API errors and the one place that turns them into DRF bodies.
 * Port of `rest_framework/exceptions.py` (APIException and friends) and of
 * `views.exception_handler`: every error body is `{"detail": ...}` except
 * ValidationError, whose body is django-filter's `{field: [messages]}`.
 */

import { HttpError, type ErrorBody } from '../http/errors.js';


/** DRF's APIException: every error a view raises on purpose. */
export class ApiError extends HttpError {}

/** 401 for a request with no usable credentials (DRF: NotAuthenticated). */
export class NotAuthenticated extends ApiError {
  constructor(detail = 'Authentication credentials were not provided.', authenticateHeader = 'Token') {
    super(401, detail, { 'WWW-Authenticate': authenticateHeader });
  }
}

/** 401 for credentials that were sent but are wrong (DRF: AuthenticationFailed). */
export class AuthenticationFailed extends ApiError {
  constructor(detail = 'Incorrect authentication credentials.', authenticateHeader = 'Token') {
    super(401, detail, { 'WWW-Authenticate': authenticateHeader });
  }
}

export class NotFound extends ApiError {
  constructor(detail = 'Not found.') {
    super(404, detail);
  }
}

export class MethodNotAllowed extends ApiError {
  constructor(method: string) {
    super(405, `Method "${method}" not allowed.`);
  }
}

export class NotAcceptable extends ApiError {
  constructor(detail = 'Could not satisfy the request Accept header.') {
    super(406, detail);
  }
}

/**
 * 429 (DRF: Throttled). The wait is rounded up to whole seconds (`math.ceil`) and told with
 * `ngettext`'s singular for exactly 1; `Retry-After` carries it when it is not zero, as
 * `exception_handler` adds the header only for a truthy `exc.wait`.
 */
export class Throttled extends ApiError {
  readonly wait: number | null;
  constructor(wait: number | null = null, detail = 'Request was throttled.') {
    const seconds = wait === null ? null : Math.ceil(wait);
    const extra = seconds === null ? '' : ` Expected available in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`;
    super(429, `${detail}${extra}`, seconds ? { 'Retry-After': String(seconds) } : {});
    this.wait = seconds;
  }
}

/** 400 with django-filter's body: every failing filter at once, in declaration order. */
export class ValidationError extends ApiError {
  readonly errors: Record<string, string[]>;
  constructor(errors: Record<string, string[]>) {
    super(400, 'Invalid input.');
    this.errors = errors;
  }
  override body(): ErrorBody {
    return this.errors;
  }
}

/** 500 whose cause goes to the log, never to the client. */
export class ServerError extends ApiError {
  constructor() {
    super(500, 'A server error occurred.');
  }
}

/** Seconds a client is told to wait after a 503 (Retry-After): about one pool checkout timeout. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * 503 for a request the service cannot serve right now through no fault of the request (DRF:
 * ServiceUnavailable, "Service temporarily unavailable, try again later."), with Retry-After.
 */
export class ServiceUnavailable extends ApiError {
  constructor(detail = 'Service temporarily unavailable, try again later.', retryAfterSeconds = RETRY_AFTER_SECONDS) {
    super(503, detail, { 'Retry-After': String(retryAfterSeconds) });
  }
}
