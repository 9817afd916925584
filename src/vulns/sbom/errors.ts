import { VigilError } from '../../core/index.ts';

/**
 * The stable codes SBOM parsing throws. All but `SBOM_PARSER_FAILED` are of kind `invalid`: the
 * document is at fault.
 */
export type SbomErrorCode =
  /** Not UTF-8, not JSON, or nested deeper than any SBOM needs. */
  | 'SBOM_MALFORMED'
  /** JSON, but neither CycloneDX nor SPDX. */
  | 'SBOM_FORMAT_UNKNOWN'
  /** CycloneDX or SPDX, but a specification version this module does not read. */
  | 'SBOM_VERSION_UNSUPPORTED'
  /** Fails its format's JSON schema, or a rule of the specification the schema cannot express. */
  | 'SBOM_INVALID'
  /** Kind `internal`: reading a document the checks accepted failed, which is a bug in Vigil. */
  | 'SBOM_PARSER_FAILED';

/** One reason a document was refused: where in it (RFC 6901 JSON Pointer) and what is wrong. */
export interface SbomViolation {
  instancePath: string;
  message: string;
}

/** At most this many violations are listed in a refusal; `facts.violationCount` says how many there were. */
export const listedViolationLimit = 50;

export function sbomError(
  code: Exclude<SbomErrorCode, 'SBOM_PARSER_FAILED'>,
  message: string,
  options?: { cause?: unknown; facts?: Record<string, unknown> },
): VigilError {
  return new VigilError(code, 'invalid', message, options);
}

/**
 * Refuses a document for its violations. The facts list at most {@link listedViolationLimit} of them
 * (`errors`), how many were found (`violationCount`) and whether the search went on past the first
 * (`searchedAll`: false when the document was too large to look for more than one).
 */
export function invalidSbomError(
  summary: string,
  violations: readonly SbomViolation[],
  options: { searchedAll?: boolean; facts?: Record<string, unknown> } = {},
): VigilError {
  const listed = violations.slice(0, listedViolationLimit);
  const first = listed[0];
  const detail = first === undefined ? '' : `: ${first.instancePath || '/'} ${first.message}`;
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : '';
  return sbomError('SBOM_INVALID', `${summary}${detail}${more}`, {
    facts: {
      ...options.facts,
      errors: listed,
      violationCount: violations.length,
      searchedAll: options.searchedAll ?? true,
    },
  });
}
