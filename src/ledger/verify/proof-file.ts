import { HASH_SIZE, leafHash } from './hashing.ts';
import { decodeBase64, isTreeCount, parseDecimal } from './encoding.ts';
import { ledgerError } from './errors.ts';
import { openCheckpoint } from './checkpoint.ts';
import { verifyInclusionProof } from './proofs.ts';
import type { VerifierKey } from './note.ts';

/** C2SP tlog-proof §Format: the first line of every proof file. */
const proofFileHeader = 'c2sp.org/tlog-proof@v1';
/** Far beyond 63 proof hashes, a checkpoint and 100 signatures; bounds work on hostile input. */
const maxProofFileLength = 1 << 20;
// A tree of at most 2^53-1 leaves has inclusion paths of at most 53 hashes.
const maxProofHashes = 64;

/** The parts of a C2SP tlog-proof file. Nothing in it is trusted until verifyProofFile has run. */
export interface ProofFile {
  readonly index: number;
  readonly proof: readonly Buffer[];
  /** The signed checkpoint note, verbatim. */
  readonly checkpointNote: string;
  /** Opaque, unauthenticated application data (§Format: MUST NOT be implicitly trusted). */
  readonly extra?: Buffer;
}

export interface ProofFileInput {
  readonly index: number;
  readonly proof: readonly Uint8Array[];
  readonly checkpointNote: string;
  readonly extra?: Uint8Array;
}

function failFile(message: string): never {
  throw ledgerError('LEDGER_PROOF_FILE_INVALID', message);
}

/** C2SP tlog-proof §Format: header, optional `extra`, `index`, proof hashes, a blank line, the checkpoint. */
export function formatProofFile(input: ProofFileInput): string {
  const { index, proof, checkpointNote, extra } = input;
  if (!isTreeCount(index)) failFile('the index must be a whole number in [0, 2^53-1]');
  if (
    !Array.isArray(proof) ||
    proof.some((hash) => !(hash instanceof Uint8Array) || hash.length !== HASH_SIZE)
  ) {
    failFile(`every proof element must be a ${HASH_SIZE}-byte hash`);
  }
  if (
    typeof checkpointNote !== 'string' ||
    !checkpointNote.endsWith('\n') ||
    checkpointNote.startsWith('\n')
  ) {
    failFile('the checkpoint must be a signed note ending in a newline');
  }
  const lines = [proofFileHeader];
  // §Format: if no extra data is present, the line is omitted.
  if (extra !== undefined && extra.length > 0) lines.push(`extra ${Buffer.from(extra).toString('base64')}`);
  lines.push(`index ${index}`, ...proof.map((hash) => Buffer.from(hash).toString('base64')), '');
  return lines.join('\n') + '\n' + checkpointNote;
}

/** Parses a proof file (attacker-controlled) strictly; throws only LEDGER_PROOF_FILE_INVALID. */
export function parseProofFile(text: string): ProofFile {
  if (typeof text !== 'string' || text.length > maxProofFileLength) failFile('not a proof file');
  const lines = text.split('\n');
  let position = 0;
  const next = (): string => {
    const line = lines[position];
    if (line === undefined) failFile('the proof file ends early');
    position += 1;
    return line;
  };
  if (next() !== proofFileHeader) failFile(`a proof file starts with the line ${proofFileHeader}`);
  let line = next();
  let extra: Buffer | undefined;
  if (line.startsWith('extra ')) {
    extra = decodeBase64(line.slice('extra '.length), 'LEDGER_PROOF_FILE_INVALID', 'the extra data');
    if (extra.length === 0) failFile('the extra line carries no data; it is omitted instead');
    line = next();
  }
  if (!line.startsWith('index ')) failFile('the proof file has no index line');
  const index = parseDecimal(line.slice('index '.length), 'LEDGER_PROOF_FILE_INVALID', 'the index');
  const proof: Buffer[] = [];
  // §Format: zero or more non-empty base64 hash lines, then an empty line.
  for (line = next(); line !== ''; line = next()) {
    if (proof.length === maxProofHashes) failFile('the inclusion proof is longer than any tree allows');
    const hash = decodeBase64(line, 'LEDGER_PROOF_FILE_INVALID', 'a proof hash');
    if (hash.length !== HASH_SIZE) failFile(`a proof hash is not ${HASH_SIZE} bytes`);
    proof.push(hash);
  }
  // §Format: the checkpoint follows verbatim; openNote judges it.
  const checkpointNote = lines.slice(position).join('\n');
  if (checkpointNote.length === 0) failFile('the proof file has no checkpoint');
  return extra === undefined ? { index, proof, checkpointNote } : { index, proof, checkpointNote, extra };
}

export interface VerifiedProofFile {
  readonly index: number;
  readonly size: number;
  readonly origin: string;
}

/**
 * Verifies a C2SP tlog-proof offline: the checkpoint is signed by `verifierKey`, and `leafBytes` is
 * its entry at the file's index (RFC 9162 §2.1.3.2). With `options.origin`, the checkpoint must also
 * be from that log. Returns what was proven.
 */
export function verifyProofFile(
  text: string,
  leafBytes: Uint8Array,
  verifierKey: string | VerifierKey,
  options?: { readonly origin?: string },
): VerifiedProofFile {
  if (!(leafBytes instanceof Uint8Array)) failFile('the entry to check must be bytes');
  const file = parseProofFile(text);
  const checkpoint = openCheckpoint(file.checkpointNote, verifierKey);
  if (options?.origin !== undefined && checkpoint.origin !== options.origin) {
    throw ledgerError(
      'LEDGER_CHECKPOINT_INVALID',
      `the checkpoint is from ${checkpoint.origin}, not ${options.origin}`,
    );
  }
  verifyInclusionProof({
    leafHash: leafHash(leafBytes),
    index: file.index,
    size: checkpoint.size,
    proof: file.proof,
    root: checkpoint.rootHash,
  });
  return { index: file.index, size: checkpoint.size, origin: checkpoint.origin };
}
