import { createHash } from 'node:crypto';
import { algorithmIdName, digestSizeOf, type TpmHashAlgorithm } from './algorithms.ts';
import type { PcrSelection } from './attest.ts';
import { tpmError } from './errors.ts';

/** PCR values per bank, e.g. from replayEventLog or `tpm2_pcrread`. */
export type PcrValues = Partial<Record<TpmHashAlgorithm, ReadonlyMap<number, Uint8Array>>>;

/**
 * The pcrDigest a quote over `selection` must carry (Part 3 §18.4.1 TPM2_Quote: "the TPM will hash
 * the list of PCR selected by PCRselect using the hash algorithm in the selected signing scheme"):
 * the selected PCR values concatenated in selection order — banks in list order, PCRs ascending
 * within a bank — hashed with the quote signature's hash algorithm.
 * Fails closed: a selected PCR with no value is an error, never skipped.
 */
export function computePcrDigest(
  selection: readonly PcrSelection[],
  pcrValues: PcrValues,
  digestAlgorithm: TpmHashAlgorithm = 'sha256',
): Buffer {
  const hash = createHash(digestAlgorithm);
  for (const bank of selection) {
    if (bank.pcrs.length === 0) continue;
    const bankName = bank.hashAlgorithm;
    if (bankName === undefined) {
      throw tpmError(
        'ATTESTATION_TPM_HASH_UNSUPPORTED',
        `PCR bank ${algorithmIdName(bank.hashAlgorithmId)} is not supported`,
      );
    }
    const values = pcrValues[bankName];
    for (const pcr of bank.pcrs) {
      const value = values?.get(pcr);
      if (value === undefined || value.length !== digestSizeOf(bankName)) {
        throw tpmError('ATTESTATION_TPM_PCR_VALUE_MISSING', `no ${bankName} value for selected PCR ${pcr}`, {
          bank: bankName,
          pcr,
        });
      }
      hash.update(value);
    }
  }
  return hash.digest();
}
