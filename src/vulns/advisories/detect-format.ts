import type { Advisory, KevCatalogue } from './advisory.ts';
import { csafDocumentFromJson, type CsafDocument } from './csaf.ts';
import { advisoryError } from './errors.ts';
import { isJsonObject, memberOf, type JsonObject } from './json-fields.ts';
import { gunzipPrefix, isGzip, maxRecordBytes, readJsonDocument } from './json-input.ts';
import { parseKevCatalogue } from './kev.ts';
import { advisoryFromOsvJson } from './osv.ts';
import { parseOsvJsonLines, type OsvJsonLinesReport } from './osv-json-lines.ts';
import { guardParser } from './parser-guard.ts';

/**
 * Which advisory format a file holds, from its content (the file name only breaks ties): the first step of
 * `vigil vulns import`. The bytes are attacker-controlled; looking costs at most one bounded
 * decompression of the file's start and, for pretty-printed JSON, one bounded parse.
 */

export type AdvisoryFormat = 'osv-record' | 'osv-jsonl' | 'csaf' | 'kev';

/**
 * Compressed bytes to inflate when peeking at a gzip file (about 450 KiB of the real OSV exports, at most
 * 66 MiB from a bomb), and the most of a plain file to look at.
 */
const peekCompressedBytes = 64 * 1024;
const peekPlainBytes = maxRecordBytes + 1;

const peekDecoder = new TextDecoder('utf-8', { fatal: false });

function looksLikeOsvRecord(value: JsonObject): boolean {
  return (
    typeof memberOf(value, 'id') === 'string' &&
    (memberOf(value, 'modified') !== undefined ||
      memberOf(value, 'affected') !== undefined ||
      memberOf(value, 'schema_version') !== undefined)
  );
}

function classify(value: unknown): AdvisoryFormat | undefined {
  if (!isJsonObject(value)) return undefined;
  const document = memberOf(value, 'document');
  if (isJsonObject(document) && memberOf(document, 'csaf_version') !== undefined) return 'csaf';
  if (memberOf(value, 'catalogVersion') !== undefined && Array.isArray(memberOf(value, 'vulnerabilities')))
    return 'kev';
  if (looksLikeOsvRecord(value)) return 'osv-record';
  return undefined;
}

function hasJsonLinesName(fileName: string): boolean {
  return /\.(jsonl|ndjson)(\.gz)?$/i.test(fileName);
}

function unknownFormat(fileName: string): Error {
  return advisoryError(
    'VULNS_FORMAT_UNKNOWN',
    'the file is neither an OSV record, OSV JSON-lines, CSAF 2.0 nor the KEV catalogue',
    {
      facts: { fileName: fileName.slice(0, 200) },
    },
  );
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Detects the format of an advisory file; throws VULNS_FORMAT_UNKNOWN (or the typed error of a broken file). */
export function detectAdvisoryFormat(bytes: Uint8Array, fileName = ''): AdvisoryFormat {
  return guardParser(() => {
    const gzip = isGzip(bytes);
    const peek = gzip
      ? gunzipPrefix(bytes.subarray(0, peekCompressedBytes))
      : bytes.subarray(0, peekPlainBytes);
    const text = peekDecoder.decode(peek).replace(/^\uFEFF/, '');
    const start = text.search(/\S/);
    if (start === -1 || text[start] !== '{') throw unknownFormat(fileName);
    const newlineAt = text.indexOf('\n', start);
    const firstLine = newlineAt === -1 ? text.slice(start) : text.slice(start, newlineAt);
    const firstValue = tryParse(firstLine);
    const firstFormat = classify(firstValue);
    if (firstFormat === 'osv-record') {
      const restIsBlank = newlineAt === -1 || !/\S/.test(text.slice(newlineAt + 1));
      const wholeFileSeen = gzip ? bytes.length <= peekCompressedBytes : bytes.length < peekPlainBytes;
      return restIsBlank && wholeFileSeen && !hasJsonLinesName(fileName) ? 'osv-record' : 'osv-jsonl';
    }
    if (firstFormat !== undefined) return firstFormat;
    // A first line that is not a whole JSON value: pretty-printed JSON, whose document as a whole tells,
    // or JSON-lines whose first record is longer than the peek, which only the file name can tell.
    if (hasJsonLinesName(fileName)) return 'osv-jsonl';
    const format = classify(readJsonDocument(bytes));
    if (format === undefined) throw unknownFormat(fileName);
    return format;
  });
}

export type AdvisoryFile =
  | { format: 'osv-record'; advisories: Advisory[] }
  | { format: 'osv-jsonl'; advisories: Advisory[]; report: OsvJsonLinesReport }
  | { format: 'csaf'; advisories: Advisory[]; document: CsafDocument }
  | { format: 'kev'; advisories: []; catalogue: KevCatalogue };

/** Detects the format of an advisory file and reads it; throws only VigilError. */
export function parseAdvisoryFile(bytes: Uint8Array, fileName = ''): AdvisoryFile {
  const format = detectAdvisoryFormat(bytes, fileName);
  return guardParser((): AdvisoryFile => {
    switch (format) {
      case 'osv-record':
        return { format, advisories: [advisoryFromOsvJson(readJsonDocument(bytes, maxRecordBytes))] };
      case 'osv-jsonl': {
        const report = parseOsvJsonLines(bytes);
        return { format, advisories: report.advisories, report };
      }
      case 'csaf': {
        const document = csafDocumentFromJson(readJsonDocument(bytes));
        return { format, advisories: document.advisories, document };
      }
      case 'kev':
        return { format, advisories: [], catalogue: parseKevCatalogue(bytes) };
    }
  });
}
