import { PackageURL } from 'packageurl-js';
import type { PackageUrl } from './parsed-sbom.ts';

export type PackageUrlReading = { valid: true; purl: PackageUrl } | { valid: false; problem: string };

/**
 * Reads a package URL (purl spec, ECMA-427) with packageurl-js, which checks the syntax and each type's
 * rules (a Maven purl needs a namespace, ...) and normalises what the type says to normalise (PyPI
 * names lower-cased, `@` in an npm scope percent-encoded). The text comes from an SBOM, so it is
 * attacker-controlled: whatever packageurl-js throws becomes a `problem`.
 */
export function readPackageUrl(text: string): PackageUrlReading {
  let parsed: PackageURL;
  try {
    parsed = PackageURL.fromString(text);
  } catch (error) {
    return { valid: false, problem: error instanceof Error ? error.message : String(error) };
  }
  const purl: PackageUrl = { canonical: parsed.toString(), type: parsed.type, name: parsed.name };
  if (parsed.namespace !== undefined) purl.namespace = parsed.namespace;
  if (parsed.version !== undefined) purl.version = parsed.version;
  // packageurl-js hands back a null-prototype object; a plain one serialises and compares as expected.
  if (parsed.qualifiers !== undefined) purl.qualifiers = { ...parsed.qualifiers };
  if (parsed.subpath !== undefined) purl.subpath = parsed.subpath;
  return { valid: true, purl };
}
