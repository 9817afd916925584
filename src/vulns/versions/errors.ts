import { VigilError } from '../../core/index.ts';

/** The stable codes `vulns/versions` throws; every one is kind 'invalid' (the input is at fault). */
export type VersionErrorCode =
  | 'VULNS_VERSION_INVALID' // a version string its scheme cannot order (malformed, too long, control characters)
  | 'VULNS_VERS_INVALID' // a vers range string breaks the package-url/vers-spec syntax or validation rules
  | 'VULNS_VERS_TYPE_UNSUPPORTED'; // a well-formed vers whose type has no comparator here

/** Long enough to recognise the input in a log, short enough that an attacker cannot fill one. */
const maxQuotedLength = 80;

/** Quotes attacker-controlled text for an error message: JSON-escaped and cut short. */
export function quoteInput(text: string): string {
  const cut = text.length > maxQuotedLength ? `${text.slice(0, maxQuotedLength)}…` : text;
  return JSON.stringify(cut);
}

export function versionError(
  code: VersionErrorCode,
  message: string,
  facts?: Record<string, unknown>,
  cause?: unknown,
): VigilError {
  return new VigilError(code, 'invalid', message, { facts, cause });
}
