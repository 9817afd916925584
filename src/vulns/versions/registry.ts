import { alpineScheme } from './alpine.ts';
import { cargoScheme } from './cargo.ts';
import { debianScheme } from './debian.ts';
import { genericScheme } from './generic.ts';
import { goScheme } from './go.ts';
import { lexicographicScheme } from './lexicographic.ts';
import { mavenScheme } from './maven.ts';
import { npmScheme } from './npm.ts';
import { opensslScheme } from './openssl.ts';
import { pypiScheme } from './pypi.ts';
import { rpmScheme } from './rpm.ts';
import type { VersionScheme, VersionSchemeName } from './scheme.ts';
import { semverScheme } from './semver.ts';

export const versionSchemes: Readonly<Record<VersionSchemeName, VersionScheme>> = Object.freeze({
  semver: semverScheme,
  go: goScheme,
  cargo: cargoScheme,
  npm: npmScheme,
  pypi: pypiScheme,
  maven: mavenScheme,
  debian: debianScheme,
  alpine: alpineScheme,
  rpm: rpmScheme,
  openssl: opensslScheme,
  generic: genericScheme,
  lexicographic: lexicographicScheme,
});

/**
 * OSV ecosystem names (https://ossf.github.io/osv-schema/#defined-ecosystems, compared lowercased and
 * without a ":release" suffix such as "Debian:12") and package-url types (purl-spec types list), with
 * the scheme each one's versions follow.
 */
const schemeByName: ReadonlyMap<string, VersionSchemeName> = new Map<string, VersionSchemeName>([
  // OSV ecosystems
  ['go', 'go'],
  ['crates.io', 'cargo'],
  ['pypi', 'pypi'],
  ['npm', 'npm'],
  ['maven', 'maven'],
  ['debian', 'debian'],
  ['ubuntu', 'debian'],
  ['alpine', 'alpine'],
  ['wolfi', 'alpine'],
  ['chainguard', 'alpine'],
  ['red hat', 'rpm'],
  ['rocky linux', 'rpm'],
  ['almalinux', 'rpm'],
  ['opensuse', 'rpm'],
  ['suse', 'rpm'],
  ['mageia', 'rpm'],
  ['openeuler', 'rpm'],
  ['hex', 'semver'],
  ['bitnami', 'semver'],
  // package-url types
  ['golang', 'go'],
  ['cargo', 'cargo'],
  ['deb', 'debian'],
  ['apk', 'alpine'],
  ['rpm', 'rpm'],
  ['openssl', 'openssl'],
  ['generic', 'generic'],
  // vers-spec types that name a scheme rather than an ecosystem
  ['semver', 'semver'],
  ['lexicographic', 'lexicographic'],
]);

function lookupKey(ecosystemOrType: string): string {
  const colon = ecosystemOrType.indexOf(':');
  return (colon === -1 ? ecosystemOrType : ecosystemOrType.slice(0, colon)).trim().toLowerCase();
}

/** The scheme for an OSV ecosystem or purl type, or undefined when there is no dedicated one. */
export function findVersionScheme(ecosystemOrType: string): VersionScheme | undefined {
  const name = schemeByName.get(lookupKey(ecosystemOrType));
  return name === undefined ? undefined : versionSchemes[name];
}

/**
 * The scheme for an OSV ecosystem ("PyPI", "Debian:12", "Red Hat:enterprise_linux:9") or purl type
 * ("pypi", "deb"). Ecosystems without a dedicated comparator here (RubyGems, Packagist, NuGet, CRAN,
 * Hackage, Pub, ...) get the generic scheme, whose order agrees with theirs on ordinary release
 * numbers; `findVersionScheme` tells the two cases apart.
 */
export function versionSchemeFor(ecosystemOrType: string): VersionScheme {
  return findVersionScheme(ecosystemOrType) ?? genericScheme;
}
