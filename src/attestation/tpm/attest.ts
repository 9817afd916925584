import { algorithmIdName, hashAlgorithmOfId, maxDigestSize, type TpmHashAlgorithm } from './algorithms.ts';
import { ByteReader } from './byte-reader.ts';
import { tpmError } from './errors.ts';

/** TPM_GENERATED_VALUE (Part 2 §6.2): marks a structure the TPM itself produced. */
export const tpmGeneratedValue = 0xff544347;
/** TPM_ST_ATTEST_QUOTE (Part 2 §6.9). */
export const tpmStAttestQuote = 0x8018;

/** One bank of a TPML_PCR_SELECTION (Part 2 §10.6.2 TPMS_PCR_SELECTION), PCR indices ascending. */
export interface PcrSelection {
  readonly hashAlgorithmId: number;
  /** undefined when the bank's algorithm is not one Vigil can compute. */
  readonly hashAlgorithm: TpmHashAlgorithm | undefined;
  readonly pcrs: readonly number[];
}

/** TPMS_CLOCK_INFO (Part 2 §10.11.1). */
export interface ClockInfo {
  readonly clock: bigint;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
}

/** TPMS_ATTEST (Part 2 §10.12.12) whose TPMU_ATTEST is TPMS_QUOTE_INFO (§10.12.1). */
export interface QuoteAttestation {
  readonly qualifiedSigner: Buffer;
  /** The verifier's nonce (`tpm2_quote -q`). */
  readonly extraData: Buffer;
  readonly clockInfo: ClockInfo;
  readonly firmwareVersion: bigint;
  readonly pcrSelection: readonly PcrSelection[];
  readonly pcrDigest: Buffer;
}

/** sizeof(TPMU_NAME) (Part 2 §10.5.2): a handle or nameAlg || digest. */
const maxNameSize = 2 + maxDigestSize;
/** HASH_COUNT bound for TPML_PCR_SELECTION (Part 2 §10.10.2); no TPM has more banks. */
const maxPcrBanks = 16;
/** PCR_SELECT_MAX: 8 bytes covers 64 PCRs, well above any PC Client TPM's 24. */
const maxSizeOfSelect = 8;

/**
 * Parses the TPMS_ATTEST a TPM signs for TPM2_Quote (Part 3 §18.4), as written by `tpm2_quote -m`.
 * The bytes are attacker-controlled (they come from the device), so this only ever throws VigilError
 * with an ATTESTATION_TPM_ATTEST_* code. Nothing here is trusted until verifyQuoteSignature passes.
 */
export function parseAttest(bytes: Uint8Array): QuoteAttestation {
  const reader = new ByteReader(bytes, {
    littleEndian: false,
    errorCode: 'ATTESTATION_TPM_ATTEST_MALFORMED',
    what: 'TPMS_ATTEST',
  });
  const magic = reader.uint32('magic');
  // Part 2 §10.12.12: magic is always TPM_GENERATED_VALUE; anything else was not made by a TPM.
  if (magic !== tpmGeneratedValue) {
    throw tpmError(
      'ATTESTATION_TPM_ATTEST_MAGIC',
      `TPMS_ATTEST magic is 0x${magic.toString(16)}, not TPM_GENERATED_VALUE`,
    );
  }
  const type = reader.uint16('type');
  if (type !== tpmStAttestQuote) {
    throw tpmError(
      'ATTESTATION_TPM_ATTEST_TYPE',
      `TPMS_ATTEST type is 0x${type.toString(16)}, not TPM_ST_ATTEST_QUOTE`,
    );
  }
  const qualifiedSigner = reader.sized('qualifiedSigner', maxNameSize);
  const extraData = reader.sized('extraData', maxDigestSize);
  const clock = reader.uint64('clockInfo.clock');
  const resetCount = reader.uint32('clockInfo.resetCount');
  const restartCount = reader.uint32('clockInfo.restartCount');
  const safe = reader.uint8('clockInfo.safe');
  // TPMI_YES_NO (Part 2 §9.2) admits only NO (0) and YES (1).
  if (safe > 1) reader.fail(`clockInfo.safe is ${safe}, not a TPMI_YES_NO`);
  const firmwareVersion = reader.uint64('firmwareVersion');
  const pcrSelection = readPcrSelectionList(reader);
  const pcrDigest = reader.sized('pcrDigest', maxDigestSize);
  reader.expectEnd();
  return {
    qualifiedSigner,
    extraData,
    clockInfo: { clock, resetCount, restartCount, safe: safe === 1 },
    firmwareVersion,
    pcrSelection,
    pcrDigest,
  };
}

/** TPML_PCR_SELECTION (Part 2 §10.10.2) of TPMS_PCR_SELECTION (§10.6.2); bit n of byte i selects PCR 8i+n. */
function readPcrSelectionList(reader: ByteReader): PcrSelection[] {
  const count = reader.uint32('pcrSelect.count');
  if (count > maxPcrBanks) reader.fail(`pcrSelect.count is ${count}, more than ${maxPcrBanks}`);
  const selections: PcrSelection[] = [];
  for (let bank = 0; bank < count; bank += 1) {
    const hashAlgorithmId = reader.uint16('pcrSelect.hash');
    const sizeOfSelect = reader.uint8('pcrSelect.sizeofSelect');
    if (sizeOfSelect > maxSizeOfSelect)
      reader.fail(`pcrSelect.sizeofSelect is ${sizeOfSelect}, more than ${maxSizeOfSelect}`);
    const bitmap = reader.bytes(sizeOfSelect, 'pcrSelect.pcrSelect');
    const pcrs: number[] = [];
    bitmap.forEach((byte, byteIndex) => {
      for (let bit = 0; bit < 8; bit += 1) if ((byte >> bit) & 1) pcrs.push(byteIndex * 8 + bit);
    });
    selections.push({ hashAlgorithmId, hashAlgorithm: hashAlgorithmOfId(hashAlgorithmId), pcrs });
  }
  return selections;
}

export function describePcrSelection(selection: readonly PcrSelection[]): string {
  return selection.map((bank) => `${algorithmIdName(bank.hashAlgorithmId)}:${bank.pcrs.join(',')}`).join('+');
}
