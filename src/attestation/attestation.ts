import { runPeriodically, type Clock } from '../core/index.ts';
import type { Identity, SoftwareKeystore } from '../identity/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Store } from '../store/index.ts';
import { EarKeys } from './ear.ts';
import type { EndorsementRoots } from './endorsement.ts';
import { AttestationKeys } from './keys.ts';
import { AttestationNonces } from './nonces.ts';
import { PolicyStore, ReferenceValueStore } from './reference-values.ts';
import { AttestationService } from './service.ts';

export interface AttestationOptions {
  store: Store;
  ledger: Ledger;
  clock: Clock;
  identity: Identity;
  /** Holds the EAR signing key (an online key, like the OCSP responder's). */
  softwareKeystore: SoftwareKeystore;
  /** Keys the nonce MAC; every process of the installation must pass the same (derived from the master key). */
  nonceKey: Buffer;
  nonceSeconds?: number | undefined;
  /** TPM manufacturer CAs; when set, every TPM key binding needs an EK certificate under them. */
  endorsementRoots?: EndorsementRoots | undefined;
  build: string;
}

/** The attestation capability of one installation: freshness, keys, reference values, policies, appraisal. */
export class Attestation {
  readonly nonces: AttestationNonces;
  readonly keys: AttestationKeys;
  readonly referenceValues: ReferenceValueStore;
  readonly policies: PolicyStore;
  readonly earKeys: EarKeys;
  readonly service: AttestationService;

  constructor(options: AttestationOptions) {
    const { store, ledger, clock } = options;
    this.nonces = new AttestationNonces({
      store,
      ledger,
      clock,
      key: options.nonceKey,
      lifetimeSeconds: options.nonceSeconds,
    });
    this.keys = new AttestationKeys({ store, ledger, clock, endorsementRoots: options.endorsementRoots });
    this.referenceValues = new ReferenceValueStore({ store, ledger, clock });
    this.policies = new PolicyStore({ store, ledger, clock });
    this.earKeys = new EarKeys({ store, keystore: options.softwareKeystore, clock });
    this.service = new AttestationService({
      store,
      ledger,
      clock,
      identity: options.identity,
      nonces: this.nonces,
      keys: this.keys,
      referenceValues: this.referenceValues,
      policies: this.policies,
      earKeys: this.earKeys,
      build: options.build,
    });
  }

  /**
   * Hourly upkeep: forgets spent nonces and credential challenges long expired (they would be
   * refused as expired anyway), so neither table grows with the fleet's history.
   */
  startMaintenance(onError: (error: unknown) => void = () => undefined): () => Promise<void> {
    return runPeriodically(
      async () => {
        await this.nonces.prune();
        await this.keys.pruneChallenges();
      },
      { intervalMs: 3_600_000, immediately: true, onError },
    );
  }
}
