import type { Generated } from 'kysely';

/**
 * Every table of the platform. Times are RFC 3339 UTC strings; binary columns are Buffers
 * (BLOB on SQLite, BYTEA on PostgreSQL); ids are UUIDv7 strings.
 */
export interface Database {
  meta: MetaTable;
  ledger_sequence: LedgerSequenceTable;
  ledger_entries: LedgerEntriesTable;
  ledger_nodes: LedgerNodesTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  principals: PrincipalsTable;
  role_bindings: RoleBindingsTable;
  tokens: TokensTable;
  token_scope_usage: TokenScopeUsageTable;
  products: ProductsTable;
  product_owners: ProductOwnersTable;
  keystore_keys: KeystoreKeysTable;
  certificate_authorities: CertificateAuthoritiesTable;
  certificate_profiles: CertificateProfilesTable;
  devices: DevicesTable;
  certificates: CertificatesTable;
  crls: CrlsTable;
  change_counters: ChangeCountersTable;
  attestation_spent_nonces: AttestationSpentNoncesTable;
  attestation_keys: AttestationKeysTable;
  attestation_credential_challenges: AttestationCredentialChallengesTable;
  attestation_reference_values: AttestationReferenceValuesTable;
  attestation_policies: AttestationPoliciesTable;
  attestation_event_logs: AttestationEventLogsTable;
  attestations: AttestationsTable;
  attestation_signing_keys: AttestationSigningKeysTable;
  artifacts: ArtifactsTable;
  releases: ReleasesTable;
  release_artifacts: ReleaseArtifactsTable;
  release_approvals: ReleaseApprovalsTable;
  tuf_repositories: TufRepositoriesTable;
  tuf_keys: TufKeysTable;
  tuf_metadata: TufMetadataTable;
  sites: SitesTable;
  device_sites: DeviceSitesTable;
  device_filters: DeviceFiltersTable;
  update_policies: UpdatePoliciesTable;
  device_update_states: DeviceUpdateStatesTable;
  rollouts: RolloutsTable;
  rollout_devices: RolloutDevicesTable;
  update_reports: UpdateReportsTable;
  release_sboms: ReleaseSbomsTable;
  advisories: AdvisoriesTable;
  kev_entries: KevEntriesTable;
  findings: FindingsTable;
  cra_clocks: CraClocksTable;
  csaf_documents: CsafDocumentsTable;
  remediation_policies: RemediationPoliciesTable;
}

export interface MetaTable {
  key: string;
  value: string;
}

/** Single rows (`name` = 'append', 'integrate') that serialize appenders and the integrator. */
export interface LedgerSequenceTable {
  name: string;
  value: number;
}

export interface LedgerEntriesTable {
  idx: number;
  leaf: Buffer;
  leaf_hash: Buffer;
  type: string;
  subject: string | null;
  at: string;
}

/** Complete Merkle subtree hashes of level >= 1 (level 0 is `ledger_entries.leaf_hash`). */
export interface LedgerNodesTable {
  level: number;
  idx: number;
  hash: Buffer;
}

export interface LedgerCheckpointsTable {
  size: number;
  root_hash: Buffer;
  note: string;
  created_at: string;
}

export interface PrincipalsTable {
  id: string;
  kind: 'person' | 'service';
  name: string;
  email: string | null;
  created_at: string;
  disabled_at: string | null;
}

export interface RoleBindingsTable {
  principal_id: string;
  role: string;
  created_at: string;
}

