import type { PackageCoordinates } from '../advisories/index.ts';

/**
 * Package identity across the two naming systems matching meets: OSV ecosystems (OSV schema "Defined
 * ecosystems") in advisories, package-url types (purl-spec PURL-TYPES) in SBOMs. A package has one
 * identity key whichever side names it, so that matching is one map lookup.
 */

/** Where the two systems meet: a purl type (and, for distributions, its namespace) and the OSV ecosystem. */
interface EcosystemMapping {
  purlType: string;
  /** For distribution package types, the purl namespace that selects the distribution. */
  purlNamespace?: string;
  ecosystem: string;
}

const mappings: readonly EcosystemMapping[] = [
  { purlType: 'golang', ecosystem: 'Go' },
  { purlType: 'cargo', ecosystem: 'crates.io' },
  { purlType: 'npm', ecosystem: 'npm' },
  { purlType: 'pypi', ecosystem: 'PyPI' },
  { purlType: 'maven', ecosystem: 'Maven' },
  { purlType: 'composer', ecosystem: 'Packagist' },
  { purlType: 'gem', ecosystem: 'RubyGems' },
  { purlType: 'nuget', ecosystem: 'NuGet' },
  { purlType: 'hex', ecosystem: 'Hex' },
  { purlType: 'pub', ecosystem: 'Pub' },
  { purlType: 'cran', ecosystem: 'CRAN' },
  { purlType: 'hackage', ecosystem: 'Hackage' },
  { purlType: 'swift', ecosystem: 'SwiftURL' },
  { purlType: 'conan', ecosystem: 'ConanCenter' },
  { purlType: 'bitnami', ecosystem: 'Bitnami' },
  { purlType: 'deb', purlNamespace: 'debian', ecosystem: 'Debian' },
  { purlType: 'deb', purlNamespace: 'ubuntu', ecosystem: 'Ubuntu' },
  { purlType: 'apk', purlNamespace: 'alpine', ecosystem: 'Alpine' },
  { purlType: 'apk', purlNamespace: 'wolfi', ecosystem: 'Wolfi' },
  { purlType: 'apk', purlNamespace: 'chainguard', ecosystem: 'Chainguard' },
  { purlType: 'rpm', purlNamespace: 'redhat', ecosystem: 'Red Hat' },
  { purlType: 'rpm', purlNamespace: 'rocky-linux', ecosystem: 'Rocky Linux' },
  { purlType: 'rpm', purlNamespace: 'almalinux', ecosystem: 'AlmaLinux' },
  { purlType: 'rpm', purlNamespace: 'opensuse', ecosystem: 'openSUSE' },
  { purlType: 'rpm', purlNamespace: 'suse', ecosystem: 'SUSE' },
  { purlType: 'rpm', purlNamespace: 'mageia', ecosystem: 'Mageia' },
  { purlType: 'rpm', purlNamespace: 'openeuler', ecosystem: 'openEuler' },
];

const ecosystemByPurl = new Map(
  mappings.map((mapping) => [`${mapping.purlType}/${mapping.purlNamespace ?? ''}`, mapping.ecosystem]),
);
const mappingByEcosystem = new Map(mappings.map((mapping) => [mapping.ecosystem.toLowerCase(), mapping]));

/** The ecosystem without its release or repository suffix ("Debian:12" → "Debian", "Maven:https://…" → "Maven"). */
export function baseEcosystem(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return (colon === -1 ? ecosystem : ecosystem.slice(0, colon)).trim();
}

/** The OSV ecosystem of a purl type (and namespace, for distribution packages); undefined when OSV has none. */
export function osvEcosystemForPurl(type: string, namespace?: string): string | undefined {
  const lowerType = type.toLowerCase();
  return (
    ecosystemByPurl.get(`${lowerType}/${namespace?.toLowerCase() ?? ''}`) ??
    ecosystemByPurl.get(`${lowerType}/`)
  );
}

/** The purl type (and namespace) of an OSV ecosystem; undefined when purl-spec has no type for it. */
export function purlTypeForOsvEcosystem(ecosystem: string): { type: string; namespace?: string } | undefined {
  const mapping = mappingByEcosystem.get(baseEcosystem(ecosystem).toLowerCase());
  if (mapping === undefined) return undefined;
  return mapping.purlNamespace === undefined
    ? { type: mapping.purlType }
    : { type: mapping.purlType, namespace: mapping.purlNamespace };
}

/** The package's name as its OSV ecosystem writes it, from purl parts (Maven "group:artifact", npm "@scope/name", Go module path). */
export function osvNameForPurl(ecosystem: string | undefined, purl: PackageCoordinates): string {
  switch (ecosystem) {
    case 'Maven':
      return purl.namespace === undefined ? purl.name : `${purl.namespace}:${purl.name}`;
    case 'Debian':
    case 'Ubuntu':
    case 'Alpine':
    case 'Wolfi':
    case 'Chainguard':
    case 'Red Hat':
    case 'Rocky Linux':
    case 'AlmaLinux':
    case 'openSUSE':
    case 'SUSE':
    case 'Mageia':
    case 'openEuler':
      // The namespace names the distribution, already in the ecosystem.
      return purl.name;
    default:
      return purl.namespace === undefined ? purl.name : `${purl.namespace}/${purl.name}`;
  }
}

/**
 * A name as its ecosystem compares names. Every registry here treats names case-insensitively or only
 * publishes lower-case ones, and a missed match is worse than a spurious one, so all are lower-cased;
 * PyPI names are normalised by PEP 503 ("[-_.]+" → "-"), crates.io folds "_" and "-" as the registry does.
 */
export function normalisePackageName(ecosystem: string, name: string): string {
  const lower = name.trim().toLowerCase();
  switch (ecosystem) {
    case 'PyPI':
      return lower.replace(/[-_.]+/g, '-');
    case 'crates.io':
      return lower.replaceAll('_', '-');
    case 'Go':
      // Module paths are case-sensitive (golang.org/x/mod/module), but hosts such as GitHub resolve them
      // case-insensitively and SBOM generators disagree on case: folding it trades a rare false match for misses.
      return lower.endsWith('/') ? lower.replace(/\/+$/, '') : lower;
    default:
      return lower;
  }
}

export interface PackageIdentity {
  /** The OSV base ecosystem ("Go", "Debian"), or "purl:<type>" for a purl type OSV has no ecosystem for. */
  ecosystem: string;
  /** The normalised name. */
  name: string;
  /** `ecosystem` lower-cased and the name: equal keys, same package. */
  key: string;
}

function identity(ecosystem: string, name: string): PackageIdentity {
  const normalised = normalisePackageName(ecosystem, name);
  return { ecosystem, name: normalised, key: `${ecosystem.toLowerCase()}|${normalised}` };
}

/** The identity of a package named by purl (an SBOM component, a CSAF product). */
export function packageIdentityFromPurl(purl: PackageCoordinates): PackageIdentity {
  const ecosystem = osvEcosystemForPurl(purl.type, purl.namespace);
  if (ecosystem !== undefined) return identity(ecosystem, osvNameForPurl(ecosystem, purl));
  return identity(`purl:${purl.type.toLowerCase()}`, osvNameForPurl(undefined, purl));
}

/** The identity of a package named by OSV ecosystem and name. */
export function packageIdentityFromOsv(ecosystem: string, name: string): PackageIdentity {
  const base = baseEcosystem(ecosystem);
  const known = mappingByEcosystem.get(base.toLowerCase());
  return identity(known?.ecosystem ?? base, name);
}
