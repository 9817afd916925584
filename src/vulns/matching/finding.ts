import type { SeverityScore } from '../advisories/index.ts';

/**
 * What matching produces: one finding per vulnerability and component, whichever advisories and aliases
 * led to it; and, kept apart, the pairs that could not be decided (a version the ecosystem's order cannot
 * read, a GIT-only range), so that nothing undecided passes as "not affected" unseen.
 */

/** `high`: the component's purl names the advisory's package. `low`: only CPE vendor and product agree. */
export type MatchConfidence = 'high' | 'low';

/** The parts of an SBOM component matching reads; `SbomComponent` (vulns/sbom) is one. */
export interface MatchableComponent {
  ref: string;
  version?: string;
  purl?: { canonical?: string; type: string; namespace?: string; name: string; version?: string };
  cpe?: string;
  /** CycloneDX `scope`: `excluded` components are not part of what ships and are not matched. */
  scope?: string;
}

export interface Finding {
  /** The vulnerability's canonical id (the earliest CVE when it has one). */
  vulnerability: string;
  /** Its other ids (GHSA, GO-, RUSTSEC-, BIT-, ...). */
  aliases: readonly string[];
  /** The advisories (records) that matched. */
  advisoryIds: readonly string[];
  componentRef: string;
  purl?: string;
  cpe?: string;
  version: string;
  /** The range, listed version or CPE that matched, as the advisory states it ("SEMVER >=0 <1.6.0"). */
  matchedRange: string;
  matchedBy: 'purl' | 'cpe';
  confidence: MatchConfidence;
  /** The highest-scored severity the matched advisories give (package-level severity included). */
  severity?: SeverityScore;
}

export interface UnevaluatedMatch {
  vulnerability: string;
  advisoryId: string;
  componentRef: string;
  purl?: string;
  version?: string;
  reason: string;
}

/** Values of `b` not in `a`, appended to a copy of `a` (findings may share their arrays until merged). */
function union(a: readonly string[], b: readonly string[]): string[] {
  const merged = [...a];
  for (const value of b) if (!merged.includes(value)) merged.push(value);
  return merged;
}

/** Collects findings, one per (vulnerability, component): later advisories of the same vulnerability add their ids. */
export class FindingCollector {
  private readonly byComponent = new Map<string, Map<string, Finding>>();
  private readonly unevaluatedMatches: UnevaluatedMatch[] = [];

  add(finding: Finding): void {
    let findings = this.byComponent.get(finding.componentRef);
    if (findings === undefined) {
      findings = new Map();
      this.byComponent.set(finding.componentRef, findings);
    }
    const earlier = findings.get(finding.vulnerability);
    if (earlier === undefined) {
      findings.set(finding.vulnerability, finding);
      return;
    }
    earlier.advisoryIds = union(earlier.advisoryIds, finding.advisoryIds);
    earlier.aliases = union(earlier.aliases, finding.aliases);
    if (earlier.confidence === 'low' && finding.confidence === 'high') {
      earlier.confidence = 'high';
      earlier.matchedBy = finding.matchedBy;
      earlier.matchedRange = finding.matchedRange;
    }
    const laterScore = finding.severity?.baseScore;
    if (
      laterScore !== undefined &&
      (earlier.severity?.baseScore === undefined || laterScore > earlier.severity.baseScore)
    ) {
      earlier.severity = finding.severity;
    }
  }

  addUnevaluated(match: UnevaluatedMatch): void {
    this.unevaluatedMatches.push(match);
  }

  get unevaluated(): UnevaluatedMatch[] {
    return this.unevaluatedMatches;
  }

  /** Sorted by component, then vulnerability, so reports and tests read the same every time. */
  sortedFindings(): Finding[] {
    const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    const findings: Finding[] = [];
    for (const componentRef of [...this.byComponent.keys()].sort(byText)) {
      const ofComponent = this.byComponent.get(componentRef) as Map<string, Finding>;
      for (const vulnerability of [...ofComponent.keys()].sort(byText))
        findings.push(ofComponent.get(vulnerability) as Finding);
    }
    return findings;
  }
}
