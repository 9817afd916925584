import type { Selectable } from 'kysely';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import { requireProduct } from '../products/index.ts';
import type { Actor, Ledger, LedgerEvent } from '../ledger/index.ts';
import type { FindingsTable, Queryable, Store, Tx } from '../store/index.ts';
import type { Fleet, PublicationGate, Release } from '../updates/index.ts';
import {
  mergeAliases,
  type Advisory,
  type SeverityScore,
  type VulnerabilityAliases,
} from './advisories/index.ts';
import type { CraClocks } from './clocks.ts';
import {
  AdvisoryIndex,
  ComponentIndex,
  applyCycloneDxVex,
  packageIdentityFromPurl,
  type Finding as MatchedFinding,
  type VexApplication,
} from './matching/index.ts';
import { readPackageUrl, type ParsedSbom } from './sbom/index.ts';

type FindingRow = Selectable<FindingsTable>;

/**
 * A supplier's word, in a CSAF document, that one version of a package is known_not_affected by a
 * vulnerability, with the flag that says why.
 */
interface SupplierStatement {
  /** PackageIdentity key of the product's purl. */
  identity: string;
  version: string;
  justification: string;
  impact: string | undefined;
  /** The CSAF document's tracking id. */
  document: string;
}

/** The known_not_affected statements of CSAF advisories that name a package version and say why, by vulnerability id. */
function supplierStatementsOf(advisories: readonly Advisory[]): Map<string, SupplierStatement[]> {
  const byVulnerability = new Map<string, SupplierStatement[]>();
  for (const advisory of advisories) {
    if (advisory.csaf === undefined) continue;
    for (const statement of advisory.statements) {
      if (statement.status !== 'not_affected' || statement.justification === undefined) continue;
      if (statement.purl === undefined || statement.version === undefined) continue;
      const reading = readPackageUrl(statement.purl);
      if (!reading.valid) continue;
      const supplied: SupplierStatement = {
        identity: packageIdentityFromPurl(reading.purl).key,
        version: statement.version,
        justification: statement.justification,
        impact: statement.impactStatement,
        document: advisory.csaf.trackingId,
      };
      for (const id of new Set([advisory.id, ...advisory.aliases, ...advisory.cves])) {
        const known = byVulnerability.get(id);
        if (known === undefined) byVulnerability.set(id, [supplied]);
        else known.push(supplied);
      }
    }
  }
  return byVulnerability;
}

export type VexState = FindingsTable['state'];

/** CSAF 2.0 §3.2.3.5 flag labels and CycloneDX 1.6 analysis justifications, as one vocabulary. */
export const notAffectedJustifications = [
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
] as const;
export type NotAffectedJustification = (typeof notAffectedJustifications)[number];

/** One VEX decision on a finding. */
export interface TriageChange {
  state: VexState;
  justification?: NotAffectedJustification | undefined;
  fixedReleaseId?: string | undefined;
  exploited?: boolean | undefined;
  /** A person's assessment of the severity, over the advisory's CVSS. */
  severity?:
    { rating: 'critical' | 'high' | 'medium' | 'low' | 'none'; score?: number | undefined } | undefined;
  reason: string;
}

/** What applying a VEX to a release did. */
export interface VexImportReport {
  /** Findings whose decision the VEX changed. */
  applied: {
    findingId: string;
    vulnerability: string;
    componentRef: string;
    from: VexState;
    to: VexState;
    justification?: NotAffectedJustification;
  }[];
  /** Findings the VEX named that already stood as it says. */
  unchanged: number;
  /** Statements on a component of the release for a vulnerability it has no finding of. */
  withoutFinding: { vulnerability: string; componentRef: string }[];
  /** References that name nothing in the release's SBOM, or cannot be decided, with why. */
  unresolved: VexApplication['unresolved'];
  /** Components a statement names whose version lies outside the statement's versions. */
  notApplicable: VexApplication['notApplicable'];
}

