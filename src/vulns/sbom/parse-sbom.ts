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
 * JSON nested deeper than this is refused before anything recurses into it (the schema validator does,
 * once per nested component). Real SBOMs stay far below: each level of CycloneDX component nesting
 * costs two.
 */
export const maxNestingDepth = 128;

const utf8 = new TextDecoder('utf-8', { fatal: true });

type DetectedFormat =
  | { format: 'CycloneDX'; specVersion: SbomSpecVersion; schema: SbomSchemaName }
  | { format: 'SPDX'; specVersion: '2.3'; schema: 'SPDX 2.3' };

/**
 * Reads an SBOM: CycloneDX JSON 1.2–1.6 or SPDX 2.3 JSON, checked against its version's JSON schema,
 * into one {@link ParsedSbom}. SBOMs come from suppliers' build pipelines and from uploads: the bytes
 * are attacker-controlled. Whatever they hold, this only throws `VigilError`: `SBOM_MALFORMED`,
 * `SBOM_FORMAT_UNKNOWN`, `SBOM_VERSION_UNSUPPORTED` or `SBOM_INVALID` (listing the violations in
 * `facts.errors`), and `SBOM_PARSER_FAILED` (kind `internal`) should Vigil itself fail.
 * Linear in the size of the document; each schema is compiled once, at its first document.
 */
export function parseSbom(input: Uint8Array | string): ParsedSbom {
  try {
    const text = decodeText(input);
    const document = parseJson(text);
    refuseDeepNesting(text);
    const detected = detectFormat(document);
    const check = checkAgainstSchema(detected.schema, document, text.length);
    if (!check.valid) {
      throw invalidSbomError(`not a valid ${detected.schema} document`, check.violations, {
        searchedAll: check.searchedAll,
        facts: { format: detected.format, specVersion: detected.specVersion },
      });
    }
    // The casts stand on the schema check just passed.
    return detected.format === 'CycloneDX'
      ? normaliseCycloneDx(document as Parameters<typeof normaliseCycloneDx>[0], detected.specVersion)
      : normaliseSpdx(document as Parameters<typeof normaliseSpdx>[0]);
  } catch (error) {
    if (isVigilError(error)) throw error;
    throw new VigilError('SBOM_PARSER_FAILED', 'internal', 'reading the SBOM failed inside Vigil', {
      cause: error,
    });
  }
}

function decodeText(input: Uint8Array | string): string {
  if (typeof input === 'string') return input.startsWith('\uFEFF') ? input.slice(1) : input;
  try {
    // RFC 8259 §8.1: JSON exchanged between systems is UTF-8 (a leading byte order mark is ignored).
    return utf8.decode(input);
  } catch (error) {
    throw sbomError('SBOM_MALFORMED', 'the SBOM is not UTF-8 text', { cause: error });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw sbomError('SBOM_MALFORMED', `the SBOM is not JSON: ${reason}`, { cause: error });
  }
}

/**
 * One pass over text JSON.parse has accepted, counting brackets outside strings (which it skips
 * whole: most of an SBOM is strings).
 */
function refuseDeepNesting(text: string): void {
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x22 /* " */) {
      index = endOfString(text, index);
    } else if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      if (++depth > maxNestingDepth) {
        throw sbomError('SBOM_MALFORMED', `the SBOM nests JSON deeper than ${maxNestingDepth} levels`);
      }
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      depth--;
    }
  }
}

/** The index of the quote closing the string that opens at `start` (the JSON is known to be valid). */
function endOfString(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  while (end !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  return text.length;
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
