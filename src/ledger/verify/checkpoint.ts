import { HASH_SIZE } from './hashing.ts';
import {
  decodeBase64,
  hasControlCharacter,
  isTreeCount,
  isWellFormedText,
  parseDecimal,
} from './encoding.ts';
import { ledgerError } from './errors.ts';
import { openNote, type VerifierKey } from './note.ts';

/** A C2SP tlog-checkpoint note body: the log's tree head at one size. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Buffer;
  readonly extensions: readonly string[];
}

export interface CheckpointInput {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions?: readonly string[];
}

function failCheckpoint(message: string): never {
  throw ledgerError('LEDGER_CHECKPOINT_INVALID', message);
}

function checkLine(line: string, what: string): void {
  if (typeof line !== 'string' || line.length === 0) failCheckpoint(`the checkpoint ${what} is empty`);
  // C2SP signed-note §Format: a note (and so a checkpoint) is UTF-8 with no control characters but newline.
  if (hasControlCharacter(line, false) || !isWellFormedText(line)) {
    failCheckpoint(`the checkpoint ${what} contains control characters or invalid text`);
  }
}

/** C2SP tlog-checkpoint §Note text: origin, decimal size, base64 root hash, then optional extension lines. */
export function formatCheckpoint(input: CheckpointInput): string {
  const { origin, size, rootHash, extensions = [] } = input;
  checkLine(origin, 'origin');
  if (!isTreeCount(size)) failCheckpoint('the checkpoint size must be a whole number in [0, 2^53-1]');
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== HASH_SIZE) {
    failCheckpoint(`the checkpoint root hash must be ${HASH_SIZE} bytes`);
  }
  extensions.forEach((line) => checkLine(line, 'extension line'));
  const lines = [origin, String(size), Buffer.from(rootHash).toString('base64'), ...extensions];
  return lines.join('\n') + '\n';
}

/**
 * Parses a checkpoint body strictly (C2SP tlog-checkpoint §Note text). The text is attacker-controlled
 * until its note has been opened, and even then a signer may be buggy: it only ever throws
 * LEDGER_CHECKPOINT_INVALID.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string' || !text.endsWith('\n')) failCheckpoint('a checkpoint ends in a newline');
  const lines = text.slice(0, -1).split('\n');
  // §Note text: at least three non-empty lines.
  if (lines.length < 3) failCheckpoint('a checkpoint has at least three lines: origin, size and root hash');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  checkLine(origin, 'origin');
  // §Note text 2: ASCII decimal, no leading zeroes.
  const size = parseDecimal(sizeText, 'LEDGER_CHECKPOINT_INVALID', 'the checkpoint size');
  // §Note text 3: base64 of the RFC 6962 (= RFC 9162 §2.1.1) root hash.
  const rootHash = decodeBase64(rootText, 'LEDGER_CHECKPOINT_INVALID', 'the checkpoint root hash');
  if (rootHash.length !== HASH_SIZE) failCheckpoint(`the checkpoint root hash is not ${HASH_SIZE} bytes`);
  // §Note text 4: extension lines, if any, MUST be non-empty.
  extensions.forEach((line) => checkLine(line, 'extension line'));
  return { origin, size, rootHash, extensions };
}

/** Opens a signed checkpoint note with the log's key and parses its body. */
export function openCheckpoint(note: string | Uint8Array, verifierKey: string | VerifierKey): Checkpoint {
  return parseCheckpoint(openNote(note, verifierKey));
}
