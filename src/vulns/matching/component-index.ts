import { parseCpe, type Advisory, type Cpe, type VulnerabilityAliases } from '../advisories/index.ts';
import { packageIdentityFromPurl } from './ecosystems.ts';
import { FindingCollector, type Finding, type MatchableComponent, type UnevaluatedMatch } from './finding.ts';
import {
  componentVersionOf,
  cpeKeyOf,
  isShipped,
  matchByCpe,
  matchByPurl,
  prepareAdvisory,
} from './prepared-advisory.ts';

/**
 * The reverse index: package identity → the release components that are that package, across a whole
 * portfolio. A new or changed advisory is matched against the releases that contain a package it names,
 * and only those: the cost is the advisory's packages times their occurrences, not the portfolio's size.
 */

export type ReleaseFinding = Finding & { releaseId: string };
export type ReleaseUnevaluatedMatch = UnevaluatedMatch & { releaseId: string };

export interface AdvisoryMatchReport {
  findings: ReleaseFinding[];
  unevaluated: ReleaseUnevaluatedMatch[];
}

interface IndexedComponent {
  releaseId: string;
  component: MatchableComponent;
  version: string | undefined;
  /** Parsed once, for components matched by CPE. */
  cpe?: Cpe;
}

export class ComponentIndex {
  private readonly byPackage = new Map<string, IndexedComponent[]>();
  private readonly byCpeProduct = new Map<string, IndexedComponent[]>();
  private readonly keysOfRelease = new Map<string, { packages: Set<string>; cpeProducts: Set<string> }>();
  private components = 0;

  get releaseCount(): number {
    return this.keysOfRelease.size;
  }

  get componentCount(): number {
    return this.components;
  }

  /** Indexes a release's shipped components; a release indexed before is replaced. */
  addRelease(releaseId: string, components: Iterable<MatchableComponent>): void {
    this.removeRelease(releaseId);
    const keys = { packages: new Set<string>(), cpeProducts: new Set<string>() };
    this.keysOfRelease.set(releaseId, keys);
    for (const component of components) {
      if (!isShipped(component)) continue;
      const indexed: IndexedComponent = { releaseId, component, version: componentVersionOf(component) };
      if (component.purl !== undefined) {
        const key = packageIdentityFromPurl(component.purl).key;
        add(this.byPackage, key, indexed);
        keys.packages.add(key);
      } else {
        const cpe = component.cpe === undefined ? undefined : parseCpe(component.cpe);
        const key = cpe === undefined ? undefined : cpeKeyOf(cpe);
        if (cpe === undefined || key === undefined) continue;
        add(this.byCpeProduct, key, { ...indexed, cpe });
        keys.cpeProducts.add(key);
      }
      this.components++;
    }
  }

  removeRelease(releaseId: string): void {
    const keys = this.keysOfRelease.get(releaseId);
    if (keys === undefined) return;
    this.components -=
      remove(this.byPackage, keys.packages, releaseId) +
      remove(this.byCpeProduct, keys.cpeProducts, releaseId);
    this.keysOfRelease.delete(releaseId);
  }

  /** Matches one advisory against every indexed release; a withdrawn advisory matches nothing. */
  matchAdvisory(advisory: Advisory, options: { aliases?: VulnerabilityAliases } = {}): AdvisoryMatchReport {
    if (advisory.withdrawn !== undefined) return { findings: [], unevaluated: [] };
    const prepared = prepareAdvisory(advisory, options.aliases);
    const collectors = new Map<string, FindingCollector>();
    const collectorOf = (releaseId: string): FindingCollector => {
      let collector = collectors.get(releaseId);
      if (collector === undefined) {
        collector = new FindingCollector();
        collectors.set(releaseId, collector);
      }
      return collector;
    };
    for (const affected of prepared.affected) {
      if (affected.identity === undefined) continue;
      for (const indexed of this.byPackage.get(affected.identity.key) ?? []) {
        matchByPurl(indexed.component, indexed.version, affected, new Map(), collectorOf(indexed.releaseId));
      }
    }
    for (const cpe of prepared.cpes) {
      for (const indexed of this.byCpeProduct.get(cpe.key) ?? []) {
        matchByCpe(indexed.component, indexed.cpe as Cpe, cpe, new Map(), collectorOf(indexed.releaseId));
      }
    }
    const report: AdvisoryMatchReport = { findings: [], unevaluated: [] };
    for (const [releaseId, collector] of [...collectors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (const finding of collector.sortedFindings()) report.findings.push({ ...finding, releaseId });
      for (const match of collector.unevaluated) report.unevaluated.push({ ...match, releaseId });
    }
    return report;
  }
}

function add(map: Map<string, IndexedComponent[]>, key: string, indexed: IndexedComponent): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [indexed]);
  else list.push(indexed);
}

/** Removes a release's entries under its keys; returns how many went. */
function remove(map: Map<string, IndexedComponent[]>, keys: Iterable<string>, releaseId: string): number {
  let removed = 0;
  for (const key of keys) {
    const list = map.get(key) ?? [];
    const kept = list.filter((indexed) => indexed.releaseId !== releaseId);
    removed += list.length - kept.length;
    if (kept.length === 0) map.delete(key);
    else map.set(key, kept);
  }
  return removed;
}
