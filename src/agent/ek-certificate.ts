/**
 * The EK certificate: the TPM manufacturer's X.509 certificate for the endorsement key, kept in the
 * TPM's NV memory (TCG EK Credential Profile 2.0 §2.2.1.4, the low range: 0x01c00002 for the RSA
 * 2048 EK of the default template, 0x01c0000a for the ECC NIST P-256 one; `swtpm_setup
 * --create-ek-cert` writes the RSA one there too). The agent sends it with the key binding so the
 * server can check that the EK is a genuine TPM's; whether one is needed is the server's decision,
 * so a TPM without one is not an error here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isVigilError } from '../core/index.ts';
import type { TpmTools } from './tpm-tools.ts';

/** The NV index of the EK certificate for each EK the default templates make. */
export const ekCertificateIndexes = {
  rsa2048: 0x01c00002,
  eccP256: 0x01c0000a,
} as const;

/**
 * The most the device endpoint takes (`ekCertificate`, at most 8192 base64 characters). Real EK
 * certificates are 1 to 2 KB.
 */
export const maxEkCertificateBytes = 6144;

/** TPMA_NV_WRITTEN (TPM 2.0 Part 2 §13.4): the index has been written since it was defined. */
const nvWritten = 0x20000000;

export interface NvPublic {
  size: number;
  written: boolean;
}

/** Reads what `tpm2_nvreadpublic INDEX` prints (tpm2-tools 5: YAML with `attributes.value` and `size`). */
export function parseNvReadPublic(stdout: string): NvPublic | undefined {
  const size = /^\s+size:\s*(\d+)\s*$/m.exec(stdout)?.[1];
  const attributes = /^\s+attributes:\s*\n(?:\s+friendly:.*\n)?\s+value:\s*0x([0-9a-fA-F]+)\s*$/m.exec(
    stdout,
  )?.[1];
  if (size === undefined || attributes === undefined) return undefined;
  return { size: Number(size), written: (Number.parseInt(attributes, 16) & nvWritten) !== 0 };
}

/**
 * The DER certificate at the start of an NV index's contents. Indexes are often defined larger
 * than the certificate they hold and padded (zeros or 0xff), so the length comes from the outer
 * SEQUENCE's header (X.690 §8.1.3), not from the index size. Undefined when the bytes do not begin
 * with a DER SEQUENCE that fits in them (an unwritten or foreign-format index).
 */
export function derCertificatePrefix(bytes: Buffer): Buffer | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x30) return undefined;
  const first = bytes[1]!;
  let header = 2;
  let length = first;
  if (first & 0x80) {
    const octets = first & 0x7f;
    // Four length octets would be far beyond any certificate (and an indefinite length is not DER).
    if (octets === 0 || octets > 3 || bytes.length < 2 + octets) return undefined;
    length = 0;
    for (let index = 0; index < octets; index += 1) length = length * 256 + bytes[2 + index]!;
    header += octets;
  }
  if (header + length > bytes.length) return undefined;
  return bytes.subarray(0, header + length);
}

/**
 * Reads the EK certificate at `index` through tpm2-tools, or explains (through `note`) why there is
 * none to send. Authorization is the index's own (empty) auth value, which EK certificate indexes
 * allow (authread), so an owner password set on the device does not get in the way.
 */
export async function readEkCertificate(
  tools: TpmTools,
  workDir: string,
  index: number,
  note: (line: string) => void,
): Promise<Buffer | undefined> {
  const handle = `0x${index.toString(16).padStart(8, '0')}`;
  // Asked first: tpm2_nvreadpublic on an undefined index crashes in tpm2-tools 5.4 (SIGSEGV).
  const listed = await tools.run('tpm2_getcap', ['handles-nv-index']);
  const defined = [...listed.stdout.matchAll(/0x([0-9a-fA-F]+)/g)].some(
    (match) => Number.parseInt(match[1]!, 16) === index,
  );
  if (!defined) {
    note(`the TPM holds no EK certificate (NV ${handle} is not defined); binding without one`);
    return undefined;
  }
  try {
    const nvPublic = parseNvReadPublic((await tools.run('tpm2_nvreadpublic', [handle])).stdout);
    if (nvPublic === undefined || !nvPublic.written || nvPublic.size === 0) {
      note(`the EK certificate index ${handle} is empty; binding without an EK certificate`);
      return undefined;
    }
    // tpm2_nvread reads in chunks of the TPM's NV buffer size; -s names exactly the index size.
    await tools.run('tpm2_nvread', ['-s', String(nvPublic.size), '-o', 'ek-certificate.nv', handle]);
  } catch (error) {
    // The TPM refused the read (an authorization it wants, a locked index): no certificate to send.
    // A TPM that stopped answering, or tools gone missing, stay the errors they are.
    if (!isVigilError(error, 'AGENT_TPM_COMMAND_FAILED')) throw error;
    note(`cannot read the EK certificate at ${handle} (${error.message}); binding without one`);
    return undefined;
  }
  const certificate = derCertificatePrefix(readFileSync(join(workDir, 'ek-certificate.nv')));
  if (certificate === undefined) {
    note(`NV ${handle} does not hold a DER certificate; binding without an EK certificate`);
    return undefined;
  }
  if (certificate.length > maxEkCertificateBytes) {
    note(
      `the EK certificate at ${handle} is ${certificate.length} bytes, more than the server takes; binding without it`,
    );
    return undefined;
  }
  return certificate;
}
