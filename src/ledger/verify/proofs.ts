import { HASH_SIZE, nodeHash } from './hashing.ts';
import { isTreeCount } from './encoding.ts';
import { ledgerError } from './errors.ts';

export interface InclusionProofInput {
  /** RFC 9162 §2.1.1 leaf hash (not the leaf data). */
  readonly leafHash: Uint8Array;
  /** 0-based index of the leaf. */
  readonly index: number;
  /** Number of leaves in the tree the proof is for. */
  readonly size: number;
  /** RFC 9162 §2.1.3.1 inclusion path, leaf's sibling first. */
  readonly proof: readonly Uint8Array[];
}

export interface ConsistencyProofInput {
  readonly size1: number;
  readonly size2: number;
  /** RFC 9162 §2.1.4.1 consistency proof. */
  readonly proof: readonly Uint8Array[];
  readonly root1: Uint8Array;
  readonly root2: Uint8Array;
}

// Sizes go up to 2^53-1, past the 32 bits JavaScript's bitwise operators work on, so shifts are divisions.
function shiftRight(value: number): number {
  return Math.floor(value / 2);
}

function isOdd(value: number): boolean {
  return value % 2 === 1;
}

function isPowerOfTwo(value: number): boolean {
  let rest = value;
  while (rest > 1 && !isOdd(rest)) rest /= 2;
  return rest === 1;
}

function failProof(message: string, facts?: Record<string, unknown>): never {
  throw ledgerError('LEDGER_PROOF_INVALID', message, { facts });
}

// Proof elements are attacker-controlled; anything but 32-byte hashes is malformed.
function checkProofHashes(proof: unknown): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) failProof('the proof is not a list of hashes');
  proof.forEach((element: unknown, position) => {
    if (!(element instanceof Uint8Array) || element.length !== HASH_SIZE) {
      failProof(`proof element ${position} is not a ${HASH_SIZE}-byte hash`, { position });
    }
  });
}

function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) failProof(`${what} is not a byte string`);
}

/**
 * RFC 9162 §2.1.3.2: recomputes the root hash an inclusion proof commits to. Throws LEDGER_PROOF_INVALID
 * when the index is outside the tree or the proof has the wrong number of elements for (index, size).
 */
export function rootFromInclusionProof(input: InclusionProofInput): Buffer {
  const { leafHash, index, size, proof } = input;
  if (!isTreeCount(index) || !isTreeCount(size)) {
    failProof('the leaf index and tree size must be whole numbers in [0, 2^53-1]', { index, size });
  }
  // RFC 9162 §2.1.3.2 step 1: leaf_index must be below tree_size.
  if (index >= size) failProof(`leaf index ${index} is not inside a tree of size ${size}`, { index, size });
  // The leaf hash becomes a node of the path: it must be a hash (the golden vectors try an empty one).
  if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE)
    failProof(`the leaf hash is not ${HASH_SIZE} bytes`);
  checkProofHashes(proof);

  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    // Step 4a: a proof longer than the path from leaf to root.
    if (sn === 0)
      failProof(`the inclusion proof has more than the expected elements for index ${index} in size ${size}`);
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = shiftRight(fn);
          sn = shiftRight(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = shiftRight(fn);
    sn = shiftRight(sn);
  }
  // Step 5: a proof that stops before reaching the root.
  if (sn !== 0)
    failProof(`the inclusion proof has fewer than the expected elements for index ${index} in size ${size}`);
  return r;
}

/** RFC 9162 §2.1.3.2: throws LEDGER_PROOF_INVALID unless the proof shows the leaf at index under root. */
export function verifyInclusionProof(input: InclusionProofInput & { readonly root: Uint8Array }): void {
  const computed = rootFromInclusionProof(input);
  checkBytes(input.root, 'the root hash');
  if (!computed.equals(input.root)) {
    failProof(
      `the inclusion proof for index ${input.index} does not lead to the given root of size ${input.size}`,
      {
        index: input.index,
        size: input.size,
      },
    );
  }
}

/**
 * RFC 9162 §2.1.4.2: throws LEDGER_PROOF_INVALID unless the proof shows the tree (size1, root1) is a
 * prefix of (size2, root2). A proof from the empty tree is rejected: it proves nothing (§2.1.4.1
 * defines proofs only for 0 < m <= n).
 */
export function verifyConsistencyProof(input: ConsistencyProofInput): void {
  const { size1, size2, proof, root1, root2 } = input;
  if (!isTreeCount(size1) || !isTreeCount(size2)) {
    failProof('tree sizes must be whole numbers in [0, 2^53-1]', { size1, size2 });
  }
  if (size1 === 0) failProof('a consistency proof from the empty tree proves nothing', { size1, size2 });
  if (size1 > size2)
    failProof(`tree size ${size1} cannot be a prefix of smaller tree size ${size2}`, { size1, size2 });
  checkBytes(root1, 'the first root hash');
  checkBytes(root2, 'the second root hash');
  checkProofHashes(proof);

  // §2.1.4.1: SUBPROOF(m, D[m], true) is empty, so equal sizes need equal roots and nothing else.
  if (size1 === size2) {
    if (proof.length !== 0)
      failProof('a consistency proof between equal tree sizes must be empty', { size1 });
    if (!Buffer.from(root1).equals(root2))
      failProof(`two different roots for the same tree size ${size1}`, { size1 });
    return;
  }
  // Step 1.
  if (proof.length === 0)
    failProof(`the consistency proof from size ${size1} to ${size2} is empty`, { size1, size2 });
  // Step 2: when size1 is a power of two its root is a node of the larger tree and is left out of the proof.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  // Step 3.
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Step 4.
  while (isOdd(fn)) {
    fn = shiftRight(fn);
    sn = shiftRight(sn);
  }
  // Step 5.
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = fr;
  // Step 6.
  for (const c of path.slice(1)) {
    if (sn === 0)
      failProof(`the consistency proof from size ${size1} to ${size2} has too many elements`, {
        size1,
        size2,
      });
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = shiftRight(fn);
          sn = shiftRight(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = shiftRight(fn);
    sn = shiftRight(sn);
  }
  // Step 7.
  if (sn !== 0)
    failProof(`the consistency proof from size ${size1} to ${size2} has too few elements`, { size1, size2 });
  if (!fr.equals(root1))
    failProof(`the consistency proof does not lead to the root of size ${size1}`, { size1, size2 });
  if (!sr.equals(root2))
    failProof(`the consistency proof does not lead to the root of size ${size2}`, { size1, size2 });
}
