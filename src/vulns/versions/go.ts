import {
  compareSemanticVersions,
  parseSemanticVersion,
  type SemanticVersion,
  type SemanticVersionSyntax,
} from './semver.ts';
import { defineVersionScheme } from './scheme.ts';

/**
 * Go module versions as golang.org/x/mod/semver reads them: SemVer 2.0.0 with no leading zeros, "v1" and
 * "v1.2" as shorthands for v1.0.0 and v1.2.0, and build metadata ignored in the order, so
 * "v2.0.0+incompatible" equals "v2.0.0". The "v" is optional because OSV's Go ecosystem drops it.
 * Pseudo-versions (v0.0.0-20191109021931-daa7c04131f5, v1.2.4-0.2019…) are ordinary pre-releases and
 * sort as SemVer says, which is how the go command orders them.
 */
const goSyntax: SemanticVersionSyntax = Object.freeze({
  leadingV: 'optional',
  shortCore: 'without-suffix',
  extraCoreAsBuild: false,
  leadingZeros: false,
});

export function parseGoVersion(version: string): SemanticVersion {
  return parseSemanticVersion('go', version, goSyntax);
}

export const goScheme = defineVersionScheme('go', parseGoVersion, compareSemanticVersions);
