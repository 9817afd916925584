import type { ReferenceValueStore } from '../attestation/index.ts';
import { runPeriodically, type Clock } from '../core/index.ts';
import type { Identity, Keystore } from '../identity/index.ts';
import { systemActor, type Ledger } from '../ledger/index.ts';
import type { ProductService } from '../products/index.ts';
import type { Store } from '../store/index.ts';
import { ArtifactStore } from './artifacts.ts';
import { DeviceUpdates } from './device-updates.ts';
import { Fleet } from './fleet.ts';
import { ReleaseService } from './releases.ts';
import { TufRepositories, type TufExpiries } from './repository.ts';
import { RolloutService } from './rollouts.ts';

export interface UpdatesOptions {
  store: Store;
  ledger: Ledger;
  clock: Clock;
  products: ProductService;
  identity: Identity;
  referenceValues: ReferenceValueStore;
  /** Holds root and targets keys (PKCS#11 when the installation uses it). */
  keystore: Keystore;
  /** Holds the online snapshot and timestamp keys. */
  onlineKeystore: Keystore;
  /** Where artifact bytes live, by SHA-256. */
  artifactDir: string;
  artifactMaxBytes?: number | undefined;
  expiries?: Partial<TufExpiries> | undefined;
}

/** Secure updates of one installation: releases, artifacts, and a TUF repository per product. */
export class Updates {
  readonly artifacts: ArtifactStore;
  readonly repositories: TufRepositories;
  readonly releases: ReleaseService;
  readonly fleet: Fleet;
  readonly rollouts: RolloutService;
  readonly devices: DeviceUpdates;

  constructor(options: UpdatesOptions) {
    const { store, ledger, clock } = options;
    this.artifacts = new ArtifactStore({ dir: options.artifactDir, maxBytes: options.artifactMaxBytes });
    this.repositories = new TufRepositories({
      store,
      ledger,
      clock,
      keystore: options.keystore,
      onlineKeystore: options.onlineKeystore,
      expiries: options.expiries,
    });
    this.releases = new ReleaseService({
      store,
      ledger,
      clock,
      products: options.products,
      artifacts: this.artifacts,
      repositories: this.repositories,
      referenceValues: options.referenceValues,
    });
    this.fleet = new Fleet({ store, ledger, clock, identity: options.identity });
    this.rollouts = new RolloutService({
      store,
      ledger,
      clock,
      identity: options.identity,
      releases: this.releases,
      fleet: this.fleet,
    });
    this.devices = new DeviceUpdates({
      store,
      ledger,
      clock,
      releases: this.releases,
      rollouts: this.rollouts,
      fleet: this.fleet,
    });
    this.rollouts.onChange(() => this.devices.forgetActiveRollouts());
  }

  /**
   * Upkeep: the rollout engine steps every five seconds (timeouts, validation, wave decisions),
   * and TUF metadata is re-signed before it lapses every ten minutes (the timestamp lives a day,
   * so a missed round or two is harmless). Returns a stop function.
   */
  startMaintenance(onError: (error: unknown) => void = () => undefined): () => Promise<void> {
    const stopRollouts = runPeriodically(() => this.rollouts.step(), { intervalMs: 5_000, onError });
    const stopMetadata = runPeriodically(
      async () => {
        await this.repositories.refreshExpiring(systemActor);
      },
      { intervalMs: 600_000, immediately: true, onError },
    );
    return async () => {
      await Promise.all([stopRollouts(), stopMetadata()]);
    };
  }
}
