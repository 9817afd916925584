/**
 * The JSON the device endpoint speaks for attestation, as the device sees it (the device API's
 * OpenAPI document is the contract). The agent keeps its own copy of these shapes on purpose: it is
 * what a device runs, so it links nothing of the server, only the wire between them.
 */

/** POST /device/v1/attestation/nonce → 201. */
export interface NonceResponse {
  /** The server's nonce (44 bytes: random, expiry, device tag, MAC), base64. */
  nonce: string;
  expiresAt: string;
}

/** POST /device/v1/attestation/keys (binding a TPM AK, step 1). */
export interface KeyBindingRequest {
  format: 'tpm2';
  /** TPM2B_PUBLIC of the EK as `tpm2_createek -u` writes it, base64. */
  ekPublic: string;
  /** TPM2B_PUBLIC of the AK as `tpm2_createak -u` (or `tpm2_readpublic -o`) writes it, base64. */
  akPublic: string;
  /**
   * The EK certificate from the TPM's NV memory (DER, base64), when the TPM has one. A server that
   * trusts TPM manufacturer CAs requires it (ATTESTATION_EK_CERTIFICATE_REQUIRED) and checks that it
   * chains to them and is for exactly this EK (ATTESTATION_EK_CERTIFICATE_INVALID).
   */
  ekCertificate?: string;
}

/** → 201: TPM2_MakeCredential of a secret for the AK's Name under the EK. */
export interface CredentialChallenge {
  challengeId: string;
  /** A tpm2-tools credential file (what `tpm2_activatecredential -i` reads), base64. */
  credentialBlob: string;
  /** The AK's TPM Name as the server computed it, hex. */
  akName: string;
  expiresAt: string;
}

/** A key bound to the device (GET /device/v1/attestation/keys, and the answer to activation). */
export interface BoundKey {
  id: string;
  kind: 'tpm2' | 'dice';
  method: 'activate-credential' | 'factory';
  akName: string | null;
  /** What vouches for the key: a TPM manufacturer's EK certificate, the factory, or only its first use. */
  endorsement?: 'ek-certificate' | 'factory' | 'first-use';
  publicKey: string;
  boundAt: string;
  retiredAt: string | null;
}

/** POST /device/v1/attestation/evidence, format "tpm2-quote": the quote and exactly one of the log or its digest. */
export type TpmQuoteEvidence = QuoteFields & ({ eventLog: string } | { eventLogDigest: string });

interface QuoteFields {
  /** TPMS_ATTEST as `tpm2_quote -m` writes it, base64. */
  quote: string;
  /** TPMT_SIGNATURE as `tpm2_quote -s` writes it, base64. */
  signature: string;
  /** Exactly the quoted PCRs: bank → PCR index → hex value. */
  pcrs: Record<string, Record<string, string>>;
  /** The firmware event log (binary_bios_measurements), base64. */
  eventLog?: string;
  /**
   * Instead of `eventLog`: `sha256:<hex>` of a log the server already holds. A server that does not
   * hold it refuses with ATTESTATION_EVENT_LOG_UNKNOWN before it looks at the nonce: send the log.
   */
  eventLogDigest?: string;
}

/** POST /device/v1/attestation/evidence, format "dice-chain". */
export interface DiceChainEvidence {
  /** DER certificates, base64, Alias first, up to or through the DeviceID. */
  chain: string[];
  /** The nonce the Alias key signed, base64. */
  nonce: string;
  /** DER ECDSA P-256/SHA-256 signature by the Alias key over the nonce bytes, base64. */
  signature: string;
}

export type EvidenceSubmission =
  | { format: 'tpm2-quote'; evidence: TpmQuoteEvidence }
  | { format: 'dice-chain'; evidence: DiceChainEvidence };

export type TrustStatus = 'affirming' | 'warning' | 'contraindicated' | 'none';

/** → 201: the appraisal the server recorded (the fields the agent reads; the rest passes through). */
export interface AttestationRecord {
  id: string;
  status: TrustStatus;
  secureBoot: 'enabled' | 'disabled' | 'unknown';
  measuredRelease: string | null;
  findings: { check: string; outcome: string; detail: string }[];
  rebooted: boolean | null;
  tpmClock: { resetCount: number; restartCount: number } | null;
  ear: string;
  /** A nonce for the next attestation (like ACME's Replay-Nonce), valid until its expiresAt. */
  nextNonce?: NonceResponse;
  [field: string]: unknown;
}

