/**
 * One error type for the whole platform. Each module owns a set of stable string codes
 * (`MODULE_REASON`); the API edge maps the error's kind to an HTTP status and an RFC 9457
 * problem document once, so no module knows about HTTP.
 */
export type ErrorKind =
  | 'invalid' // the caller sent something malformed or not allowed (400)
  | 'unauthenticated' // no or bad credentials (401)
  | 'forbidden' // credentials fine, permission missing (403)
  | 'not_found' // (404)
  | 'conflict' // the request contradicts current state (409)
  | 'too_large' // (413)
  | 'unsupported_media' // (415)
  | 'unavailable' // a dependency is down (503)
  | 'internal'; // a bug or broken invariant (500)

export class VigilError extends Error {
  override readonly name = 'VigilError';
  readonly code: string;
  readonly kind: ErrorKind;
  /** Extra machine-readable facts for the caller (never secrets). */
  readonly facts: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    kind: ErrorKind,
    message: string,
    options?: { cause?: unknown; facts?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = kind;
    this.facts = options?.facts;
  }
}

export function isVigilError(value: unknown, code?: string): value is VigilError {
  return value instanceof VigilError && (code === undefined || value.code === code);
}

export const httpStatusOfKind: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media: 415,
  unavailable: 503,
  internal: 500,
};
