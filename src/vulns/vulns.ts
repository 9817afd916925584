import type { Clock } from '../core/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Store } from '../store/index.ts';
import type { Updates } from '../updates/index.ts';
import { AdvisoryStore } from './advisory-store.ts';
import { CraClocks } from './clocks.ts';
import { CsafPublications } from './csaf/publication.ts';
import { Findings } from './findings.ts';
import { ReleaseSboms } from './sboms.ts';

export interface VulnsOptions {
  store: Store;
  ledger: Ledger;
  clock: Clock;
  updates: Updates;
  build: string;
}

/** Vulnerability handling of one installation: release SBOMs, advisories, findings and their triage. */
export class Vulns {
  readonly sboms: ReleaseSboms;
  readonly findings: Findings;
  readonly advisories: AdvisoryStore;
  readonly clocks: CraClocks;
  readonly csaf: CsafPublications;

  private readonly options: VulnsOptions;

  /** A release's id, version and product name, for documents that describe it. */
  async releaseSummary(id: string): Promise<{ id: string; version: string; productName: string }> {
    const release = await this.options.updates.releases.get(id);
    const product = await this.options.store.db
      .selectFrom('products')
      .select('name')
      .where('id', '=', release.productId)
      .executeTakeFirstOrThrow();
    return { id: release.id, version: release.version, productName: product.name };
  }

  constructor(options: VulnsOptions) {
    this.options = options;
    const { store, ledger, clock } = options;
    this.sboms = new ReleaseSboms({ store, clock });
    this.clocks = new CraClocks({ store, ledger, clock });
    this.csaf = new CsafPublications({ store, ledger, clock, build: options.build });
    this.findings = new Findings({ store, ledger, clock, clocks: this.clocks, fleet: options.updates.fleet });
    this.advisories = new AdvisoryStore({ store, ledger, clock, findings: this.findings });
    // Every SBOM attached to a release is read here (parsed, validated, kept) and matched against
    // every advisory in the same transaction; every publication passes the findings gate.
    this.sboms.onStored((tx, record, release, sbom) =>
      this.findings.matchSbom(tx, record, release, sbom).then(() => undefined),
    );
    options.updates.releases.useSbomReader(this.sboms);
    options.updates.releases.addPublicationGate(this.findings);
  }
}
