import { VigilError } from '../../core/index.ts';

/** The stable codes this module throws; every one is of kind `invalid` (the evidence is at fault). */
export type DiceErrorCode =
  | 'ATTESTATION_DICE_TCB_INFO_MALFORMED'
  | 'ATTESTATION_DICE_TCB_INFO_MISSING'
  | 'ATTESTATION_DICE_CERTIFICATE_MALFORMED'
  | 'ATTESTATION_DICE_CERTIFICATE_EXPIRED'
  | 'ATTESTATION_DICE_CERTIFICATE_NOT_YET_VALID'
  | 'ATTESTATION_DICE_CHAIN_MALFORMED'
  | 'ATTESTATION_DICE_CHAIN_BROKEN'
  | 'ATTESTATION_DICE_SIGNATURE_INVALID'
  | 'ATTESTATION_DICE_CHAIN_UNTRUSTED'
  | 'ATTESTATION_DICE_ALIAS_KEY_UNSUPPORTED';

export function diceError(
  code: DiceErrorCode,
  message: string,
  options?: { cause?: unknown; facts?: Record<string, unknown> },
): VigilError {
  return new VigilError(code, 'invalid', message, options);
}
