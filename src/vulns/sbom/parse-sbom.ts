import { Tokenizer, TokenParser, TokenType } from '@streamparser/json';
import { isUtf8 } from 'node:buffer';
import { isVigilError, VigilError } from '../../core/index.ts';
import { normaliseCycloneDx } from './cyclonedx.ts';
import { invalidSbomError, sbomError } from './errors.ts';
import type { ParsedSbom, SbomSpecVersion } from './parsed-sbom.ts';
import { checkAgainstSchema, type SbomSchemaName } from './schema-validation.ts';
import { normaliseSpdx } from './spdx.ts';

const cycloneDxSchemas: ReadonlyMap<string, { specVersion: SbomSpecVersion; schema: SbomSchemaName }> =
  new Map([
    ['1.2', { specVersion: '1.2', schema: 'CycloneDX 1.2' }],
    ['1.3', { specVersion: '1.3', schema: 'CycloneDX 1.3' }],
    ['1.4', { specVersion: '1.4', schema: 'CycloneDX 1.4' }],
    ['1.5', { specVersion: '1.5', schema: 'CycloneDX 1.5' }],
    ['1.6', { specVersion: '1.6', schema: 'CycloneDX 1.6' }],
  ]);
const spdxVersion = 'SPDX-2.3';

/**
 * JSON nested deeper than this is refused as soon as the parser reaches it (the schema validator
 * recurses once per nested component). Real SBOMs stay far below: each level of CycloneDX component
 * nesting costs two.
 */
export const maxNestingDepth = 128;

type DetectedFormat =
  | { format: 'CycloneDX'; specVersion: SbomSpecVersion; schema: SbomSchemaName }
  | { format: 'SPDX'; specVersion: '2.3'; schema: 'SPDX 2.3' };

/**
 * An SBOM read as its bytes arrive: each chunk is decoded (UTF-8, strictly) and parsed into the
 * document at once, so an upload is never held as one string and the event loop is never blocked
 * for the whole document at a time; nesting beyond {@link maxNestingDepth} is refused the moment it
 * appears. `end` checks the document against its schema and normalises it. Only throws
 * `VigilError` (see {@link parseSbom}).
 */
export class SbomStreamReader {
  // Strings and numbers gather in byte buffers, not by string concatenation (measured faster).
  private readonly tokenizer = new Tokenizer({ stringBufferSize: 64 * 1024, numberBufferSize: 64 });
  private readonly parser = new TokenParser({ paths: ['$'] });
  private depth = 0;
  /** Bytes (or characters, for text) read so far. */
  private length = 0;
  /** The start of a UTF-8 sequence that the next chunk completes. */
  private split: Uint8Array | undefined;
  private document: unknown = undefined;

  constructor() {
    this.tokenizer.onToken = (token) => {
      if (token.token === TokenType.LEFT_BRACE || token.token === TokenType.LEFT_BRACKET) {
        if (++this.depth > maxNestingDepth) {
          throw sbomError('SBOM_MALFORMED', `the SBOM nests JSON deeper than ${maxNestingDepth} levels`);
        }
      } else if (token.token === TokenType.RIGHT_BRACE || token.token === TokenType.RIGHT_BRACKET) {
        this.depth--;
      }
      this.parser.write(token);
    };
    // Either ending ends the other: text after the document, or a document cut short, is refused.
    this.tokenizer.onEnd = () => {
      if (!this.parser.isEnded) this.parser.end();
    };
    this.parser.onEnd = () => {
      if (!this.tokenizer.isEnded) this.tokenizer.end();
    };
    this.parser.onValue = ({ value }) => {
      this.document = value;
    };
    const refuse = (error: Error) => {
      throw isVigilError(error) ? error : notJson(error);
    };
    this.tokenizer.onError = refuse;
    this.parser.onError = refuse;
  }

  /**
   * Reads the next chunk of the document: bytes (UTF-8, checked strictly; a character may be split
   * between chunks) or text. The tokenizer reads UTF-8 itself and skips a leading byte order mark
   * (RFC 8259 §8.1).
   */
  write(chunk: Uint8Array | string): void {
    guard(() => {
      if (typeof chunk === 'string') {
        this.length += chunk.length;
        if (chunk.length > 0) this.tokenizer.write(chunk);
        return;
      }
      const bytes = this.split === undefined ? chunk : Buffer.concat([this.split, chunk]);
      const complete = completeUtf8Length(bytes);
      const whole = bytes.subarray(0, complete);
      if (!isUtf8(whole)) throw sbomError('SBOM_MALFORMED', 'the SBOM is not UTF-8 text');
      this.split = complete < bytes.length ? bytes.slice(complete) : undefined;
      this.length += whole.length;
      if (whole.length > 0) this.tokenizer.write(whole);
    });
  }