export interface FindingView {
  id: string;
  vulnerability: string;
  aliases: string[];
  advisories: string[];
  releaseId: string;
  productId: string;
  component: string;
  purl: string | null;
  version: string | null;
  confidence: 'high' | 'low';
  severity: {
    score: number | null;
    rating: string | null;
    vector: string | null;
    overridden?: boolean;
  } | null;
  state: VexState;
  justification: string | null;
  fixedReleaseId: string | null;
  exploited: boolean;
  withdrawn: boolean;
  deadline: string | null;
  /** Devices in the field still running the release (see `Fleet.devicesRunning`). */
  exposure: number;
  createdAt: string;
  updatedAt: string;
}

/** Days to remediate by severity (from when the finding was made); an exploited vulnerability overrides. */
export interface RemediationPolicy {
  critical: number;
  high: number;
  medium: number;
  low: number;
  /** No CVSS score known (`none`-rated findings count as low). */
  unknown: number;
  /** Actively exploited (KEV, or marked by a person), from when it became known. */
  exploited: number;
}

/** The policy of a product that has not set its own. */
export const defaultRemediationPolicy: RemediationPolicy = {
  critical: 15,
  high: 30,
  medium: 90,
  low: 180,
  unknown: 90,
  exploited: 7,
} as const;

/**
 * Findings: each vulnerability in each component of each release, with its VEX state. Matching is
 * incremental both ways: a new SBOM against every advisory (one index lookup per component), a new
 * or changed advisory against every release (only the components it names). Both indexes live in
 * memory, built once from the store.
 */
export class Findings implements PublicationGate {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private advisoryIndex:
    | {
        index: AdvisoryIndex;
        aliases: VulnerabilityAliases;
        supplierStatements: Map<string, SupplierStatement[]>;
      }
    | undefined;
  private componentIndex: ComponentIndex | undefined;

  private readonly clocks: CraClocks;
  private readonly fleet: Fleet;

  constructor(options: { store: Store; ledger: Ledger; clock: Clock; clocks: CraClocks; fleet: Fleet }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.clocks = options.clocks;
    this.fleet = options.fleet;
  }

  /** Forgets the advisory index (advisories changed); the next match rebuilds it. */
  forgetAdvisories(): void {
    this.advisoryIndex = undefined;
  }

  private async advisories(db: Queryable): Promise<NonNullable<Findings['advisoryIndex']>> {
    if (this.advisoryIndex === undefined) {
      const rows = await db.selectFrom('advisories').select('document').where('withdrawn', '=', 0).execute();
      const advisories = rows.map((row) => JSON.parse(row.document) as Advisory);
      const aliases = mergeAliases(advisories);
      this.advisoryIndex = {
        index: AdvisoryIndex.build(advisories, { aliases }),
        aliases,
        supplierStatements: supplierStatementsOf(advisories),
      };
    }
    return this.advisoryIndex;
  }

  private async components(db: Queryable): Promise<ComponentIndex> {
    if (this.componentIndex === undefined) {
      const index = new ComponentIndex();
      const rows = await db.selectFrom('release_sboms').select(['release_id', 'parsed']).execute();
      for (const row of rows)
        index.addRelease(row.release_id, (JSON.parse(row.parsed) as ParsedSbom).components);
      this.componentIndex = index;
    }
    return this.componentIndex;
  }

  /** A new SBOM of a release against every advisory (inside the attach transaction). */
  async matchSbom(
    tx: Tx,
    record: (event: LedgerEvent) => void,
    release: Pick<Release, 'id' | 'productId'>,
    sbom: ParsedSbom,
  ): Promise<number> {
    const { index } = await this.advisories(tx);
    const report = index.matchSbom(sbom);
    (await this.components(tx)).removeRelease(release.id);
    this.componentIndex?.addRelease(release.id, sbom.components);
    await this.upsert(
      tx,
      release.productId,
      report.findings.map((finding) => ({ ...finding, releaseId: release.id })),
    );
    await this.applySupplierVex(tx, record, { releaseId: release.id });
    return report.findings.length;
  }

