/**
 * The DICE evidence format: the certificate chain from the Alias certificate up to (or through) the
 * registered DeviceID, and the Alias key's signature over the verifier's nonce. Verification:
 * chain to a bound DeviceID at the evidence's time → nonce signature → only then the layers'
 * DiceTcbInfo measurements are claims.
 */
import type { BoundKey, MeasuredComponent, SecureBoot, VerifiedClaims } from '../claims.ts';
import { verifyDiceChain, type DiceLayer } from './chain.ts';
import { diceError } from './errors.ts';
import { verifyNonceSignature } from './nonce.ts';

export interface DiceEvidence {
  /** DER certificates, Alias first. */
  chain: Buffer[];
  nonce: Buffer;
  /** DER ECDSA P-256 / SHA-256 signature by the Alias key over the nonce. */
  signature: Buffer;
}

const fwidAlgorithms: Readonly<Record<string, string>> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '2.16.840.1.101.3.4.2.8': 'sha3-256',
  '2.16.840.1.101.3.4.2.9': 'sha3-384',
  '2.16.840.1.101.3.4.2.10': 'sha3-512',
};

export function verifyDiceEvidence(
  evidence: DiceEvidence,
  keys: readonly BoundKey[],
  at: Date,
): VerifiedClaims {
  const anchors = keys.filter((key) => key.kind === 'dice' && key.certificate !== null);
  if (anchors.length === 0)
    throw diceError('ATTESTATION_DICE_CHAIN_UNTRUSTED', 'no DeviceID is registered for this device');
  let failure: unknown;
  for (const anchor of anchors) {
    let verified;
    try {
      verified = verifyDiceChain({ chain: evidence.chain, deviceIdCertificate: anchor.certificate!, at });
    } catch (error) {
      failure ??= error;
      continue;
    }
    if (!verifyNonceSignature(verified.aliasPublicKey, evidence.nonce, evidence.signature))
      throw diceError('ATTESTATION_DICE_SIGNATURE_INVALID', 'the Alias key did not sign this nonce');
    return { ...claimsOf(anchor.id, evidence.nonce, verified.layers), endorsement: anchor.endorsement };
  }
  throw failure;
}

function claimsOf(keyId: string, nonce: Buffer, layers: DiceLayer[]): Omit<VerifiedClaims, 'endorsement'> {
  const components: MeasuredComponent[] = layers.map((layer) => {
    const digests: Record<string, string> = {};
    for (const fwid of layer.tcbInfo.fwids ?? []) {
      digests[fwidAlgorithms[fwid.hashAlgorithm] ?? fwid.hashAlgorithm] = fwid.digest.toString('hex');
    }
    return {
      kind: 'dice-layer',
      vendor: layer.tcbInfo.vendor ?? null,
      model: layer.tcbInfo.model ?? null,
      version: layer.tcbInfo.version ?? null,
      svn: layer.tcbInfo.svn ?? null,
      digests,
    };
  });
  const svns = layers.flatMap((layer) => (layer.tcbInfo.svn === undefined ? [] : [layer.tcbInfo.svn]));
  return {
    keyId,
    hardware: 'dice',
    nonce,
    components,
    coverage: layers.map((_layer, position) => `dice:${position}`),
    unexplained: [],
    secureBoot: secureBootOf(layers),
    securityVersion: svns.length === 0 ? null : Math.min(...svns),
    tpmClock: null,
    facts: { layers: layers.map((layer) => layer.subject) },
  };
}

/**
 * DICE has no Secure Boot variable; the closest claim is OperationalFlags (§6.1.1): a layer that
 * reports notSecure, debug or recovery did not boot in its secure configuration.
 */
function secureBootOf(layers: DiceLayer[]): SecureBoot {
  const flags = layers.map((layer) => layer.tcbInfo.flags);
  if (flags.some((flag) => flag !== undefined && (flag.notSecure || flag.debug || flag.recovery)))
    return 'disabled';
  return flags.length > 0 && flags.every((flag) => flag !== undefined) ? 'enabled' : 'unknown';
}
