import { tpmError } from './errors.ts';

/** The hash algorithms Vigil appraises, by their TPM_ALG_ID (TCG Algorithm Registry; Part 2 §6.3). */
export type TpmHashAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const hashAlgorithms: ReadonlyArray<{ id: number; name: TpmHashAlgorithm; digestSize: number }> = [
  { id: 0x0004, name: 'sha1', digestSize: 20 },
  { id: 0x000b, name: 'sha256', digestSize: 32 },
  { id: 0x000c, name: 'sha384', digestSize: 48 },
  { id: 0x000d, name: 'sha512', digestSize: 64 },
];

/** Largest digest of any algorithm here: bounds TPM2B_DIGEST/TPM2B_DATA (Part 2 §10.4.2, sizeof(TPMU_HA)). */
export const maxDigestSize = 64;

export function hashAlgorithmOfId(id: number): TpmHashAlgorithm | undefined {
  return hashAlgorithms.find((algorithm) => algorithm.id === id)?.name;
}

export function idOfHashAlgorithm(name: TpmHashAlgorithm): number {
  return hashAlgorithms.find((algorithm) => algorithm.name === name)?.id ?? 0;
}

export function digestSizeOf(name: TpmHashAlgorithm): number {
  return hashAlgorithms.find((algorithm) => algorithm.name === name)?.digestSize ?? 0;
}

export function isTpmHashAlgorithm(value: string): value is TpmHashAlgorithm {
  return hashAlgorithms.some((algorithm) => algorithm.name === value);
}

/** The name tpm2-tools prints for an algorithm ID, or the ID in hex for one Vigil does not know. */
export function algorithmIdName(id: number): string {
  return hashAlgorithmOfId(id) ?? `0x${id.toString(16).padStart(4, '0')}`;
}

export function requireHashAlgorithm(id: number, context: string): TpmHashAlgorithm {
  const name = hashAlgorithmOfId(id);
  if (name === undefined) {
    throw tpmError(
      'ATTESTATION_TPM_HASH_UNSUPPORTED',
      `${context}: hash algorithm ${algorithmIdName(id)} is not supported`,
      {
        algorithmId: id,
      },
    );
  }
  return name;
}
