import { ledgerError, type LedgerVerifyErrorCode } from './errors.ts';

// RFC 4648 §4 standard alphabet, padded. Buffer.from(text, 'base64') silently skips junk, accepts
// the URL-safe alphabet and missing padding, so attacker-controlled text is checked against this first.
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes standard padded base64 (RFC 4648 §4) and rejects every other spelling, including
 * non-zero trailing bits, so that one byte string has exactly one accepted text form.
 */
export function decodeBase64(text: string, code: LedgerVerifyErrorCode, what: string): Buffer {
  if (!base64Pattern.test(text)) {
    throw ledgerError(code, `${what} is not standard padded base64 (RFC 4648 §4)`);
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) {
    throw ledgerError(code, `${what} is not canonical base64 (non-zero trailing bits)`);
  }
  return bytes;
}

const decimalPattern = /^(?:0|[1-9][0-9]*)$/;

/**
 * Parses an ASCII decimal with no leading zeroes (the form C2SP tlog-checkpoint and tlog-proof require).
 * Values above 2^53-1 are rejected: JavaScript numbers cannot hold them exactly.
 */
export function parseDecimal(text: string, code: LedgerVerifyErrorCode, what: string): number {
  if (text.length > 16 || !decimalPattern.test(text)) {
    throw ledgerError(code, `${what} is not a decimal number without leading zeroes`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw ledgerError(code, `${what} is larger than 2^53-1`);
  }
  return value;
}

/** True when the value is a whole number in [0, 2^53-1]. */
export function isTreeCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * C2SP signed-note §Format: notes contain no ASCII control characters (below U+0020) other than
 * newline. With `allowNewline` false, newline is rejected too (a single line).
 */
export function hasControlCharacter(text: string, allowNewline: boolean): boolean {
  for (let position = 0; position < text.length; position += 1) {
    const code = text.charCodeAt(position);
    if (code < 0x20 && !(allowNewline && code === 0x0a)) return true;
  }
  return false;
}

// A lone UTF-16 surrogate has no UTF-8 encoding; in a /u pattern a proper pair never matches \p{Cs}.
const loneSurrogate = /\p{Cs}/u;

/** True when the string can be encoded as UTF-8 (signed notes MUST be valid UTF-8). */
export function isWellFormedText(text: string): boolean {
  return !loneSurrogate.test(text);
}
