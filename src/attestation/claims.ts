import type { KeyObject } from 'node:crypto';

/**
 * What a format's verifier establishes from authentic evidence, in terms every format shares
 * (RFC 9334 §3: the Verifier turns Evidence into claims it then appraises). Appraisal, policy and
 * the attestation result only ever see these; a new format (Arm PSA, ...) produces them too.
 */

/** One measured component, as reference values name it. */
export type MeasuredComponent =
  | {
      kind: 'tpm-event';
      pcr: number;
      /** PFP event type name, e.g. EV_EFI_BOOT_SERVICES_APPLICATION. */
      eventType: string;
      /** Digest per bank, lower-case hex. */
      digests: Record<string, string>;
    }
  | {
      kind: 'dice-layer';
      vendor: string | null;
      model: string | null;
      version: string | null;
      svn: number | null;
      /** FWIDs per hash algorithm name (sha256, sha384, ...), lower-case hex. */
      digests: Record<string, string>;
    };

export type SecureBoot = 'enabled' | 'disabled' | 'unknown';

export interface VerifiedClaims {
  /** The attestation key (our record id) whose signature made the evidence authentic. */
  keyId: string;
  /** What vouches for that key (an EK certificate, the factory, or only its first use). */
  endorsement: BoundKey['endorsement'];
  hardware: 'tpm2' | 'dice';
  nonce: Buffer;
  components: MeasuredComponent[];
  /**
   * Where the evidence proves measurements (TPM: `pcr:<n>` for each quoted PCR the log reproduces;
   * DICE: `dice:<layer>`): the appraisal policy names what must be covered.
   */
  coverage: string[];
  /**
   * Measurements the evidence proves but cannot account for (TPM: quoted PCRs the event log does
   * not reproduce). Anything here means something ran that nobody can name.
   */
  unexplained: string[];
  secureBoot: SecureBoot;
  /** The lowest security version the evidence itself states (DICE SVN), if any. */
  securityVersion: number | null;
  /** TPM clock: a changed resetCount means the platform rebooted since the last quote. */
  tpmClock: { resetCount: number; restartCount: number; clock: string } | null;
  /** Format-specific facts kept with the record (event-log digest, quoted PCRs, chain subjects). */
  facts: Record<string, unknown>;
}

/** A key bound to the device that evidence may be signed with. */
export interface BoundKey {
  id: string;
  kind: 'tpm2' | 'dice';
  /** The TPM AK (or the DICE DeviceID's key). */
  publicKey: KeyObject;
  /** DER of the DICE DeviceID certificate. */
  certificate: Buffer | null;
  /** What vouches for the key being the device's hardware's (see AttestationKey.endorsement). */
  endorsement: 'ek-certificate' | 'factory' | 'first-use';
  /** The TPM clock of the key's latest recorded appraisal, if any. */
  lastClock: TpmClock | null;
}

/** The TPM counters that tell a reboot (resetCount) or a resume (restartCount) apart. */
export interface TpmClock {
  resetCount: number;
  restartCount: number;
}

/** A TPM clock from its two stored counts: null unless both are known. */
export function tpmClockOf(resetCount: number | null, restartCount: number | null): TpmClock | null {
  return resetCount === null || restartCount === null
    ? null
    : { resetCount: Number(resetCount), restartCount: Number(restartCount) };
}
