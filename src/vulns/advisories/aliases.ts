import type { Advisory } from './advisory.ts';
import { compareVulnerabilityIds, preferredVulnerabilityId } from './vulnerability-ids.ts';

/**
 * Alias merging: the ids that denote one vulnerability across databases (CVE, GHSA, GO-, RUSTSEC-, BIT-,
 * PYSEC-, CSAF `ids`) grouped by union-find over each advisory's id and aliases. OSV schema §aliases:
 * aliases are symmetric and transitive (if A aliases B and B aliases C, all three are one vulnerability);
 * `related` and `upstream` name other vulnerabilities and are never merged.
 */

export interface VulnerabilityGroup {
  /** The id to show: the earliest CVE, else a GHSA, else the smallest id. */
  canonicalId: string;
  /** Every id in the group, canonical first, then in display order. */
  ids: string[];
  /** The ids of the advisories (records) that belong to the group and are not withdrawn. */
  advisoryIds: string[];
  /** Withdrawn advisories of the group; they match nothing. */
  withdrawnAdvisoryIds: string[];
}

export interface VulnerabilityAliases {
  readonly groups: readonly VulnerabilityGroup[];
  /** The group an id (advisory id or alias) belongs to. */
  groupOf(id: string): VulnerabilityGroup | undefined;
}

/** Union-find with path halving and union by size: near-constant time per operation. */
class DisjointSets {
  private readonly parent = new Map<string, string>();
  private readonly size = new Map<string, number>();

  find(id: string): string {
    if (!this.parent.has(id)) {
      this.parent.set(id, id);
      this.size.set(id, 1);
      return id;
    }
    let current = id;
    for (;;) {
      const parent = this.parent.get(current) as string;
      if (parent === current) return current;
      const grandparent = this.parent.get(parent) as string;
      this.parent.set(current, grandparent);
      current = grandparent;
    }
  }

  union(a: string, b: string): void {
    let rootA = this.find(a);
    let rootB = this.find(b);
    if (rootA === rootB) return;
    if ((this.size.get(rootA) ?? 1) < (this.size.get(rootB) ?? 1)) [rootA, rootB] = [rootB, rootA];
    this.parent.set(rootB, rootA);
    this.size.set(rootA, (this.size.get(rootA) ?? 1) + (this.size.get(rootB) ?? 1));
  }

  *members(): Generator<string> {
    yield* this.parent.keys();
  }
}

/** Groups the ids of `advisories` into vulnerabilities. Withdrawn advisories join their group but are listed apart. */
export function mergeAliases(advisories: Iterable<Advisory>): VulnerabilityAliases {
  const sets = new DisjointSets();
  const advisoriesById = new Map<string, { withdrawn: boolean }>();
  for (const advisory of advisories) {
    sets.find(advisory.id);
    for (const alias of advisory.aliases) sets.union(advisory.id, alias);
    for (const cve of advisory.cves) sets.union(advisory.id, cve);
    const withdrawn = advisory.withdrawn !== undefined;
    const earlier = advisoriesById.get(advisory.id);
    // An id imported twice is live if any copy is.
    advisoriesById.set(advisory.id, { withdrawn: withdrawn && (earlier?.withdrawn ?? true) });
  }
  const idsOfRoot = new Map<string, string[]>();
  for (const id of sets.members()) {
    const root = sets.find(id);
    const ids = idsOfRoot.get(root);
    if (ids === undefined) idsOfRoot.set(root, [id]);
    else ids.push(id);
  }
  const groups: VulnerabilityGroup[] = [];
  const groupOfId = new Map<string, VulnerabilityGroup>();
  for (const ids of idsOfRoot.values()) {
    ids.sort(compareVulnerabilityIds);
    const group: VulnerabilityGroup = {
      canonicalId: preferredVulnerabilityId(ids) as string,
      ids,
      advisoryIds: ids.filter((id) => advisoriesById.get(id)?.withdrawn === false),
      withdrawnAdvisoryIds: ids.filter((id) => advisoriesById.get(id)?.withdrawn === true),
    };
    groups.push(group);
    for (const id of ids) groupOfId.set(id, group);
  }
  groups.sort((a, b) => compareVulnerabilityIds(a.canonicalId, b.canonicalId));
  return { groups, groupOf: (id) => groupOfId.get(id) };
}
