/**
 * A software DICE attester: the device's DICE chain (Alias certificate first, up to or through
 * the DeviceID) as PEM, and the Alias private key that signs the verifier's nonce (TCG DICE
 * Attestation Architecture §5.2). Real DICE hardware derives the Alias key at boot; this reads it
 * from a file, which is what tests and simulators need.
 */
import { X509Certificate, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { agentError } from './errors.ts';
import type { DiceChainEvidence } from './wire.ts';

export interface DiceAttesterOptions {
  chainFile: string;
  keyFile: string;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw agentError(
      'AGENT_FILE_UNREADABLE',
      'invalid',
      `cannot read ${what} ${path}: ${(error as Error).message}`,
    );
  }
}

export class DiceAttester {
  private readonly chain: X509Certificate[];
  private readonly aliasKey: KeyObject;

  constructor(options: DiceAttesterOptions) {
    const pems = readText(options.chainFile, 'the DICE chain').match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    );
    if (pems === null)
      throw agentError(
        'AGENT_DICE_CHAIN_INVALID',
        'invalid',
        `${options.chainFile} holds no PEM certificate`,
      );
    this.chain = pems.map((pem, position) => {
      try {
        return new X509Certificate(pem);
      } catch (error) {
        throw agentError(
          'AGENT_DICE_CHAIN_INVALID',
          'invalid',
          `certificate ${position + 1} in ${options.chainFile} does not parse: ${(error as Error).message}`,
        );
      }
    });
    const keyPem = readText(options.keyFile, 'the Alias key');
    try {
      this.aliasKey = createPrivateKey(keyPem);
    } catch {
      throw agentError('AGENT_DICE_KEY_INVALID', 'invalid', `${options.keyFile} is not a PEM private key`);
    }
    if (
      this.aliasKey.asymmetricKeyType !== 'ec' ||
      this.aliasKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    )
      throw agentError('AGENT_DICE_KEY_INVALID', 'invalid', 'the Alias key must be an ECDSA P-256 key');
    const spki = (key: KeyObject) => key.export({ format: 'der', type: 'spki' });
    if (!spki(createPublicKey(this.aliasKey)).equals(spki(this.chain[0]!.publicKey)))
      throw agentError(
        'AGENT_DICE_KEY_INVALID',
        'invalid',
        `the Alias key does not belong to the first certificate of ${options.chainFile} (${this.chain[0]!.subject.replace(/\n/g, ', ')})`,
      );
  }

  /** The chain and the Alias key's DER ECDSA P-256/SHA-256 signature over the nonce bytes. */
  collectEvidence(nonce: Buffer): DiceChainEvidence {
    return {
      chain: this.chain.map((certificate) => certificate.raw.toString('base64')),
      nonce: nonce.toString('base64'),
      signature: sign('sha256', nonce, { key: this.aliasKey, dsaEncoding: 'der' }).toString('base64'),
    };
  }
}
