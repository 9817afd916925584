export { AttestationNonces, defaultNonceSeconds, type IssuedNonce } from './nonces.ts';
export { Attestation, type AttestationOptions } from './attestation.ts';
export { EndorsementRoots } from './endorsement.ts';
export { attestationDeviceRoutes } from './device-routes.ts';
export { attestationRoutes } from './routes.ts';
export { attestationCommands } from './commands.ts';
export {
  appraise,
  defaultPolicy,
  statusOf,
  type AppraisalPolicy,
  type ReferenceValues,
} from './appraisal.ts';
export { evidenceFormats, type EvidenceFormat } from './formats.ts';
export { earProfile, verifierVersion } from './ear.ts';
export type { AttestationRecord, ReappraisalResult } from './service.ts';
export type { AttestationKey } from './keys.ts';
export * as tpm from './tpm/index.ts';
export * as dice from './dice/index.ts';
export { ReferenceValuesSchema } from './schemas.ts';
export type { ReferenceValueStore, ReferenceValuesInput } from './reference-values.ts';
