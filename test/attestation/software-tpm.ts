// A software stand-in for a TPM, for tests and benchmarks that need many quotes fast: a P-256 AK
// whose public area is marshalled as tpm2_createak writes it, sha256 PCRs replayed from a real
// firmware log, and quotes signed exactly as a TPM signs them (TPMS_ATTEST, TPMT_SIGNATURE).
// The peer tests prove the same path with swtpm + tpm2-tools.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseEventLog, replayEventLog } from '../../src/attestation/tpm/index.ts';
import { sized, uint16, uint32 } from '../../src/attestation/tpm/marshal.ts';
import { buildQuoteAttest, ecdsaTpmtSignature } from './tpm/quote-fixtures.ts';
import { eventLogDir } from './tpm/event-log-fixtures.ts';

export const quotedPcrs = [0, 1, 2, 3, 4, 5, 6, 7];

/** TPMA_OBJECT of `tpm2_createak`: fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign. */
const akAttributes = 0x00050072;

export function readEventLog(name: string): Buffer {
  return readFileSync(`${eventLogDir}${name}`);
}

export class SoftwareTpm {
  readonly ak: { publicKey: KeyObject; privateKey: KeyObject };
  private pcrs = new Map<number, Buffer>();
  resetCount = 7;
  restartCount = 2;

  constructor(ak = generateKeyPairSync('ec', { namedCurve: 'P-256' })) {
    this.ak = ak;
  }

  /** TPM2B_PUBLIC of the AK (ECC P-256, ECDSA/SHA-256), as `tpm2_createak -u` writes it. */
  akPublic(attributes = akAttributes): Buffer {
    const jwk = this.ak.publicKey.export({ format: 'jwk' });
    const tpmt = Buffer.concat([
      uint16(0x0023), // TPM_ALG_ECC
      uint16(0x000b), // nameAlg sha256
      uint32(attributes),
      sized(Buffer.alloc(0)), // authPolicy
      uint16(0x0010), // symmetric: TPM_ALG_NULL
      Buffer.from('0018000b', 'hex'), // scheme ECDSA / sha256
      uint16(0x0003), // NIST P-256
      uint16(0x0010), // kdf: TPM_ALG_NULL
      sized(Buffer.from(jwk.x!, 'base64url')),
      sized(Buffer.from(jwk.y!, 'base64url')),
    ]);
    return sized(tpmt);
  }

  /** Resets the PCRs and extends every measured event of `log` (as firmware would at boot). */
  boot(log: Buffer): void {
    this.pcrs = replayEventLog(parseEventLog(log), 'sha256');
    this.selections.clear();
  }

  extend(pcr: number, digest: Buffer): void {
    this.selections.clear();
    const current = this.pcrs.get(pcr) ?? Buffer.alloc(32);
    this.pcrs.set(pcr, createHash('sha256').update(current).update(digest).digest());
  }

  /** A quote over `pcrs` with `nonce` in extraData, signed by the AK. */
  quote(
    nonce: Buffer,
    pcrs: number[] = quotedPcrs,
  ): { quote: Buffer; signature: Buffer; values: Record<string, string> } {
    const { values, digest } = this.selection(pcrs);
    const quote = buildQuoteAttest({
      nonce,
      pcrs,
      pcrDigest: digest,
      resetCount: this.resetCount,
      restartCount: this.restartCount,
    });
    return { quote, signature: ecdsaTpmtSignature(quote, this.ak.privateKey), values };
  }

  /** The values and composite digest of a PCR selection: kept until a PCR changes (benchmarks quote often). */
  private selection(pcrs: number[]): { values: Record<string, string>; digest: Buffer } {
    const key = pcrs.join(',');
    let selected = this.selections.get(key);
    if (selected === undefined) {
      const values: Record<string, string> = {};
      const hash = createHash('sha256');
      for (const pcr of pcrs) {
        const value = this.pcrs.get(pcr) ?? Buffer.alloc(32);
        values[String(pcr)] = value.toString('hex');
        hash.update(value);
      }
      selected = { values, digest: hash.digest() };
      this.selections.set(key, selected);
    }
    return { values: { ...selected.values }, digest: selected.digest };
  }

  private readonly selections = new Map<string, { values: Record<string, string>; digest: Buffer }>();

  /** The wire evidence of format tpm2-quote for `nonce`. */
  evidence(nonce: Buffer, eventLog: Buffer, pcrs: number[] = quotedPcrs): Record<string, unknown> {
    const { quote, signature, values } = this.quote(nonce, pcrs);
    return {
      quote: quote.toString('base64'),
      signature: signature.toString('base64'),
      pcrs: { sha256: values },
      eventLog: eventLog.toString('base64'),
    };
  }
}
