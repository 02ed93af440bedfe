/**
 * An error the service answers on purpose: a status, headers and a `{"detail": …}` body. The
 * guards in this folder throw it before any view runs (as Django answers them below DRF), and
 * DRF's exception family (rest/exceptions.ts) extends it, so the app's one error handler renders both.
 */

export type ErrorBody = Record<string, unknown>;

export class HttpError extends Error {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.headers = headers;
  }
  /** The JSON body DRF would send. */
  body(): ErrorBody {
    return { detail: this.message };
  }
}

/**
 * `{"detail": …}` as DRF's JSONRenderer writes it compactly, for answers given outside any view.
 * The details here are fixed ASCII texts, for which JSON.stringify writes the same bytes.
 */
export const detailJson = (detail: string): string => JSON.stringify({ detail });
