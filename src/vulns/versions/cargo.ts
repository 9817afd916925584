import {
  compareSemanticVersions,
  parseSemanticVersion,
  strictSemanticVersionSyntax,
  type SemanticVersion,
} from './semver.ts';
import { defineVersionScheme } from './scheme.ts';

/**
 * crates.io versions: strict SemVer 2.0.0 (Cargo's `semver` crate refuses a leading "v", shortened
 * versions and leading zeros). The order is SemVer precedence (§11); unlike the crate's `Ord`, build
 * metadata does not break ties, because an advisory about 1.0.0 is about 1.0.0+anything too.
 */
export function parseCargoVersion(version: string): SemanticVersion {
  return parseSemanticVersion('cargo', version, strictSemanticVersionSyntax);
}

export const cargoScheme = defineVersionScheme('cargo', parseCargoVersion, compareSemanticVersions);