/** RFC 9457 problem details with Vigil's stable `code`. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
}

// --- Secure updates (the device API's /device/v1/checkin and /device/v1/updates/...) ---------

/** POST /device/v1/checkin. */
export interface CheckinRequest {
  version: string;
  securityVersion?: number;
  status?: 'idle' | 'downloading' | 'installing' | 'error';
}

/** Where a device stands in a rollout, as the server records it. */
export type RolloutDeviceState =
  | 'assigned'
  | 'offered'
  | 'downloading'
  | 'downloaded'
  | 'installing'
  | 'installed'
  | 'validated'
  | 'failed'
  | 'timed-out'
  | 'ineligible'
  | 'left';

/** A TUF target of the offered release, as the server describes it (the TUF metadata is what counts). */
export interface OfferedTarget {
  /** `<version>/<file>`. */
  path: string;
  length: number;
  hashes: { sha256: string; sha512: string };
}

/** The device's site's maintenance window, now. */
export interface InstallWindow {
  open: boolean;
  closesAt: string | null;
  opensAt: string | null;
}

/** The update a check-in offers. */
export interface UpdateOffer {
  rolloutId: string;
  releaseId: string;
  version: string;
  securityVersion: number;
  securityUpdate: boolean;
  /** The product's TUF repository on the device endpoint: `/tuf/<productId>/`. */
  repository: string;
  targets: OfferedTarget[];
  state: RolloutDeviceState;
  deadline: string | null;
  installWindow: InstallWindow;
  postponedUntil: string | null;
  postponementsLeft: number;
}

/** → 200. */
export interface CheckinResponse {
  update: UpdateOffer | null;
  /** With no update to offer: the device's latest rollout and where it stands in it (null if none). */
  last?: {
    rolloutId: string;
    releaseId: string;
    state: RolloutDeviceState;
    reason: string | null;
    rolloutStatus: string;
  } | null;
}

export type ReportStep = 'downloading' | 'downloaded' | 'installing' | 'installed' | 'failed';

/**
 * POST /device/v1/updates/{rolloutId}/report. `installing` outside the site's maintenance window
 * is refused (409 UPDATE_OUTSIDE_MAINTENANCE_WINDOW); `installed` carries the release's version;
 * `failed` says why.
 */
export interface UpdateReportRequest {
  step: ReportStep;
  version?: string;
  reason?: string;
}

/** → 200. */
export interface UpdateReportResponse {
  rolloutId: string;
  state: RolloutDeviceState;
}

/** POST /device/v1/updates/{rolloutId}/postpone (CRA Annex I Part I (2)(c)). */
export interface PostponeRequest {
  hours: number;
  reason?: string;
}

/** → 200; over the product's limit → 409 UPDATE_POSTPONE_LIMIT. */
export interface PostponeResponse {
  rolloutId: string;
  postponedUntil: string;
  postponementsLeft: number;
}

/** The `custom` fields of each TUF target in Vigil's repositories (signed with the targets role). */
export interface TargetCustom {
  releaseId: string;
  version: string;
  securityVersion: number;
  hardwareRevisions: string[];
  securityUpdate: boolean;
  sbomDigest: string | null;
}

/** GET /device/v1/whoami (the fields the agent reads). */
export interface WhoAmI {
  deviceId: string;
  serial: string;
  productId: string;
  hardwareRevision: string;
  status: string;
}

// --- The admin API as the simulated factory uses it ----------------------------------------------

/** POST /api/v1/devices/bulk → 200 `{results}`: one per device, the secret only at creation. */
export interface FactoryRegistrationResult {
  serial: string;
  outcome: 'created' | 'existing' | 'rejected';
  id?: string;
  enrollmentSecret?: string;
  error?: { code: string; detail: string };
}

/** POST /api/v1/devices/{id}/attestation-keys with a DICE DeviceID certificate → 201. */
export interface FactoryAttestationKey {
  id: string;
  kind: 'tpm2' | 'dice';
  endorsement?: string;
}
