import { canonicalJson, isVigilError } from '../../core/index.ts';
import { emptyRoot, leafHash } from './hashing.ts';
import { isTreeCount } from './encoding.ts';
import { ledgerError } from './errors.ts';
import { openCheckpoint, parseCheckpoint } from './checkpoint.ts';
import { parseVerifierKey, type VerifierKey } from './note.ts';
import { TreeBuilder } from './tree-builder.ts';

/** One stored log entry: the leaf bytes (RFC 8785 canonical JSON carrying its own `index`). */
export interface LogEntry {
  readonly index: number;
  readonly leaf: Uint8Array;
  /** The leaf hash as stored next to the entry, if any; it must match the leaf. */
  readonly leafHash?: Uint8Array;
}

export interface LogProblem {
  /** The lowest index from which the log cannot be trusted because of this problem. */
  readonly firstBadIndex: number;
  readonly reason: string;
}

export type LogVerificationResult =
  | {
      readonly ok: true;
      /** Entries checked. */
      readonly size: number;
      /** Signed checkpoints that verified and matched the recomputed tree. */
      readonly checkpoints: number;
      /** The largest checkpointed size: entries past it are well-formed but not yet vouched for by a signature. */
      readonly checkpointedSize: number;
    }
  | {
      readonly ok: false;
      /** The lowest index at which anything is wrong. */
      readonly firstBadIndex: number;
      /** Why, for the problem at firstBadIndex. */
      readonly reason: string;
      /** Every problem found, lowest firstBadIndex first. */
      readonly problems: readonly LogProblem[];
    };

export interface LogVerificationInput {
  /** Signed checkpoint notes, in any order. */
  readonly checkpoints: readonly (string | Uint8Array)[];
  readonly verifierKey: string | VerifierKey;
}

interface TrustedCheckpoint {
  readonly size: number;
  readonly rootHash: Buffer;
  readonly position: number;
}

interface UntrustedCheckpoint {
  /** The size its unverified text claims, when it parses at all. */
  readonly claimedSize: number | undefined;
  readonly position: number;
  readonly reason: string;
}

// The size an unverifiable checkpoint claims, only to place the damage it implies: the text stays untrusted.
function claimedCheckpointSize(note: string | Uint8Array): number | undefined {
  try {
    const text = typeof note === 'string' ? note : Buffer.from(note).toString('utf8');
    const split = text.lastIndexOf('\n\n');
    return parseCheckpoint(split < 0 ? text : text.slice(0, split + 1)).size;
  } catch {
    return undefined;
  }
}

// True when every object's own keys are already in RFC 8785 §3.2.3 order (UTF-16 code units).
function hasSortedKeys(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) return value.every(hasSortedKeys);
  const record = value as Record<string, unknown>;
  let previous: string | undefined;
  for (const key of Object.keys(record)) {
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!hasSortedKeys(record[key])) return false;
  }
  return true;
}

/**
 * RFC 8785 text of a value from JSON.parse. JCS serializes strings and numbers exactly as ECMAScript's
 * JSON.stringify does (§3.2.2) and only adds key sorting (§3.2.3), so when the parsed keys are already
 * in order JSON.stringify is the canonical form, at a fraction of the cost; otherwise core's
 * canonicalizer decides. A million-entry audit spends most of its time here and in SHA-256.
 */
function canonicalText(value: unknown): string {
  if (hasSortedKeys(value)) return JSON.stringify(value);
  try {
    return canonicalJson(value);
  } catch {
    return '';
  }
}

/**
 * Checks one stored entry at its position and returns its leaf hash, or why it is bad. Entries are
 * attacker-controlled: they come out of a database an insider can edit.
 */
function checkEntry(entry: LogEntry, position: number): Buffer | string {
  if (typeof entry !== 'object' || entry === null) return `entry ${position} is not a log entry`;
  if (entry.index !== position) {
    if (isTreeCount(entry.index) && entry.index > position) {
      return `entry ${position} is missing: the next stored entry has index ${entry.index}`;
    }
    return `the entry stored at position ${position} has index ${String(entry.index)} (duplicated or reordered)`;
  }
  const leaf = entry.leaf;
  if (!(leaf instanceof Uint8Array)) return `entry ${position} has no leaf bytes`;
  const bytes = Buffer.from(leaf.buffer, leaf.byteOffset, leaf.length);
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `entry ${position} is not JSON (altered)`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `entry ${position} is not a JSON object (altered)`;
  }
  const recorded = (value as { index?: unknown }).index;
  if (recorded !== position) {
    return `entry ${position} records index ${JSON.stringify(recorded) ?? 'none'} (altered or reordered)`;
  }
  // RFC 8785: the stored bytes must be exactly the canonical form, so any re-encoding shows. Decoding
  // valid UTF-8 is one-to-one; only a replacement character can stand for bytes that were not.
  const canonical = canonicalText(value);
  const same = text.includes('\uFFFD') ? Buffer.from(canonical, 'utf8').equals(bytes) : canonical === text;
  if (!same) {
    return `entry ${position} is not RFC 8785 canonical JSON (altered)`;
  }
  const computed = leafHash(bytes);
  if (entry.leafHash !== undefined && !computed.equals(entry.leafHash)) {
    return `the stored leaf hash of entry ${position} does not match its leaf (altered)`;
  }
  return computed;
}

/**
 * The offline full-log check an auditor runs, fed one entry at a time so that entries can stream from
 * any source in O(log n) memory. It recomputes the RFC 9162 tree from the leaves and compares every
 * signed checkpoint (C2SP tlog-checkpoint) with the recomputed root at its size. All checkpoint roots
 * matching one recomputed tree implies they are consistent with each other (RFC 9162 §2.1.4).
 */