  /** The document is complete: checks it against its schema and returns it normalised. */
  end(): ParsedSbom {
    return guard(() => {
      if (this.split !== undefined) throw sbomError('SBOM_MALFORMED', 'the SBOM is not UTF-8 text');
      if (!this.tokenizer.isEnded) this.tokenizer.end();
      if (this.document === undefined) throw notJson(new Error('the document is empty'));
      const detected = detectFormat(this.document);
      const check = checkAgainstSchema(detected.schema, this.document, this.length);
      if (!check.valid) {
        throw invalidSbomError(`not a valid ${detected.schema} document`, check.violations, {
          searchedAll: check.searchedAll,
          facts: { format: detected.format, specVersion: detected.specVersion },
        });
      }
      // The casts stand on the schema check just passed.
      return detected.format === 'CycloneDX'
        ? normaliseCycloneDx(this.document as Parameters<typeof normaliseCycloneDx>[0], detected.specVersion)
        : normaliseSpdx(this.document as Parameters<typeof normaliseSpdx>[0]);
    });
  }
}

/**
 * Reads an SBOM: CycloneDX JSON 1.2–1.6 or SPDX 2.3 JSON, checked against its version's JSON schema,
 * into one {@link ParsedSbom}. SBOMs come from suppliers' build pipelines and from uploads: the bytes
 * are attacker-controlled. Whatever they hold, this only throws `VigilError`: `SBOM_MALFORMED`,
 * `SBOM_FORMAT_UNKNOWN`, `SBOM_VERSION_UNSUPPORTED` or `SBOM_INVALID` (listing the violations in
 * `facts.errors`), and `SBOM_PARSER_FAILED` (kind `internal`) should Vigil itself fail.
 * Linear in the size of the document; each schema is compiled once, at its first document.
 */
export function parseSbom(input: Uint8Array | string): ParsedSbom {
  const reader = new SbomStreamReader();
  reader.write(input);
  return reader.end();
}

/** {@link parseSbom} over a stream of chunks (an upload, a file), parsed as they arrive. */
export async function readSbomStream(chunks: AsyncIterable<Uint8Array | string>): Promise<ParsedSbom> {
  const reader = new SbomStreamReader();
  for await (const chunk of chunks) reader.write(chunk);
  return reader.end();
}

/**
 * How many of `bytes` form whole UTF-8 sequences: all of them, unless they end in the lead byte
 * and some continuation bytes of a sequence that is longer (RFC 3629 §3).
 */
function completeUtf8Length(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const sequence = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return sequence > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

function notJson(error: Error): VigilError {
  return sbomError('SBOM_MALFORMED', `the SBOM is not JSON: ${error.message}`, { cause: error });
}

function guard<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (isVigilError(error)) throw error;
    throw new VigilError('SBOM_PARSER_FAILED', 'internal', 'reading the SBOM failed inside Vigil', {
      cause: error,
    });
  }
}

/**
 * CycloneDX 1.2+ names itself with `bomFormat: "CycloneDX"` and `specVersion`; SPDX 2.x JSON with
 * `spdxVersion: "SPDX-2.x"` (SPDX 2.3 §6.1); SPDX 3 is JSON-LD with an spdx.org `@context`.
 */
function detectFormat(document: unknown): DetectedFormat {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw sbomError('SBOM_FORMAT_UNKNOWN', 'the SBOM is not a JSON object, so neither CycloneDX nor SPDX');
  }
  const fields = document as Record<string, unknown>;
  if (fields.bomFormat === 'CycloneDX') {
    const specVersion = fields.specVersion;
    if (typeof specVersion !== 'string') {
      throw invalidSbomError('a CycloneDX document must name its specVersion', [
        { instancePath: '/specVersion', message: 'must be a string such as "1.6"' },
      ]);
    }
    const supported = cycloneDxSchemas.get(specVersion);
    if (supported === undefined) {
      throw sbomError(
        'SBOM_VERSION_UNSUPPORTED',
        `CycloneDX ${JSON.stringify(specVersion.slice(0, 40))} is not read; CycloneDX ${[...cycloneDxSchemas.keys()].join(', ')} are`,
        { facts: { format: 'CycloneDX', specVersion: specVersion.slice(0, 40) } },
      );
    }
    return { format: 'CycloneDX', ...supported };
  }
  if (typeof fields.spdxVersion === 'string' && fields.spdxVersion.startsWith('SPDX-')) {
    if (fields.spdxVersion !== spdxVersion) {
      throw sbomError(
        'SBOM_VERSION_UNSUPPORTED',
        `${JSON.stringify(fields.spdxVersion.slice(0, 40))} is not read; SPDX 2.3 is`,
        { facts: { format: 'SPDX', specVersion: fields.spdxVersion.slice(0, 40) } },
      );
    }
    return { format: 'SPDX', specVersion: '2.3', schema: 'SPDX 2.3' };
  }
  if (isSpdx3Context(fields['@context'])) {
    throw sbomError('SBOM_VERSION_UNSUPPORTED', 'SPDX 3 (JSON-LD) is not read; SPDX 2.3 is', {
      facts: { format: 'SPDX', specVersion: '3' },
    });
  }
  throw sbomError(
    'SBOM_FORMAT_UNKNOWN',
    'the SBOM is neither CycloneDX JSON (bomFormat "CycloneDX") nor SPDX JSON (spdxVersion "SPDX-2.3")',
  );
}

function isSpdx3Context(context: unknown): boolean {
  const contexts = Array.isArray(context) ? context : [context];
  return contexts.some((entry) => typeof entry === 'string' && entry.startsWith('https://spdx.org/rdf/3'));
}
