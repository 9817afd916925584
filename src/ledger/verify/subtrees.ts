import { HASH_SIZE, nodeHash } from './hashing.ts';
import { ledgerError } from './errors.ts';

/**
 * A complete subtree: the Merkle Tree Hash (RFC 9162 §2.1.1) of leaves
 * [index * 2^level, (index + 1) * 2^level). Level 0 nodes are leaf hashes.
 */
export interface NodeRef {
  readonly level: number;
  readonly index: number;
}

/** A complete subtree together with its hash. */
export interface CompleteNode extends NodeRef {
  readonly hash: Buffer;
}

/** Leaves [start, end) of the tree. */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

/** A stable string key for a node, for de-duplication and maps. */
export function nodeKey(ref: NodeRef): string {
  return `${ref.level}/${ref.index}`;
}

/** The largest power of two strictly below n (n > 1): RFC 9162 §2.1.1's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The complete subtrees, left to right, whose hashes compose MTH(D[start:end]). Every range the RFC 9162
 * §2.1.1 recursion visits starts at a multiple of its own split point, so the greedy binary decomposition
 * (largest power of two first) yields aligned, complete nodes.
 */
export function completeSubtrees(range: LeafRange): NodeRef[] {
  const refs: NodeRef[] = [];
  let start = range.start;
  let remaining = range.end - range.start;
  while (remaining > 0) {
    let width = 1;
    let level = 0;
    while (width * 2 <= remaining) {
      width *= 2;
      level += 1;
    }
    refs.push({ level, index: start / width });
    start += width;
    remaining -= width;
  }
  return refs;
}

/**
 * RFC 9162 §2.1.1: MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])), with the left part complete,
 * so the hash of a decomposed range is a right fold of its complete subtrees.
 */
export function composeSubtrees(hashes: readonly Buffer[]): Buffer {
  let root = hashes[hashes.length - 1];
  if (root === undefined)
    throw ledgerError('LEDGER_HASH_INVALID', 'no subtree hashes to compose', { kind: 'internal' });
  for (let position = hashes.length - 2; position >= 0; position -= 1) {
    root = nodeHash(hashes[position] as Buffer, root);
  }
  return root;
}

/** Node hashes come from storage: a wrong length means corruption or a caller bug, never a proof. */
export function checkNodeHash(ref: NodeRef, hash: unknown): Buffer {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw ledgerError('LEDGER_HASH_INVALID', `node ${nodeKey(ref)} has no ${HASH_SIZE}-byte hash`, {
      kind: 'internal',
      facts: { level: ref.level, index: ref.index },
    });
  }
  return Buffer.from(hash.buffer, hash.byteOffset, hash.length);
}
