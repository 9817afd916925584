import { VigilError } from '../../core/index.ts';

/** The stable codes this module throws; every one is kind 'invalid' (the evidence is at fault). */
export type TpmEvidenceErrorCode =
  | 'ATTESTATION_TPM_ATTEST_MALFORMED'
  | 'ATTESTATION_TPM_ATTEST_MAGIC'
  | 'ATTESTATION_TPM_ATTEST_TYPE'
  | 'ATTESTATION_TPM_SIGNATURE_MALFORMED'
  | 'ATTESTATION_TPM_SIGNATURE_UNSUPPORTED'
  | 'ATTESTATION_TPM_SIGNATURE_INVALID'
  | 'ATTESTATION_TPM_KEY_INVALID'
  | 'ATTESTATION_TPM_KEY_MISMATCH'
  | 'ATTESTATION_TPM_HASH_UNSUPPORTED'
  | 'ATTESTATION_TPM_PCR_VALUE_MISSING'
  | 'ATTESTATION_TPM_EVENT_LOG_EMPTY'
  | 'ATTESTATION_TPM_EVENT_LOG_MALFORMED'
  | 'ATTESTATION_TPM_EVENT_LOG_UNSUPPORTED'
  | 'ATTESTATION_TPM_EVENT_LOG_TOO_LARGE'
  | 'ATTESTATION_TPM_EVENT_LOG_BANK_MISSING'
  | 'ATTESTATION_TPM_EVENT_DIGEST_MISMATCH';

export function tpmError(
  code: TpmEvidenceErrorCode,
  message: string,
  facts?: Record<string, unknown>,
): VigilError {
  return new VigilError(code, 'invalid', message, facts === undefined ? undefined : { facts });
}