  /** New or changed advisories against every release: only the components they name. */
  async matchAdvisories(
    tx: Tx,
    record: (event: LedgerEvent) => void,
    advisories: readonly Advisory[],
  ): Promise<number> {
    const { aliases } = await this.advisories(tx);
    const components = await this.components(tx);
    const found: (MatchedFinding & { releaseId: string })[] = [];
    for (const advisory of advisories) {
      if (advisory.withdrawn !== undefined) continue;
      found.push(...components.matchAdvisory(advisory, { aliases }).findings);
    }
    if (found.length > 0) {
      const releases = await tx
        .selectFrom('releases')
        .select(['id', 'product_id'])
        .where('id', 'in', [...new Set(found.map((finding) => finding.releaseId))])
        .execute();
      const productOf = new Map(releases.map((row) => [row.id, row.product_id]));
      for (const [productId, group] of groupBy(found, (finding) => productOf.get(finding.releaseId) ?? '')) {
        if (productId !== '') await this.upsert(tx, productId, group);
      }
    }
    const named = new Set(
      advisories.flatMap((advisory) => [advisory.id, ...advisory.aliases, ...advisory.cves]),
    );
    if (named.size > 0) await this.applySupplierVex(tx, record, { vulnerabilities: named });
    return found.length;
  }

  /**
   * Supplier VEX: a CSAF statement that a package version is known_not_affected, with the flag that
   * says why, decides the findings of that vulnerability on that package version that are still
   * under investigation; a decision a person made stands. Each is recorded as `finding.triaged`
   * with the CSAF document as its reason. Applied when an SBOM arrives (its release's findings)
   * and when advisories arrive (the findings of the vulnerabilities they name).
   */
  private async applySupplierVex(
    tx: Tx,
    record: (event: LedgerEvent) => void,
    scope: { releaseId: string } | { vulnerabilities: ReadonlySet<string> },
  ): Promise<void> {
    const { supplierStatements } = await this.advisories(tx);
    // Advisories arriving in batches (a whole OSV feed) read no findings unless a supplier spoke
    // of one of the vulnerabilities they name.
    if ('vulnerabilities' in scope && ![...scope.vulnerabilities].some((id) => supplierStatements.has(id)))
      return;
    if (supplierStatements.size === 0) return;
    let query = tx
      .selectFrom('findings')
      .selectAll()
      .where('state', '=', 'under_investigation')
      .where('withdrawn', '=', 0)
      .where('purl', 'is not', null);
    if ('releaseId' in scope) query = query.where('release_id', '=', scope.releaseId);
    for (const row of await query.execute()) {
      const ids = [row.vulnerability_id, ...(JSON.parse(row.aliases) as string[])];
      if ('vulnerabilities' in scope && !ids.some((id) => scope.vulnerabilities.has(id))) continue;
      const statements = ids.flatMap((id) => supplierStatements.get(id) ?? []);
      if (statements.length === 0) continue;
      const reading = readPackageUrl(row.purl!);
      if (!reading.valid) continue;
      const identity = packageIdentityFromPurl(reading.purl).key;
      const version = row.component_version ?? reading.purl.version;
      const statement = statements.find(
        (candidate) => candidate.identity === identity && candidate.version === version,
      );
      if (statement === undefined) continue;
      const said = `CSAF VEX ${statement.document}: known_not_affected (${statement.justification})`;
      await this.decide(tx, record, row, {
        state: 'not_affected',
        justification: statement.justification as NotAffectedJustification,
        reason: (statement.impact === undefined ? said : `${said}: ${statement.impact}`).slice(0, 2000),
      });
    }
  }

  /** Marks the findings of withdrawn advisories: they no longer count. */
  async withdraw(tx: Tx, advisoryIds: readonly string[]): Promise<void> {
    if (advisoryIds.length === 0) return;
    const rows = await tx
      .selectFrom('findings')
      .select(['id', 'advisory_ids'])
      .where('withdrawn', '=', 0)
      .execute();
    const gone = new Set(advisoryIds);
    for (const row of rows) {
      const ids = JSON.parse(row.advisory_ids) as string[];
      if (ids.length > 0 && ids.every((id) => gone.has(id))) {
        await tx
          .updateTable('findings')
          .set({ withdrawn: 1, updated_at: toRfc3339(this.clock.now()) })
          .where('id', '=', row.id)
          .execute();
      }
    }
  }

