import { isVigilError, type VigilError } from '../../core/index.ts';
import type { Advisory } from './advisory.ts';
import { advisoryError } from './errors.ts';
import {
  decodeUtf8,
  maxJsonLinesBytes,
  maxRecordBytes,
  parseJsonText,
  readInputBytes,
} from './json-input.ts';
import { advisoryFromOsvJson } from './osv.ts';
import { guardParser } from './parser-guard.ts';

/**
 * OSV JSON-lines files (one record a line, the shape of the OSV bulk exports), gzip or not. The file is
 * attacker-controlled: it is bounded as a whole (512 MiB decompressed) and per line (4 MiB), and one bad
 * line costs that line only; its typed error is reported with its line number and reading goes on.
 */

export type OsvLineResult =
  | { line: number; advisory: Advisory; error?: undefined }
  | { line: number; advisory?: undefined; error: VigilError };

const newline = 0x0a;
const carriageReturn = 0x0d;

function isBlank(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== carriageReturn) return false;
  return true;
}

function parseLine(bytes: Uint8Array): Advisory {
  return guardParser(() => {
    if (bytes.length > maxRecordBytes) {
      throw advisoryError('VULNS_ADVISORY_TOO_LARGE', `the line is longer than ${maxRecordBytes} bytes`, {
        facts: { maxBytes: maxRecordBytes },
      });
    }
    return advisoryFromOsvJson(parseJsonText(decodeUtf8(bytes)));
  });
}

/**
 * Reads the records of an OSV JSON-lines file one by one, blank lines skipped. Problems with the file as a
 * whole (not gzip, too large) throw on the first step; a bad line yields its error and reading goes on.
 */
export function* readOsvJsonLines(input: Uint8Array | string): Generator<OsvLineResult, void, undefined> {
  const bytes = guardParser(() =>
    readInputBytes(typeof input === 'string' ? Buffer.from(input, 'utf8') : input, maxJsonLinesBytes),
  );
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0; // RFC 8259 §8.1 byte order mark
  let line = 0;
  while (start < buffer.length) {
    line++;
    const newlineAt = buffer.indexOf(newline, start);
    const end = newlineAt === -1 ? buffer.length : newlineAt;
    const lineBytes = buffer.subarray(start, end);
    start = end + 1;
    if (isBlank(lineBytes)) continue;
    try {
      yield { line, advisory: parseLine(lineBytes) };
    } catch (error) {
      if (!isVigilError(error)) throw error;
      yield { line, error };
    }
  }
}

/** One line's refusal: where, which code, why. */
export interface OsvLineError {
  line: number;
  code: string;
  message: string;
}

export interface OsvJsonLinesReport {
  advisories: Advisory[];
  /** Records read, good and bad (blank lines are not records). */
  recordCount: number;
  /** The first `keptLineErrorLimit` refusals; `omittedErrors` counts the rest. */
  errors: OsvLineError[];
  omittedErrors: number;
}

export const keptLineErrorLimit = 1000;

/** Reads a whole OSV JSON-lines file: its good records, and its bad lines with their typed errors. */
export function parseOsvJsonLines(input: Uint8Array | string): OsvJsonLinesReport {
  const report: OsvJsonLinesReport = { advisories: [], recordCount: 0, errors: [], omittedErrors: 0 };
  for (const result of readOsvJsonLines(input)) {
    report.recordCount++;
    if (result.advisory !== undefined) {
      report.advisories.push(result.advisory);
    } else if (report.errors.length < keptLineErrorLimit) {
      report.errors.push({ line: result.line, code: result.error.code, message: result.error.message });
    } else {
      report.omittedErrors++;
    }
  }
  return report;
}
