import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import { parseAttest } from '../../../src/attestation/tpm/index.ts';
import { buildQuoteAttest } from './quote-fixtures.ts';

const nonce = Buffer.from('0011223344556677', 'hex');
const pcrDigest = Buffer.alloc(32, 0xab);
const quote = buildQuoteAttest({ nonce, pcrs: [0, 1, 7, 14], pcrDigest });

function refusedWith(code: string) {
  return (error: unknown) => isVigilError(error, code) && error.kind === 'invalid';
}

describe('parseAttest', () => {
  it('reads the nonce, clock, firmware version, PCR selection and PCR digest of a quote', () => {
    const attest = parseAttest(quote);
    assert.deepEqual(attest.extraData, nonce);
    assert.deepEqual(attest.pcrDigest, pcrDigest);
    assert.equal(attest.qualifiedSigner.length, 34);
    assert.deepEqual(attest.clockInfo, { clock: 123456n, resetCount: 7, restartCount: 2, safe: true });
    assert.equal(attest.firmwareVersion, 0x2019102300163636n);
    assert.deepEqual(attest.pcrSelection, [
      { hashAlgorithmId: 0x000b, hashAlgorithm: 'sha256', pcrs: [0, 1, 7, 14] },
    ]);
  });

  it('refuses a structure without TPM_GENERATED_VALUE', () => {
    const forged = Buffer.from(quote);
    forged[0] = 0x00;
    assert.throws(() => parseAttest(forged), refusedWith('ATTESTATION_TPM_ATTEST_MAGIC'));
  });

  it('refuses an attestation that is not TPM_ST_ATTEST_QUOTE (here TPM_ST_ATTEST_CERTIFY)', () => {
    const certify = Buffer.from(quote);
    certify.writeUInt16BE(0x8017, 4);
    assert.throws(() => parseAttest(certify), refusedWith('ATTESTATION_TPM_ATTEST_TYPE'));
  });

  it('refuses trailing bytes', () => {
    assert.throws(
      () => parseAttest(Buffer.concat([quote, Buffer.from([0])])),
      refusedWith('ATTESTATION_TPM_ATTEST_MALFORMED'),
    );
  });

  it('refuses every truncation', () => {
    for (let length = 0; length < quote.length; length += 1) {
      assert.throws(
        () => parseAttest(quote.subarray(0, length)),
        (error: unknown) => isVigilError(error),
        `length ${length}`,
      );
    }
  });

  it('refuses a clockInfo.safe that is not TPMI_YES_NO', () => {
    const bad = Buffer.from(quote);
    const safeOffset = 6 + 2 + 34 + 2 + nonce.length + 16;
    assert.equal(bad[safeOffset], 1);
    bad[safeOffset] = 2;
    assert.throws(() => parseAttest(bad), refusedWith('ATTESTATION_TPM_ATTEST_MALFORMED'));
  });

  it('refuses an oversized extraData', () => {
    const big = buildQuoteAttest({ nonce: Buffer.alloc(65), pcrs: [0], pcrDigest });
    assert.throws(() => parseAttest(big), refusedWith('ATTESTATION_TPM_ATTEST_MALFORMED'));
  });

  it('only ever throws VigilError on random flips and truncations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        fc.option(fc.nat()),
        (flips, cut) => {
          const bytes = Buffer.from(quote);
          for (const [position, mask] of flips) bytes[position % bytes.length]! ^= mask;
          try {
            parseAttest(cut === null ? bytes : bytes.subarray(0, cut % bytes.length));
          } catch (error) {
            if (!isVigilError(error)) throw error;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
