import { mergeAliases, parseCpe, type Advisory, type VulnerabilityAliases } from '../advisories/index.ts';
import type { VersionReadings } from './affected-evaluation.ts';
import { packageIdentityFromPurl } from './ecosystems.ts';
import { FindingCollector, type Finding, type MatchableComponent, type UnevaluatedMatch } from './finding.ts';
import {
  componentVersionOf,
  cpeKeyOf,
  isShipped,
  matchByCpe,
  matchByPurl,
  prepareAdvisory,
  type PreparedAffected,
  type PreparedCpe,
} from './prepared-advisory.ts';

/**
 * Every advisory, keyed by the identity of the packages it names (ecosystem and normalised name), so that
 * matching an SBOM costs one map lookup per component plus the evaluation of the few advisories that name
 * it, never a scan of all advisories. Withdrawn advisories are left out: they match nothing.
 */

export interface SbomMatchReport {
  findings: Finding[];
  /** Pairs the advisory names but that could not be decided, with the reason. */
  unevaluated: UnevaluatedMatch[];
  /** Components looked at (excluded ones are not). */
  componentsChecked: number;
  /** Components with neither a purl nor a CPE: nothing can be matched to them. */
  componentsWithoutIdentity: string[];
}

export class AdvisoryIndex {
  readonly aliases: VulnerabilityAliases;
  readonly advisoryCount: number;
  readonly withdrawnCount: number;
  private readonly byPackage = new Map<string, PreparedAffected[]>();
  private readonly byCpeProduct = new Map<string, PreparedCpe[]>();

  private constructor(advisories: readonly Advisory[], aliases: VulnerabilityAliases | undefined) {
    this.aliases = aliases ?? mergeAliases(advisories);
    let withdrawn = 0;
    for (const advisory of advisories) {
      if (advisory.withdrawn !== undefined) {
        withdrawn++;
        continue;
      }
      const prepared = prepareAdvisory(advisory, this.aliases);
      for (const affected of prepared.affected) {
        if (affected.identity === undefined) continue;
        const list = this.byPackage.get(affected.identity.key);
        if (list === undefined) this.byPackage.set(affected.identity.key, [affected]);
        else list.push(affected);
      }
      for (const cpe of prepared.cpes) {
        const list = this.byCpeProduct.get(cpe.key);
        if (list === undefined) this.byCpeProduct.set(cpe.key, [cpe]);
        else list.push(cpe);
      }
    }
    this.advisoryCount = advisories.length - withdrawn;
    this.withdrawnCount = withdrawn;
  }

  /** Builds the index; alias groups are merged from the same advisories unless given. */
  static build(
    advisories: Iterable<Advisory>,
    options: { aliases?: VulnerabilityAliases } = {},
  ): AdvisoryIndex {
    return new AdvisoryIndex([...advisories], options.aliases);
  }

  /** Distinct packages named by at least one live advisory. */
  get packageCount(): number {
    return this.byPackage.size;
  }

  /** The live advisories that name a package (for inspection and tests). */
  advisoriesNaming(purl: { type: string; namespace?: string; name: string }): Advisory[] {
    const entries = this.byPackage.get(packageIdentityFromPurl(purl).key) ?? [];
    return [...new Set(entries.map((entry) => entry.prepared.advisory))];
  }

  private matchInto(component: MatchableComponent, collector: FindingCollector): 'matched' | 'no-identity' {
    const version = componentVersionOf(component);
    const readings: VersionReadings = new Map();
    if (component.purl !== undefined) {
      for (const entry of this.byPackage.get(packageIdentityFromPurl(component.purl).key) ?? []) {
        matchByPurl(component, version, entry, readings, collector);
      }
      return 'matched';
    }
    // CPE only as the fallback for components without a purl.
    const cpe = component.cpe === undefined ? undefined : parseCpe(component.cpe);
    const key = cpe === undefined ? undefined : cpeKeyOf(cpe);
    if (cpe === undefined || key === undefined) return 'no-identity';
    for (const entry of this.byCpeProduct.get(key) ?? [])
      matchByCpe(component, cpe, entry, readings, collector);
    return 'matched';
  }

  /** The findings for one component. */
  matchComponent(component: MatchableComponent): { findings: Finding[]; unevaluated: UnevaluatedMatch[] } {
    const collector = new FindingCollector();
    if (isShipped(component)) this.matchInto(component, collector);
    return { findings: collector.sortedFindings(), unevaluated: collector.unevaluated };
  }

  /** The findings for every shipped component of an SBOM (`ParsedSbom` from vulns/sbom, or any list of components). */
  matchSbom(sbom: { components: readonly MatchableComponent[] }): SbomMatchReport {
    const collector = new FindingCollector();
    const componentsWithoutIdentity: string[] = [];
    let componentsChecked = 0;
    for (const component of sbom.components) {
      if (!isShipped(component)) continue;
      componentsChecked++;
      if (this.matchInto(component, collector) === 'no-identity')
        componentsWithoutIdentity.push(component.ref);
    }
    return {
      findings: collector.sortedFindings(),
      unevaluated: collector.unevaluated,
      componentsChecked,
      componentsWithoutIdentity,
    };
  }
}
