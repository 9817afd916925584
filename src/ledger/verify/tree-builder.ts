import { HASH_SIZE, emptyRoot, nodeHash } from './hashing.ts';
import { isTreeCount } from './encoding.ts';
import { ledgerError } from './errors.ts';
import { completeSubtrees, composeSubtrees, type CompleteNode, type NodeRef } from './subtrees.ts';

/**
 * The right-edge complete nodes of a tree of `size` leaves, left to right: one per set bit of `size`
 * (its binary decomposition). They are all a builder needs to keep appending and to compute the root.
 */
export function frontierRefs(size: number): NodeRef[] {
  if (!isTreeCount(size)) {
    throw ledgerError('LEDGER_PROOF_RANGE', 'size must be a whole number in [0, 2^53-1]', {
      facts: { size },
    });
  }
  return completeSubtrees({ start: 0, end: size });
}

function checkHash(hash: unknown, what: string): Buffer {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw ledgerError('LEDGER_HASH_INVALID', `${what} is not a ${HASH_SIZE}-byte hash`);
  }
  return Buffer.from(hash);
}

/**
 * An append-only RFC 9162 Merkle tree kept as its frontier (a compact range): O(log n) memory, one leaf
 * hash plus on average one node hash per append.
 */
export class TreeBuilder {
  #size = 0;
  // Hashes of frontierRefs(#size), largest subtree first.
  #frontier: Buffer[] = [];

  /** Resumes a tree from the hashes of frontierRefs(size), in that order. */
  static fromFrontier(size: number, hashes: readonly Uint8Array[]): TreeBuilder {
    const refs = frontierRefs(size);
    if (!Array.isArray(hashes) || hashes.length !== refs.length) {
      throw ledgerError('LEDGER_HASH_INVALID', `a tree of size ${size} has ${refs.length} frontier nodes`, {
        facts: { size, expected: refs.length, received: Array.isArray(hashes) ? hashes.length : undefined },
      });
    }
    const builder = new TreeBuilder();
    builder.#frontier = hashes.map((hash, position) => checkHash(hash, `frontier node ${position}`));
    builder.#size = size;
    return builder;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Adds one leaf hash and returns the complete nodes this append finished, smallest first: the leaf
   * itself (level 0) and every subtree it closed. Storing these is enough for any later proof.
   */
  append(leafHash: Uint8Array): CompleteNode[] {
    if (this.#size === Number.MAX_SAFE_INTEGER) {
      throw ledgerError('LEDGER_PROOF_RANGE', 'the tree cannot grow beyond 2^53-1 leaves', {
        kind: 'internal',
      });
    }
    let hash = checkHash(leafHash, 'the leaf hash');
    let level = 0;
    let index = this.#size;
    const completed: CompleteNode[] = [{ level, index, hash }];
    // Each trailing 1 bit of the old size is a complete subtree of the same height waiting on its right.
    let rest = this.#size;
    while (rest % 2 === 1) {
      hash = nodeHash(this.#frontier.pop() as Buffer, hash);
      level += 1;
      index = Math.floor(index / 2);
      rest = Math.floor(rest / 2);
      completed.push({ level, index, hash });
    }
    this.#frontier.push(hash);
    this.#size += 1;
    return completed;
  }

  /** MTH(D[size]) (RFC 9162 §2.1.1). */
  root(): Buffer {
    if (this.#size === 0) return emptyRoot();
    return composeSubtrees(this.#frontier);
  }

  /** The frontier as complete nodes, for persisting and later fromFrontier. */
  frontier(): CompleteNode[] {
    return frontierRefs(this.#size).map((ref, position) => ({
      ...ref,
      hash: Buffer.from(this.#frontier[position] as Buffer),
    }));
  }
}
