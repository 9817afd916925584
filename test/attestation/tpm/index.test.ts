import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import {
  computePcrDigest,
  parseAttest,
  parseEventLog,
  parseSignature,
  replayEventLog,
  verifyQuoteSignature,
} from '../../../src/attestation/tpm/index.ts';
import { requirePeer } from '../../support/peers.ts';
import { startSwtpm, swtpmAvailable, swtpmHint, type Swtpm } from '../../support/swtpm.ts';
import { readEventLogFile } from './event-log-fixtures.ts';

const peersAvailable = swtpmAvailable('tpm2_createek', 'tpm2_createak', 'tpm2_quote', 'tpm2_pcrread');
const quotedPcrs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14];

/** A swtpm in a temp dir, its AK, and a quote over PCRs that replayed a real firmware log. */
let fixture: Swtpm | undefined;

async function readPcrs(tool: Swtpm['tool']): Promise<Map<number, Buffer>> {
  const out = await tool(['tpm2_pcrread', `sha256:${quotedPcrs.join(',')}`]);
  const values = new Map<number, Buffer>();
  for (const match of out.matchAll(/^\s+(\d+)\s*: 0x([0-9A-Fa-f]+)$/gm))
    values.set(Number(match[1]), Buffer.from(match[2]!, 'hex'));
  return values;
}

describe('TPM quote evidence from swtpm + tpm2-tools', () => {
  before(async () => {
    if (peersAvailable) fixture = await startSwtpm();
  });

  after(async () => {
    await fixture?.stop();
  });

  it('verifies a real quote over PCRs replayed from a firmware log, end to end', async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', peersAvailable && fixture !== undefined, swtpmHint)) return;
    const { tool, file } = fixture!;
    await tool(['tpm2_createek', '-c', 'ek.ctx', '-G', 'ecc', '-u', 'ek.pub']);
    await tool([
      'tpm2_createak',
      '-C',
      'ek.ctx',
      '-c',
      'ak.ctx',
      '-G',
      'ecc',
      '-g',
      'sha256',
      '-s',
      'ecdsa',
      '-u',
      'ak.pem',
      '-f',
      'pem',
      '-n',
      'ak.name',
    ]);
    await tool([
      'tpm2_createak',
      '-C',
      'ek.ctx',
      '-c',
      'other.ctx',
      '-G',
      'ecc',
      '-g',
      'sha256',
      '-s',
      'ecdsa',
      '-u',
      'other.pem',
      '-f',
      'pem',
      '-n',
      'other.name',
    ]);

    // Give the PCRs real values: extend each measured event of a real log (EV_NO_ACTION skipped).
    const log = parseEventLog(readEventLogFile('tpm2-tools-event-postcode.bin'));
    for (const event of log.events.slice(1)) {
      if (event.eventTypeName === 'EV_NO_ACTION') continue;
      const digest = event.digests.find((entry) => entry.algorithm === 'sha256')!.digest;
      await tool(['tpm2_pcrextend', `${event.pcrIndex}:sha256=${digest.toString('hex')}`]);
    }

    const nonce = randomBytes(16);
    await tool([
      'tpm2_quote',
      '-c',
      'ak.ctx',
      '-l',
      `sha256:${quotedPcrs.join(',')}`,
      '-q',
      nonce.toString('hex'),
      '-m',
      'quote.msg',
      '-s',
      'quote.sig',
      '-o',
      'quote.pcrs',
      '-g',
      'sha256',
    ]);
    const attestBytes = file('quote.msg');
    const signatureBytes = file('quote.sig');
    const akPublicKey = createPublicKey(file('ak.pem'));

    const attest = parseAttest(attestBytes);
    const signature = parseSignature(signatureBytes);
    verifyQuoteSignature(attestBytes, signature, akPublicKey);
    assert.deepEqual(attest.extraData, nonce);
    assert.deepEqual(attest.pcrSelection, [
      { hashAlgorithmId: 0x000b, hashAlgorithm: 'sha256', pcrs: quotedPcrs },
    ]);

    // The TPM's own PCR values and the log's replay both reproduce the signed pcrDigest.
    const pcrRead = await readPcrs(tool);
    assert.deepEqual(
      computePcrDigest(attest.pcrSelection, { sha256: pcrRead }, signature.hashAlgorithm),
      attest.pcrDigest,
    );
    const replayed = replayEventLog(log, 'sha256');
    for (const pcr of quotedPcrs) if (!replayed.has(pcr)) replayed.set(pcr, Buffer.alloc(32));
    assert.deepEqual(computePcrDigest(attest.pcrSelection, { sha256: replayed }, 'sha256'), attest.pcrDigest);

    // Negative paths: one flipped byte, a different AK, a stale PCR set.
    const flipped = Buffer.from(attestBytes);
    flipped[flipped.length - 40]! ^= 0x01;
    assert.throws(
      () => verifyQuoteSignature(flipped, signature, akPublicKey),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_SIGNATURE_INVALID'),
    );
    const otherAk = createPublicKey(file('other.pem')).export({
      format: 'der',
      type: 'spki',
    });
    assert.throws(
      () => verifyQuoteSignature(attestBytes, signature, otherAk),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_SIGNATURE_INVALID'),
    );
    const stale = new Map(pcrRead);
    stale.set(7, Buffer.alloc(32));
    assert.notDeepEqual(computePcrDigest(attest.pcrSelection, { sha256: stale }), attest.pcrDigest);

    // Random corruption of the real quote and signature only ever yields VigilError, never acceptance.
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.option(fc.nat()),
        (mutateQuote, flips, cut) => {
          const original = mutateQuote ? attestBytes : signatureBytes;
          let bytes = Buffer.from(original);
          for (const [position, mask] of flips) bytes[position % bytes.length]! ^= mask;
          if (cut !== null) bytes = bytes.subarray(0, cut % bytes.length);
          if (bytes.equals(original)) return;
          try {
            if (mutateQuote) parseAttest(bytes);
            verifyQuoteSignature(
              mutateQuote ? bytes : attestBytes,
              mutateQuote ? signature : parseSignature(bytes),
              akPublicKey,
            );
            assert.fail('a corrupted quote verified');
          } catch (error) {
            if (!isVigilError(error)) throw error;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
