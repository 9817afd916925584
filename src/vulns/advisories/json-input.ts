import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { advisoryError } from './errors.ts';

/**
 * Bytes to JSON for advisory feeds. Feeds and uploads are attacker-controlled: every size is bounded
 * before the work it would cost (a gzip bomb stops at the bound, not at the end of memory), and every
 * failure is a VigilError with a VULNS_ADVISORY_* code.
 */

/** One JSON document: a CSAF advisory, the KEV catalogue, one OSV record. Red Hat's largest CSAF VEX files are a few tens of MiB. */
export const maxDocumentBytes = 64 * 1024 * 1024;

/** A whole OSV JSON-lines file after decompression; the per-ecosystem OSV exports stay far below. */
export const maxJsonLinesBytes = 512 * 1024 * 1024;

/** One line of an OSV JSON-lines file (one record); the largest real record is about 20 KiB. */
export const maxRecordBytes = 4 * 1024 * 1024;

/** Input to the parsers: bytes (gzip or not), JSON text, or a value the caller has already parsed. */
export type JsonInput = Uint8Array | string | object;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 1952 §2.3.1: every gzip member starts with ID1 = 0x1f, ID2 = 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip, refusing output beyond `maxOutputBytes` (checked while inflating, so a bomb stops early). */
export function gunzipBounded(bytes: Uint8Array, maxOutputBytes: number): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxOutputBytes });
  } catch (error) {
    if (error instanceof RangeError) {
      throw advisoryError(
        'VULNS_ADVISORY_TOO_LARGE',
        `the input decompresses to more than ${maxOutputBytes} bytes`,
        {
          cause: error,
          facts: { maxBytes: maxOutputBytes },
        },
      );
    }
    throw advisoryError('VULNS_ADVISORY_MALFORMED', 'the input is not valid gzip', { cause: error });
  }
}

/** Deflate's largest expansion (RFC 1951 §3.2.5: a 258-byte match per bit pair), rounded up. */
const maxDeflateExpansion = 1032;

/**
 * Decompresses as much of a gzip prefix as there is, without complaining that it stops early: enough to
 * look at the first records of a large file. The output bound follows from the prefix length and
 * deflate's largest expansion, so a bomb cannot make it larger.
 */
export function gunzipPrefix(prefix: Uint8Array): Buffer {
  try {
    return gunzipSync(prefix, {
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
      maxOutputLength: prefix.length * maxDeflateExpansion + 1024,
    });
  } catch (error) {
    throw advisoryError('VULNS_ADVISORY_MALFORMED', 'the input is not valid gzip', { cause: error });
  }
}

/** RFC 8259 §8.1: JSON exchanged between systems is UTF-8; a leading byte order mark is ignored. */
export function decodeUtf8(bytes: Uint8Array): string {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (error) {
    throw advisoryError('VULNS_ADVISORY_MALFORMED', 'the input is not UTF-8 text', { cause: error });
  }
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw advisoryError('VULNS_ADVISORY_MALFORMED', `the input is not JSON: ${reason.slice(0, 200)}`, {
      cause: error,
    });
  }
}

function refuseLargerThan(size: number, maxBytes: number): void {
  if (size > maxBytes) {
    throw advisoryError('VULNS_ADVISORY_TOO_LARGE', `the input is larger than ${maxBytes} bytes`, {
      facts: { maxBytes, size },
    });
  }
}

/** The bytes of an input, decompressed when gzip, at most `maxBytes` long either way. */
export function readInputBytes(input: Uint8Array, maxBytes: number): Uint8Array {
  if (isGzip(input)) return gunzipBounded(input, maxBytes);
  refuseLargerThan(input.length, maxBytes);
  return input;
}

/**
 * One JSON document from bytes (gzip or not) or text, at most `maxBytes` long. A value that is neither
 * is taken as JSON the caller already parsed (and bounded).
 */
export function readJsonDocument(input: JsonInput, maxBytes: number = maxDocumentBytes): unknown {
  if (input instanceof Uint8Array) return parseJsonText(decodeUtf8(readInputBytes(input, maxBytes)));
  if (typeof input === 'string') {
    // A UTF-16 code unit is at most three UTF-8 bytes; the exact count only matters near the bound.
    if (input.length * 3 > maxBytes) refuseLargerThan(Buffer.byteLength(input, 'utf8'), maxBytes);
    return parseJsonText(input.startsWith('\uFEFF') ? input.slice(1) : input);
  }
  return input;
}