  /** Marks findings of these CVEs (and their aliases) exploited: the CISA KEV catalogue says so. */
  async markExploited(tx: Tx, cves: ReadonlySet<string>): Promise<number> {
    const now = toRfc3339(this.clock.now());
    const rows = await tx
      .selectFrom('findings')
      .select(['id', 'vulnerability_id', 'aliases'])
      .where('exploited', '=', 0)
      .execute();
    let marked = 0;
    for (const row of rows) {
      const ids = [row.vulnerability_id, ...(JSON.parse(row.aliases) as string[])];
      if (!ids.some((id) => cves.has(id))) continue;
      await tx
        .updateTable('findings')
        .set({ exploited: 1, exploited_since: now, updated_at: now })
        .where('id', '=', row.id)
        .execute();
      marked += 1;
    }
    return marked;
  }

  /**
   * Writes matched findings: new ones under investigation, known ones with their advisory facts
   * refreshed (their triage stays). Written as one batch: an SBOM of thousands of components
   * yields tens of thousands of findings.
   */
  private async upsert(
    tx: Tx,
    productId: string,
    findings: readonly (MatchedFinding & { releaseId: string })[],
  ): Promise<void> {
    const now = toRfc3339(this.clock.now());
    // The catalogue is small (about 1,500 CVEs): read it whole rather than ask for each id.
    const kev = new Set((await tx.selectFrom('kev_entries').select('cve').execute()).map((row) => row.cve));
    // One row per key: a statement may not update the same row twice (PostgreSQL refuses it).
    const unique = new Map<string, MatchedFinding & { releaseId: string }>();
    for (const finding of findings)
      unique.set(`${finding.releaseId}\n${finding.componentRef}\n${finding.vulnerability}`, finding);
    const rows = [...unique.values()].map((finding) => {
      const exploited = [finding.vulnerability, ...finding.aliases].some((id) => kev.has(id));
      return {
        id: newId(),
        release_id: finding.releaseId,
        product_id: productId,
        component_ref: finding.componentRef,
        purl: finding.purl ?? null,
        component_version: finding.version,
        vulnerability_id: finding.vulnerability,
        aliases: JSON.stringify(finding.aliases),
        advisory_ids: JSON.stringify(finding.advisoryIds),
        confidence: finding.confidence,
        severity: severityOf(finding.severity),
        state: 'under_investigation' as const,
        justification: null,
        fixed_release_id: null,
        exploited: exploited ? 1 : 0,
        exploited_since: exploited ? now : null,
        withdrawn: 0,
        created_at: now,
        updated_at: now,
      };
    });
    await this.store.insertMany(tx, 'findings', rows, {
      columns: ['release_id', 'component_ref', 'vulnerability_id'],
      update: ['aliases', 'advisory_ids', 'severity', 'withdrawn', 'updated_at'],
    });
  }

