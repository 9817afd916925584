import { hash } from 'node:crypto';

/** SHA-256 output length; RFC 9162 §2.1 with SHA-256, as C2SP tlog-tiles fixes it. */
export const HASH_SIZE = 32;

// One-shot crypto.hash over a reused buffer is markedly cheaper than a createHash object per call,
// which matters when an auditor rehashes a million-entry log. Safe because hashing is synchronous.
const scratch = Buffer.alloc(1 + 2 * HASH_SIZE + 4096);

function sha256(length: number): Buffer {
  return hash('sha256', scratch.subarray(0, length), 'buffer');
}

/** RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)). */
export function leafHash(data: Uint8Array): Buffer {
  if (data.length >= scratch.length)
    return hash('sha256', Buffer.concat([Buffer.from([0x00]), data]), 'buffer');
  scratch[0] = 0x00;
  scratch.set(data, 1);
  return sha256(1 + data.length);
}

/** RFC 9162 §2.1.1: an interior node is HASH(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (1 + left.length + right.length > scratch.length) {
    return hash('sha256', Buffer.concat([Buffer.from([0x01]), left, right]), 'buffer');
  }
  scratch[0] = 0x01;
  scratch.set(left, 1);
  scratch.set(right, 1 + left.length);
  return sha256(1 + left.length + right.length);
}

const emptyRootHash = hash('sha256', Buffer.alloc(0), 'buffer');

/** RFC 9162 §2.1.1: the hash of the empty tree is HASH() of the empty string. */
export function emptyRoot(): Buffer {
  return Buffer.from(emptyRootHash);
}