export class LogVerification {
  readonly #tree = new TreeBuilder();
  // Verified checkpoints, by size.
  readonly #trusted: TrustedCheckpoint[] = [];
  readonly #untrusted: UntrustedCheckpoint[] = [];
  readonly #problems: LogProblem[] = [];
  // Sizes whose signed checkpoints matched, ascending.
  readonly #matchedSizes: number[] = [];
  #nextCheckpoint = 0;
  #stopped = false;

  constructor(input: LogVerificationInput) {
    const key =
      typeof input.verifierKey === 'string' ? parseVerifierKey(input.verifierKey) : input.verifierKey;
    if (!Array.isArray(input.checkpoints)) {
      throw ledgerError('LEDGER_LOG_INVALID', 'checkpoints must be a list of signed notes');
    }
    input.checkpoints.forEach((note: string | Uint8Array, position) => {
      try {
        const checkpoint = openCheckpoint(note, key);
        this.#trusted.push({ size: checkpoint.size, rootHash: checkpoint.rootHash, position });
      } catch (error) {
        if (!isVigilError(error)) throw error;
        this.#untrusted.push({ claimedSize: claimedCheckpointSize(note), position, reason: error.message });
      }
    });
    this.#trusted.sort((a, b) => a.size - b.size);
    this.#checkCheckpointsAtCurrentSize();
  }

  /** Checks the next entry; returns false once a problem makes reading the rest pointless. */
  addEntry(entry: LogEntry): boolean {
    if (this.#stopped) return false;
    const position = this.#tree.size;
    const checked = checkEntry(entry, position);
    if (typeof checked === 'string') {
      this.#stop({ firstBadIndex: position, reason: checked });
      return false;
    }
    this.#tree.append(checked);
    this.#checkCheckpointsAtCurrentSize();
    return !this.#stopped;
  }

  #checkCheckpointsAtCurrentSize(): void {
    const size = this.#tree.size;
    let root: Buffer | undefined;
    let next = this.#trusted[this.#nextCheckpoint];
    while (next !== undefined && next.size === size) {
      root ??= size === 0 ? emptyRoot() : this.#tree.root();
      if (!root.equals(next.rootHash)) {
        const trustedFrom = this.#lastMatchedSizeUpTo(size - 1);
        this.#stop({
          firstBadIndex: trustedFrom,
          reason:
            `signed checkpoint #${next.position} (size ${size}) does not match the root recomputed from the entries: ` +
            `entries ${trustedFrom} to ${size - 1} (from the last matching checkpoint's size) cannot be trusted; ` +
            `one of them was altered, or the log signed an inconsistent checkpoint`,
        });
        return;
      }
      if (this.#matchedSizes[this.#matchedSizes.length - 1] !== size) this.#matchedSizes.push(size);
      this.#nextCheckpoint += 1;
      next = this.#trusted[this.#nextCheckpoint];
    }
  }

  #lastMatchedSizeUpTo(limit: number): number {
    for (let position = this.#matchedSizes.length - 1; position >= 0; position -= 1) {
      const matched = this.#matchedSizes[position] as number;
      if (matched <= limit) return matched;
    }
    return 0;
  }

  #stop(problem: LogProblem): void {
    this.#problems.push(problem);
    this.#stopped = true;
  }

  /** The verdict over everything fed so far. */
  finish(): LogVerificationResult {
    const problems = [...this.#problems];
    const size = this.#tree.size;
    const beyond = this.#trusted[this.#nextCheckpoint];
    if (!this.#stopped && beyond !== undefined) {
      // Entries a signed checkpoint covers are gone: the log was truncated.
      problems.push({
        firstBadIndex: size,
        reason: `signed checkpoint #${beyond.position} has size ${beyond.size} but only ${size} entries are present: entries ${size} to ${beyond.size - 1} were removed`,
      });
    }
    for (const checkpoint of this.#untrusted) {
      // A checkpoint that does not verify vouches for nothing: its range past the last matching
      // checkpoint at or below its claimed size is unvouched. If it does not even parse, it is placed at 0.
      const claimed = checkpoint.claimedSize;
      const firstBadIndex = claimed === undefined ? 0 : this.#lastMatchedSizeUpTo(claimed);
      problems.push({
        firstBadIndex,
        reason:
          `checkpoint #${checkpoint.position} (claiming size ${claimed ?? 'unknown'}) cannot be trusted: ${checkpoint.reason}; ` +
          `entries from ${firstBadIndex} are not vouched for by it`,
      });
    }
    if (problems.length === 0) {
      const checkpointedSize = this.#matchedSizes[this.#matchedSizes.length - 1] ?? 0;
      return { ok: true, size, checkpoints: this.#trusted.length, checkpointedSize };
    }
    problems.sort((a, b) => a.firstBadIndex - b.firstBadIndex);
    const first = problems[0] as LogProblem;
    return { ok: false, firstBadIndex: first.firstBadIndex, reason: first.reason, problems };
  }
}

/**
 * Verifies a whole log offline (see LogVerification). `entries` is the stored log in stored order;
 * the result names the lowest index at which anything is wrong.
 */
export function verifyLog(
  input: LogVerificationInput & { readonly entries: Iterable<LogEntry> },
): LogVerificationResult {
  const entries: unknown = input.entries;
  if (typeof entries !== 'object' || entries === null || !(Symbol.iterator in entries)) {
    throw ledgerError('LEDGER_LOG_INVALID', 'entries must be iterable');
  }
  const verification = new LogVerification(input);
  for (const entry of input.entries) {
    if (!verification.addEntry(entry)) break;
  }
  return verification.finish();
}
