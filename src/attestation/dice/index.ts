/**
 * Pure verification of DICE evidence (TCG DICE Attestation Architecture): bytes in, results out.
 * Everything here parses attacker-controlled input and only throws `VigilError` with
 * `ATTESTATION_DICE_*` codes.
 */
export {
  parseDiceTcbInfo,
  diceTcbInfoOid,
  type DiceTcbInfo,
  type DiceOperationalFlags,
  type Fwid,
} from './tcb-info.ts';
export { verifyDiceChain, type DiceChainRequest, type DiceLayer, type VerifiedDiceChain } from './chain.ts';
export { verifyNonceSignature } from './nonce.ts';
export type { DiceErrorCode } from './errors.ts';
export { verifyDiceEvidence, type DiceEvidence } from './evidence.ts';
