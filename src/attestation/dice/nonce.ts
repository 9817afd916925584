/**
 * Proof of possession of the Alias key: the device signs the verifier's fresh nonce with the key
 * certified by its Alias certificate (TCG DICE Attestation Architecture §5.2). The signature is
 * attacker-controlled; a malformed one is simply not valid.
 */
import { verify, type KeyObject } from 'node:crypto';
import { diceError } from './errors.ts';

/** True when `signature` is a DER ECDSA P-256 / SHA-256 signature over `nonce` by `aliasPublicKey`. */
export function verifyNonceSignature(aliasPublicKey: KeyObject, nonce: Buffer, signature: Buffer): boolean {
  if (
    aliasPublicKey.type !== 'public' ||
    aliasPublicKey.asymmetricKeyType !== 'ec' ||
    aliasPublicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw diceError(
      'ATTESTATION_DICE_ALIAS_KEY_UNSUPPORTED',
      'the Alias key is not an ECDSA P-256 public key',
    );
  }
  if (!Buffer.isBuffer(nonce) || !Buffer.isBuffer(signature) || nonce.length === 0) return false;
  // An ECDSA P-256 DER signature is at most 72 bytes; anything longer is not one.
  if (signature.length > 72) return false;
  try {
    return verify('sha256', nonce, { key: aliasPublicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
