import type { Clock } from '../core/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Store } from '../store/index.ts';
import type { Updates } from '../updates/index.ts';
import { AdvisoryStore } from './advisory-store.ts';
import { CraClocks } from './clocks.ts';
import { Findings } from './findings.ts';
import { ReleaseSboms } from './sboms.ts';

export interface VulnsOptions {
  store: Store;
  ledger: Ledger;
  clock: Clock;
  updates: Updates;
}

/** Vulnerability handling of one installation: release SBOMs, advisories, findings and their triage. */
export class Vulns {
  readonly sboms: ReleaseSboms;
  readonly findings: Findings;
  readonly advisories: AdvisoryStore;
  readonly clocks: CraClocks;

  constructor(options: VulnsOptions) {
    const { store, ledger, clock } = options;
    this.sboms = new ReleaseSboms({ store, clock });
    this.clocks = new CraClocks({ store, ledger, clock });
    this.findings = new Findings({ store, ledger, clock, clocks: this.clocks });
    this.advisories = new AdvisoryStore({ store, ledger, clock, findings: this.findings });
    // Every SBOM attached to a release is read here (parsed, validated, kept) and matched against
    // every advisory in the same transaction; every publication passes the findings gate.
    this.sboms.onStored((tx, release, sbom) =>
      this.findings.matchSbom(tx, release, sbom).then(() => undefined),
    );
    options.updates.releases.useSbomReader(this.sboms);
    options.updates.releases.addPublicationGate(this.findings);
  }
}
