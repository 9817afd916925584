import { VigilError, type ErrorKind } from '../../core/index.ts';

/** The stable codes that advisory parsing throws. */
export type AdvisoryErrorCode =
  /** Not gzip, not UTF-8, not JSON (kind `invalid`). */
  | 'VULNS_ADVISORY_MALFORMED'
  /** JSON, but breaks a rule of its format: OSV schema 1.x, CSAF 2.0, the KEV catalogue schema (kind `invalid`). */
  | 'VULNS_ADVISORY_INVALID'
  /** Larger than the bound for its kind of input, compressed or not (kind `too_large`). */
  | 'VULNS_ADVISORY_TOO_LARGE'
  /** Neither an OSV record, OSV JSON-lines, CSAF 2.0 nor the KEV catalogue (kind `unsupported_media`). */
  | 'VULNS_FORMAT_UNKNOWN'
  /** Reading input that passed the checks failed inside Vigil: a bug (kind `internal`). */
  | 'VULNS_ADVISORY_PARSER_FAILED';

const kindOfCode: Readonly<Record<AdvisoryErrorCode, ErrorKind>> = {
  VULNS_ADVISORY_MALFORMED: 'invalid',
  VULNS_ADVISORY_INVALID: 'invalid',
  VULNS_ADVISORY_TOO_LARGE: 'too_large',
  VULNS_FORMAT_UNKNOWN: 'unsupported_media',
  VULNS_ADVISORY_PARSER_FAILED: 'internal',
};

/** Long enough to recognise the input in a log, short enough that an attacker cannot fill one. */
const maxQuotedLength = 80;

/** Quotes attacker-controlled text for an error message: JSON-escaped and cut short. */
export function quoteText(text: string): string {
  const cut = text.length > maxQuotedLength ? `${text.slice(0, maxQuotedLength)}…` : text;
  return JSON.stringify(cut);
}

export function advisoryError(
  code: AdvisoryErrorCode,
  message: string,
  options?: { cause?: unknown; facts?: Record<string, unknown> },
): VigilError {
  return new VigilError(code, kindOfCode[code], message, options);
}

/** A rule of the format broken at `path` (an RFC 6901 JSON Pointer into the document). */
export function invalidAdvisory(path: string, message: string, facts?: Record<string, unknown>): VigilError {
  return advisoryError('VULNS_ADVISORY_INVALID', `${path || '/'}: ${message}`, { facts: { ...facts, path } });
}