export interface TokensTable {
  id: string;
  principal_id: string;
  name: string;
  token_hash: Buffer;
  scopes: string; // JSON array
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface TokenScopeUsageTable {
  token_id: string;
  scope: string;
  last_used_at: string;
}

export interface ProductsTable {
  id: string;
  name: string;
  model: string;
  hardware_revisions: string; // JSON array
  regimes: string; // JSON array
  support_start: string; // YYYY-MM-DD
  support_end: string; // YYYY-MM-DD
  expected_use_justification: string | null;
  member_states: Generated<string>; // JSON array of ISO 3166-1 alpha-2 codes where it is made available
  created_at: string;
  updated_at: string;
  version: Generated<number>;
}

export interface ProductOwnersTable {
  product_id: string;
  stage: string;
  principal_id: string;
  assigned_at: string;
}

/** Keys of the keystore: software keys wrapped with AES-256-GCM under the master key, or PKCS#11 handles. */
export interface KeystoreKeysTable {
  id: string;
  backend: 'software' | 'pkcs11';
  algorithm: string;
  label: string;
  public_key: Buffer; // SubjectPublicKeyInfo DER
  wrapped_key: Buffer | null; // software: nonce || ciphertext || tag of the PKCS#8 DER
  token_key_id: Buffer | null; // pkcs11: CKA_ID on the token
  created_at: string;
}

export interface CertificateAuthoritiesTable {
  id: string;
  kind: 'root' | 'issuing' | 'ocsp' | 'tls';
  product_id: string | null;
  parent_id: string | null;
  name: string;
  key_id: string;
  certificate: Buffer; // DER
  serial: string; // hex
  not_before: string;
  not_after: string;
  status: 'active' | 'retiring' | 'retired';
  created_at: string;
}

export interface CertificateProfilesTable {
  product_id: string;
  profile: string; // JSON
  version: number;
  updated_at: string;
}

export interface DevicesTable {
  id: string;
  product_id: string;
  serial: string;
  hardware_revision: string;
  status: 'registered' | 'enrolled' | 'revoked' | 'decommissioned';
  bootstrap_method: 'secret' | 'idevid';
  secret_hash: Buffer | null;
  secret_expires_at: string | null;
  secret_used_at: string | null;
  idevid_chain: string | null; // JSON array of PEM
  idevid_fingerprint: string | null; // SHA-256 hex of the IDevID leaf
  registered_at: string;
  enrolled_at: string | null;
  revoked_at: string | null;
  revocation_reason: string | null;
  decommissioned_at: string | null;
  wipe_confirmation: string | null; // JSON
  trust_status: 'affirming' | 'warning' | 'contraindicated' | 'none' | null;
  trust_appraised_at: string | null;
  trust_secure_boot: 'enabled' | 'disabled' | 'unknown' | null;
  trust_release: string | null;
  trust_attestation_id: string | null;
  quarantined_at: string | null;
  quarantine_reason: string | null;
}

export interface CertificatesTable {
  serial: string; // hex, unique per installation
  device_id: string;
  ca_id: string;
  fingerprint: string; // SHA-256 hex of the DER
  der: Buffer;
  subject: string;
  not_before: string;
  not_after: string;
  status: 'valid' | 'revoked';
  revoked_at: string | null;
  revocation_reason: string | null;
  issued_via: 'enroll' | 'reenroll';
  bootstrap_method: string;
  ledger_index: number | null;
  created_at: string;
}

export interface CrlsTable {
  ca_id: string;
  crl_number: number;
  der: Buffer;
  this_update: string;
  next_update: string;
}

/** Named counters that processes poll to notice changes made by others (e.g. revocations). */
export interface ChangeCountersTable {
  name: string;
  value: number;
}

/** Single-use attestation nonces, bound to the device that asked for them. */
export interface AttestationSpentNoncesTable {
  nonce: string; // hex
  device_id: string;
  expires_at: string;
  used_at: string;
}

export interface AttestationKeysTable {
  id: string;
  device_id: string;
  kind: 'tpm2' | 'dice';
  method: 'activate-credential' | 'factory';
  public_key: Buffer; // SubjectPublicKeyInfo DER (TPM AK, or the DICE DeviceID's key)
  tpm_public: Buffer | null; // TPMT_PUBLIC of the AK
  tpm_name: string | null; // hex TPM name of the AK
  ek_public: Buffer | null; // TPMT_PUBLIC of the EK it was activated against
  endorsement: 'ek-certificate' | 'factory' | 'first-use';
  ek_certificate: Buffer | null; // DER of the EK certificate that endorsed it, kept for auditors
  certificate: Buffer | null; // DER of the DICE DeviceID certificate
  bound_at: string;
  retired_at: string | null;
  // The TPM clock of the key's latest recorded appraisal (a reboot shows as a change).
  last_reset_count: number | null;
  last_restart_count: number | null;
}

export interface AttestationCredentialChallengesTable {
  id: string;
  device_id: string;
  ak_public: Buffer; // TPMT_PUBLIC
  ek_public: Buffer; // TPMT_PUBLIC
  endorsement: 'ek-certificate' | 'first-use';
  ek_certificate: Buffer | null;
  secret_hash: Buffer; // SHA-256 of the credential
  issued_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface AttestationReferenceValuesTable {
  id: string;
  product_id: string;
  hardware_revision: string;
  release: string; // '' when not tied to a release
  version: number;
  document: string; // JSON
  source: 'upload' | 'event-log';
  created_at: string;
}

export interface AttestationPoliciesTable {
  product_id: string;
  version: number;
  document: string; // JSON
  created_at: string;
}

export interface AttestationEventLogsTable {
  digest: string; // SHA-256 hex of the content
  content: Buffer;
  first_seen_at: string;
}

export interface AttestationsTable {
  id: string;
  device_id: string;
  format: string;
  key_id: string;
  nonce: string; // hex
  evidence: string; // canonical JSON of the submitted evidence, the event log replaced by sha256:<hex>
  evidence_digest: string; // SHA-256 hex of `evidence` (which commits to the log through its digest)
  event_log_digest: string | null;
  received_at: string;
  verifier_version: string;
  policy: string; // JSON {id, version}
  reference_values: string; // JSON [{id, release, version}]
  status: 'affirming' | 'warning' | 'contraindicated' | 'none';
  secure_boot: 'enabled' | 'disabled' | 'unknown';
  measured_release: string | null;
  trust_vector: string; // JSON
  appraisal: string; // JSON: the checks and what they found
  reset_count: number | null;
  restart_count: number | null;
  ear: string; // compact JWS
  record_digest: string; // SHA-256 hex of the canonical record, as the ledger holds it
}

export interface AttestationSigningKeysTable {
  kid: string; // RFC 7638 thumbprint
  key_id: string; // keystore key id
  algorithm: string;
  public_key: Buffer; // SubjectPublicKeyInfo DER
  created_at: string;
  retired_at: string | null;
}

/** Content-addressed artifact bytes (on disk under their SHA-256); one row per distinct content. */
export interface ArtifactsTable {
  sha256: string; // hex
  sha512: string; // hex
  length: number;
  created_at: string;
}

export interface ReleasesTable {
  id: string;
  product_id: string;
  version: string;
  security_version: number;
  hardware_revisions: string; // JSON array
  notes: string;
  security_update: number; // 0 or 1
  status: 'draft' | 'published';
  sbom: string | null; // the SBOM document as uploaded (opaque here)
  sbom_media_type: string | null;
  sbom_digest: string | null; // sha256:<hex> of `sbom`
  created_at: string;
  created_by: string;
  published_at: string | null;
  targets_version: number | null; // the targets.json version that first carried the release
}

export interface ReleaseArtifactsTable {
  release_id: string;
  name: string; // file name inside the release; the TUF target path is <version>/<name>
  sha256: string;
  added_at: string;
}

export interface ReleaseApprovalsTable {
  release_id: string;
  keyid: string; // TUF key id of the targets signer
  principal_id: string;
  approved_at: string;
}

export interface TufRepositoriesTable {
  product_id: string;
  root_threshold: number;
  targets_threshold: number;
  created_at: string;
}

export interface TufKeysTable {
  product_id: string;
  role: 'root' | 'targets' | 'snapshot' | 'timestamp';
  keyid: string; // SHA-256 of the key's canonical JSON (TUF specification §4.2)
  keystore_key_id: string;
  keystore_backend: 'software' | 'pkcs11';
  public_key: string; // PEM SubjectPublicKeyInfo, as the metadata carries it
  principal_id: string | null; // for a targets signer: who may approve with it (null: any releases:admin)
  added_at: string;
  retired_at: string | null;
}

export interface TufMetadataTable {
  product_id: string;
  role: 'root' | 'targets' | 'snapshot' | 'timestamp';
  version: number;
  document: string; // the served bytes: canonical JSON of the signed metadata
  expires_at: string;
  created_at: string;
}

export interface SitesTable {
  id: string;
  name: string;
  maintenance_window: string | null; // JSON {cron, durationMinutes, timeZone}; null: install any time
  created_at: string;
}

export interface DeviceSitesTable {
  device_id: string;
  site_id: string;
  assigned_at: string;
}

export interface DeviceFiltersTable {
  id: string;
  name: string;
  filter: string; // JSON
  created_at: string;
}

export interface UpdatePoliciesTable {
  product_id: string;
  postpone_limit: number; // how many times a device may postpone one update (CRA Annex I Part I (2)(c))
  updated_at: string;
}

/** What each device last said about its software, and the security version it must never go below. */
export interface DeviceUpdateStatesTable {
  device_id: string;
  version: string;
  security_floor: number;
  status: string;
  reported_at: string;
}

export interface RolloutsTable {
  id: string;
  release_id: string;
  product_id: string;
  name: string;
  selection: string; // JSON
  waves: string; // JSON WaveSpec[]
  validation_minutes: number;
  status: 'active' | 'paused' | 'aborted' | 'completed';
  pause_reason: string | null;
  current_wave: number;
  wave_started_at: string;
  revision: number; // bumped by every state change, so concurrent engine steps cannot both apply one
  created_at: string;
  created_by: string;
  finished_at: string | null;
}

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

export interface RolloutDevicesTable {
  rollout_id: string;
  device_id: string;
  wave: number;
  state: RolloutDeviceState;
  state_at: string;
  offered_at: string | null;
  installed_at: string | null;
  deadline_at: string | null;
  reason: string | null;
  postponements: number;
  postponed_until: string | null;
  attestation_id: string | null;
}

export interface UpdateReportsTable {
  id: string;
  rollout_id: string;
  device_id: string;
  step: string;
  version: string | null;
  reason: string | null;
  at: string;
}

/** A release's SBOM as the vulnerability module read it: the normalised document and its completeness. */
export interface ReleaseSbomsTable {
  release_id: string;
  format: string;
  spec_version: string;
  components: number;
  parsed: string; // JSON ParsedSbom
  completeness: string; // JSON
  parsed_at: string;
}

/** One advisory of one source (OSV record, CSAF document's vulnerability, ...), normalised. */
export interface AdvisoriesTable {
  id: string; // the source's id (GO-2022-0001, GHSA-..., CVE-... for CSAF)
  vulnerability_id: string; // canonical id of the alias group (a CVE when there is one)
  aliases: string; // JSON array
  source: string; // osv | csaf | ...
  modified: string | null;
  withdrawn: number; // 0 or 1
  digest: string; // sha256 of the normalised document: re-import of the same is a no-op
  document: string; // JSON Advisory
  imported_at: string;
}

export interface KevEntriesTable {
  cve: string;
  date_added: string;
  due_date: string | null;
  ransomware: string | null;
  vendor: string | null;
  product: string | null;
}

/** A vulnerability found in a component of a release, with its VEX state. */
export interface FindingsTable {
  id: string;
  release_id: string;
  product_id: string;
  component_ref: string;
  purl: string | null;
  component_version: string | null;
  vulnerability_id: string;
  aliases: string; // JSON array
  advisory_ids: string; // JSON array
  confidence: 'high' | 'low';
  severity: string | null; // JSON {score, rating, vector}
  state: 'under_investigation' | 'affected' | 'not_affected' | 'fixed';
  justification: string | null;
  fixed_release_id: string | null;
  exploited: number; // 0 or 1: KEV, or marked by a person
  exploited_since: string | null;
  withdrawn: number; // the advisories behind it no longer apply
  created_at: string;
  updated_at: string;
}

/**
 * CRA Art. 14 reporting clocks: an actively exploited vulnerability (Art. 14(1), (2)) or a severe
 * incident (Art. 14(3), (4)) of a product, from the manufacturer's awareness to the final report.
 */
export interface CraClocksTable {
  id: string;
  kind: 'exploited-vulnerability' | 'severe-incident';
  product_id: string;
  vulnerability_id: string | null;
  title: string;
  description: string;
  member_states: string; // JSON array of ISO 3166-1 alpha-2 codes where the product is made available
  aware_at: string;
  corrective_measure_at: string | null;
  corrective_measure: string | null;
  early_warning_sent_at: string | null;
  early_warning_reference: string | null;
  notification_sent_at: string | null;
  notification_reference: string | null;
  final_report_sent_at: string | null;
  final_report_reference: string | null;
  created_at: string;
}

/** Published CSAF 2.0 documents, every version kept (tracking id + version, OASIS CSAF 2.0 §3.2.1.12). */
export interface CsafDocumentsTable {
  tracking_id: string;
  version: number;
  product_id: string;
  category: 'csaf_vex' | 'csaf_security_advisory';
  document: string; // JSON, as served
  published_at: string;
}

/** Days a product allows to remediate a finding, by severity (and when actively exploited). */
export interface RemediationPoliciesTable {
  product_id: string;
  policy: string; // JSON {critical, high, medium, low, unknown, exploited}
  updated_at: string;
}