  async list(filter: {
    releaseId?: string | undefined;
    productId?: string | undefined;
    state?: VexState | undefined;
    limit: number;
    cursor?: string | undefined;
  }): Promise<{ findings: FindingView[]; nextCursor: string | null }> {
    let query = this.store.db
      .selectFrom('findings')
      .selectAll()
      .where('withdrawn', '=', 0)
      .orderBy('id')
      .limit(filter.limit + 1);
    if (filter.releaseId !== undefined) query = query.where('release_id', '=', filter.releaseId);
    if (filter.productId !== undefined) query = query.where('product_id', '=', filter.productId);
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    if (filter.cursor !== undefined) query = query.where('id', '>', filter.cursor);
    const rows = await query.execute();
    const page = rows.slice(0, filter.limit);
    const policies = await this.policiesOf(page.map((row) => row.product_id));
    const exposure = await this.exposureOf(page.map((row) => row.release_id));
    return {
      findings: page.map((row) =>
        toView(row, policies.get(row.product_id), exposure.get(row.release_id) ?? 0),
      ),
      nextCursor: rows.length > filter.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async get(id: string, db: Queryable = this.store.db): Promise<FindingView> {
    const row = await this.requireRow(db, id);
    const exposure = await this.exposureOf([row.release_id], db);
    return toView(
      row,
      (await this.policiesOf([row.product_id], db)).get(row.product_id),
      exposure.get(row.release_id) ?? 0,
    );
  }

  /** Devices still running each of these releases. */
  private async exposureOf(
    releaseIds: readonly string[],
    db: Queryable = this.store.db,
  ): Promise<Map<string, number>> {
    const ids = [...new Set(releaseIds)];
    if (ids.length === 0) return new Map();
    const releases = await db
      .selectFrom('releases')
      .select(['id', 'product_id', 'version'])
      .where('id', 'in', ids)
      .execute();
    return this.fleet.devicesRunning(
      releases.map((release) => ({
        id: release.id,
        productId: release.product_id,
        version: release.version,
      })),
      db,
    );
  }

  private async policiesOf(
    productIds: readonly string[],
    db: Queryable = this.store.db,
  ): Promise<Map<string, RemediationPolicy>> {
    const unique = [...new Set(productIds)];
    if (unique.length === 0) return new Map();
    const rows = await db
      .selectFrom('remediation_policies')
      .selectAll()
      .where('product_id', 'in', unique)
      .execute();
    return new Map(rows.map((row) => [row.product_id, JSON.parse(row.policy) as RemediationPolicy]));
  }

  /** A product's remediation deadlines by severity (days), recorded as remediation-policy.set. */
  async setPolicy(actor: Actor, productId: string, policy: RemediationPolicy): Promise<RemediationPolicy> {
    if (
      policy.exploited > Math.min(policy.critical, policy.high, policy.medium, policy.low, policy.unknown)
    ) {
      throw new VigilError(
        'REMEDIATION_POLICY_INVALID',
        'invalid',
        'an exploited vulnerability may not get longer than any severity',
      );
    }
    await this.ledger.transact(actor, async (tx, record) => {
      await requireProduct(tx, productId);
      const now = toRfc3339(this.clock.now());
      await tx
        .insertInto('remediation_policies')
        .values({ product_id: productId, policy: JSON.stringify(policy), updated_at: now })
        .onConflict((conflict) =>
          conflict.column('product_id').doUpdateSet({ policy: JSON.stringify(policy), updated_at: now }),
        )
        .execute();
      record({ type: 'remediation-policy.set', subject: productId, details: { ...policy } });
    });
    return policy;
  }

  /**
   * Records a VEX decision (CycloneDX 1.6 analysis / CSAF product status): who, when and why go to
   * the ledger as `finding.triaged`.
   */
  async triage(actor: Actor, id: string, change: TriageChange): Promise<FindingView> {
    if (change.state === 'not_affected' && change.justification === undefined) {
      throw new VigilError(
        'FINDING_JUSTIFICATION_MISSING',
        'invalid',
        'not_affected needs a justification (CSAF 2.0 §3.2.3.5, CycloneDX analysis.justification)',
      );
    }
    if (change.state !== 'not_affected' && change.justification !== undefined) {
      throw new VigilError(
        'FINDING_JUSTIFICATION_UNEXPECTED',
        'invalid',
        'only not_affected takes a justification',
      );
    }
    if (change.state === 'fixed' && change.fixedReleaseId === undefined) {
      throw new VigilError(
        'FINDING_FIX_MISSING',
        'invalid',
        'fixed names the release that fixes it (fixedReleaseId)',
      );
    }
    await this.ledger.transact(actor, async (tx, record) => {
      const row = await this.requireRow(tx, id);
      if (change.fixedReleaseId !== undefined) {
        const fix = await tx
          .selectFrom('releases')
          .select(['id', 'product_id'])
          .where('id', '=', change.fixedReleaseId)
          .executeTakeFirst();
        if (fix === undefined || fix.product_id !== row.product_id) {
          throw new VigilError(
            'FINDING_FIX_UNKNOWN',
            'invalid',
            `no release ${change.fixedReleaseId} of this product`,
          );
        }
      }
      await this.decide(tx, record, row, change);
    });
    return this.get(id);
  }

  /** CRA Annex I Part I (2)(a): no release ships with an affected or exploited finding nobody justified. */
  async blockers(release: Release): Promise<string[]> {
    const rows = await this.store.db
      .selectFrom('findings')
      .selectAll()
      .where('release_id', '=', release.id)
      .where('withdrawn', '=', 0)
      .where('state', 'in', ['affected', 'under_investigation'])
      .execute();
    return rows
      .filter((row) => row.state === 'affected' || row.exploited === 1)
      .map(
        (row) =>
          `${row.vulnerability_id} in ${row.purl ?? row.component_ref} (${row.state}${row.exploited === 1 ? ', actively exploited' : ''})`,
      );
  }

  /**
   * Applies a CycloneDX VEX (a supplier's, or the manufacturer's own analysis tool's) to a release:
   * each statement that holds for a component of the release's SBOM (references resolved by
   * bom-ref, BOM-Link or purl; version ranges evaluated) and names a finding's vulnerability or one
   * of its aliases becomes that finding's VEX decision, recorded as `finding.triaged` by the caller
   * with the VEX as its reason. All or nothing: a statement that cannot be applied (not_affected
   * without a justification) refuses the whole document.
   */
  async applyVex(
    actor: Actor,
    releaseId: string,
    document: Uint8Array,
    name: string,
  ): Promise<VexImportReport> {
    const stored = await this.store.db
      .selectFrom('release_sboms')
      .select('parsed')
      .where('release_id', '=', releaseId)
      .executeTakeFirst();
    if (stored === undefined) {
      const release = await this.store.db
        .selectFrom('releases')
        .select('id')
        .where('id', '=', releaseId)
        .executeTakeFirst();
      if (release === undefined)
        throw new VigilError('RELEASE_NOT_FOUND', 'not_found', `no release ${releaseId}`);
      throw new VigilError(
        'SBOM_NOT_FOUND',
        'conflict',
        `release ${releaseId} has no SBOM; a VEX speaks of the components an SBOM lists`,
      );
    }
    const application = applyCycloneDxVex(document, JSON.parse(stored.parsed) as ParsedSbom);
    for (const statement of application.statements) {
      if (statement.status === 'not_affected' && statement.justification === undefined) {
        throw new VigilError(
          'VULNS_VEX_JUSTIFICATION_MISSING',
          'invalid',
          `${statement.vulnerability} on ${statement.componentRef}: not_affected needs analysis.justification ` +
            '(CISA minimum requirements for VEX)',
        );
      }
    }
    const report: VexImportReport = {
      applied: [],
      unchanged: 0,
      withoutFinding: [],
      unresolved: application.unresolved,
      notApplicable: application.notApplicable,
    };
    await this.ledger.transact(actor, async (tx, record) => {
      const rows = await tx.selectFrom('findings').selectAll().where('release_id', '=', releaseId).execute();
      for (const statement of application.statements) {
        const names = new Set([statement.vulnerability, ...statement.aliases]);
        const matching = rows.filter(
          (row) =>
            row.component_ref === statement.componentRef &&
            [row.vulnerability_id, ...(JSON.parse(row.aliases) as string[])].some((id) => names.has(id)),
        );
        if (matching.length === 0) {
          report.withoutFinding.push({
            vulnerability: statement.vulnerability,
            componentRef: statement.componentRef,
          });
          continue;
        }
        for (const row of matching) {
          const change = {
            state: statement.status,
            justification: statement.justification,
            fixedReleaseId: statement.status === 'fixed' ? releaseId : undefined,
            reason: vexReason(name, statement.cyclonedxState, statement.detail),
          };
          if (
            row.state === change.state &&
            row.justification === (change.justification ?? null) &&
            row.fixed_release_id === (change.fixedReleaseId ?? null)
          ) {
            report.unchanged += 1;
            continue;
          }
          await this.decide(tx, record, row, change);
          report.applied.push({
            findingId: row.id,
            vulnerability: row.vulnerability_id,
            componentRef: row.component_ref,
            from: row.state,
            to: change.state,
            ...(change.justification === undefined ? {} : { justification: change.justification }),
          });
        }
      }
    });
    return report;
  }

  /** Writes one VEX decision on a finding inside `tx` and records it. */
  private async decide(
    tx: Tx,
    record: (event: LedgerEvent) => void,
    row: FindingRow,
    change: TriageChange,
  ): Promise<void> {
    const now = toRfc3339(this.clock.now());
    const exploited = change.exploited ?? row.exploited === 1;
    await tx
      .updateTable('findings')
      .set({
        state: change.state,
        justification: change.justification ?? null,
        fixed_release_id: change.fixedReleaseId ?? null,
        exploited: exploited ? 1 : 0,
        exploited_since: exploited ? (row.exploited_since ?? now) : null,
        ...(change.severity === undefined
          ? {}
          : {
              severity: JSON.stringify({
                score: change.severity.score ?? null,
                rating: change.severity.rating,
                vector: null,
                overridden: true,
              }),
            }),
        updated_at: now,
      })
      .where('id', '=', row.id)
      .execute();
    record(triaged(row, change));
    if (exploited && row.exploited !== 1) {
      await this.clocks.startForExploited(tx, record, {
        productId: row.product_id,
        vulnerability: row.vulnerability_id,
        component: row.purl ?? row.component_ref,
      });
    }
  }

  private async requireRow(db: Queryable, id: string): Promise<FindingRow> {
    const row = await db.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new VigilError('FINDING_NOT_FOUND', 'not_found', `no finding ${id}`);
    return row;
  }
}

/** The reason a VEX decision records: which document, what it says and why. */
function vexReason(name: string, state: string | undefined, detail: string | undefined): string {
  const said = `VEX ${name || 'document'}: ${state ?? 'listed without analysis'}`;
  return (detail === undefined ? said : `${said}: ${detail}`).slice(0, 2000);
}

function triaged(
  row: FindingRow,
  change: {
    state: VexState;
    justification?: string | undefined;
    fixedReleaseId?: string | undefined;
    exploited?: boolean | undefined;
    severity?: { rating: string; score?: number | undefined } | undefined;
    reason: string;
  },
): LedgerEvent {
  return {
    type: 'finding.triaged',
    subject: row.id,
    details: {
      vulnerability: row.vulnerability_id,
      releaseId: row.release_id,
      component: row.purl ?? row.component_ref,
      from: row.state,
      to: change.state,
      justification: change.justification ?? null,
      fixedReleaseId: change.fixedReleaseId ?? null,
      exploited: change.exploited ?? row.exploited === 1,
      ...(change.severity === undefined
        ? {}
        : {
            severity: {
              from: row.severity === null ? null : (JSON.parse(row.severity) as unknown),
              to: change.severity,
            },
          }),
      reason: change.reason,
    },
  };
}

function severityOf(score: SeverityScore | undefined): string | null {
  if (score === undefined) return null;
  return JSON.stringify({
    score: score.baseScore ?? null,
    rating: score.rating ?? null,
    vector: score.vector ?? null,
  });
}

/** The remediation deadline: by severity from when the finding was made, sooner when exploited; none once resolved. */
export function deadlineOf(
  row: Pick<FindingRow, 'state' | 'severity' | 'exploited' | 'exploited_since' | 'created_at'>,
  policy: RemediationPolicy = defaultRemediationPolicy,
): string | null {
  if (row.state === 'not_affected' || row.state === 'fixed') return null;
  const rating =
    (row.severity === null ? null : (JSON.parse(row.severity) as { rating: string | null }).rating) ??
    'unknown';
  const days = rating === 'none' ? policy.low : (policy[rating as keyof RemediationPolicy] ?? policy.unknown);
  const bySeverity = Date.parse(row.created_at) + days * 86_400_000;
  if (row.exploited === 1) {
    const exploitedDeadline =
      Date.parse(row.exploited_since ?? row.created_at) + policy.exploited * 86_400_000;
    return toRfc3339(new Date(Math.min(bySeverity, exploitedDeadline)));
  }
  return toRfc3339(new Date(bySeverity));
}

function toView(row: FindingRow, policy: RemediationPolicy | undefined, exposure: number): FindingView {
  return {
    id: row.id,
    vulnerability: row.vulnerability_id,
    aliases: JSON.parse(row.aliases) as string[],
    advisories: JSON.parse(row.advisory_ids) as string[],
    releaseId: row.release_id,
    productId: row.product_id,
    component: row.component_ref,
    purl: row.purl,
    version: row.component_version,
    confidence: row.confidence,
    severity: row.severity === null ? null : (JSON.parse(row.severity) as FindingView['severity']),
    state: row.state,
    justification: row.justification,
    fixedReleaseId: row.fixed_release_id,
    exploited: row.exploited === 1,
    withdrawn: row.withdrawn === 1,
    deadline: deadlineOf(row, policy),
    exposure,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item)) ?? [];
    group.push(item);
    groups.set(key(item), group);
  }
  return groups;
}
