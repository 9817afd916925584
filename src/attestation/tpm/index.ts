/**
 * TPM 2.0 evidence, pure: bytes in, results out; no I/O. Every parser takes attacker-controlled bytes
 * and only ever throws VigilError with an ATTESTATION_TPM_* code (kind 'invalid').
 *
 * Structures: TPM 2.0 Library Part 2 (big-endian); event log: TCG PC Client Platform Firmware
 * Profile (PFP) 1.05 (little-endian). Order of trust: verifyQuoteSignature → nonce equals extraData →
 * computePcrDigest(replayEventLog(...)) equals pcrDigest → only then read secureBootState / bootComponents.
 */
export type { TpmEvidenceErrorCode } from './errors.ts';
export type { TpmHashAlgorithm } from './algorithms.ts';
export { parseAttest, type QuoteAttestation, type PcrSelection, type ClockInfo } from './attest.ts';
export { parseSignature, verifyQuoteSignature, type QuoteSignature } from './signature.ts';
export { computePcrDigest, type PcrValues } from './pcr-digest.ts';
export {
  parseEventLog,
  defaultEventLogLimits,
  type EventLog,
  type EventLogLimits,
  type LogEvent,
  type EventDigest,
  type SpecIdEvent,
} from './event-log.ts';
export { eventTypes, eventTypeName, type EventTypeName } from './event-types.ts';
export { replayEventLog } from './event-log-replay.ts';
export {
  secureBootState,
  bootComponents,
  bootComponentEventTypes,
  type SecureBootState,
  type BootComponent,
} from './boot-state.ts';
export {
  parsePublicArea,
  parseTpmtPublic,
  checkAttestationKeyAttributes,
  maxPublicAreaSize,
  type TpmPublicArea,
  type ObjectAttributes,
  type ObjectAttributeName,
  type SymmetricDefinition,
  type KeyScheme,
  type KdfScheme,
  type RsaParameters,
  type EccParameters,
  type EccCurveName,
  type RsaSchemeName,
  type EccSchemeName,
  type KdfSchemeName,
  type SymmetricAlgorithmName,
  type SymmetricModeName,
} from './public-area.ts';
export {
  makeCredential,
  encodeTpm2ToolsCredential,
  parseTpm2ToolsCredential,
  type MadeCredential,
  type RandomBytes,
} from './credential.ts';
export {
  verifyTpmEvidence,
  replayLog,
  quoteNonce,
  type TpmEvidence,
  type ReplayedLog,
  type ReplayCache,
} from './evidence.ts';
export { referenceValuesFromEventLog } from './reference-values.ts';
