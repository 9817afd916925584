import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import {
  rootFromInclusionProof,
  verifyConsistencyProof,
  verifyInclusionProof,
} from '../../../src/ledger/verify/proofs.ts';
import {
  consistencyProofPlan,
  inclusionProofPlan,
  rootPlan,
} from '../../../src/ledger/verify/proof-plans.ts';
import { leafHash, nodeHash } from '../../../src/ledger/verify/hashing.ts';
import type { NodeRef } from '../../../src/ledger/verify/subtrees.ts';
import {
  loadConsistencyVectors,
  loadInclusionVectors,
  makeLeafHashes,
  naiveConsistencyProof,
  naiveInclusionPath,
  naiveRoot,
} from './merkle-fixtures.ts';

const proofInvalid = (error: unknown) =>
  isVigilError(error, 'LEDGER_PROOF_INVALID') && error.kind === 'invalid';

const inclusionVectors = loadInclusionVectors();
const consistencyVectors = loadConsistencyVectors();

test('the golden vector set is complete (inclusion, consistency and additional cases)', () => {
  assert.ok(inclusionVectors.length >= 90, `${inclusionVectors.length} inclusion vectors`);
  assert.ok(consistencyVectors.length >= 90, `${consistencyVectors.length} consistency vectors`);
  assert.ok(consistencyVectors.some((vector) => vector.name.includes('/additional/')));
  assert.ok(inclusionVectors.some((vector) => vector.name.includes('/single-entry/')));
});

for (const vector of inclusionVectors) {
  const verdict = vector.wantErr ? 'rejects' : 'accepts';
  test(`verifyInclusionProof ${verdict} golden vector ${vector.name}`, () => {
    const run = () =>
      verifyInclusionProof({
        leafHash: vector.leafHash,
        index: vector.leafIdx,
        size: vector.treeSize,
        proof: vector.proof,
        root: vector.root,
      });
    if (vector.wantErr) assert.throws(run, proofInvalid);
    else assert.doesNotThrow(run);
  });
}

for (const vector of consistencyVectors) {
  const verdict = vector.wantErr ? 'rejects' : 'accepts';
  test(`verifyConsistencyProof ${verdict} golden vector ${vector.name}`, () => {
    const run = () => verifyConsistencyProof(vector);
    if (vector.wantErr) assert.throws(run, proofInvalid);
    else assert.doesNotThrow(run);
  });
}

test('rootFromInclusionProof returns the root a happy-path vector commits to', () => {
  for (const vector of inclusionVectors.filter((candidate) => !candidate.wantErr)) {
    const root = rootFromInclusionProof({
      leafHash: vector.leafHash,
      index: vector.leafIdx,
      size: vector.treeSize,
      proof: vector.proof,
    });
    assert.deepEqual(root, vector.root, vector.name);
  }
});

test('verifyInclusionProof accepts every proof of a naive implementation for sizes 1..64', () => {
  for (let size = 1; size <= 64; size += 1) {
    const leaves = makeLeafHashes(size);
    const root = naiveRoot(leaves);
    for (let index = 0; index < size; index += 1) {
      const proof = naiveInclusionPath(index, leaves);
      verifyInclusionProof({ leafHash: leaves[index] as Buffer, index, size, proof, root });
      // The same proof must not place the leaf anywhere else.
      if (size > 1) {
        const other = (index + 1) % size;
        assert.throws(
          () => verifyInclusionProof({ leafHash: leaves[index] as Buffer, index: other, size, proof, root }),
          proofInvalid,
        );
      }
    }
  }
});

test('verifyConsistencyProof accepts every proof of a naive implementation for sizes 1..40', () => {
  for (let size2 = 1; size2 <= 40; size2 += 1) {
    const leaves = makeLeafHashes(size2);
    const root2 = naiveRoot(leaves);
    for (let size1 = 1; size1 <= size2; size1 += 1) {
      const proof = naiveConsistencyProof(size1, leaves);
      const root1 = naiveRoot(leaves.slice(0, size1));
      verifyConsistencyProof({ size1, size2, proof, root1, root2 });
      if (size1 < size2) {
        const forged = naiveRoot([...leaves.slice(0, size1 - 1), leaves[size1] as Buffer]);
        assert.throws(
          () => verifyConsistencyProof({ size1, size2, proof, root1: forged, root2 }),
          proofInvalid,
        );
      }
    }
  }
});

test('proof verification rejects malformed elements with LEDGER_PROOF_INVALID, never a TypeError', () => {
  const leaves = makeLeafHashes(5);
  const root = naiveRoot(leaves);
  const proof = naiveInclusionPath(1, leaves);
  const base = { leafHash: leaves[1] as Buffer, index: 1, size: 5, root };
  const malformed: unknown[] = [
    undefined,
    'proof',
    [proof[0], 'not bytes', proof[2]],
    [proof[0], Buffer.alloc(31), proof[2]],
    [proof[0], Buffer.alloc(33), proof[2]],
  ];
  for (const bad of malformed) {
    assert.throws(() => verifyInclusionProof({ ...base, proof: bad as Buffer[] }), proofInvalid);
  }
  assert.throws(
    () => verifyInclusionProof({ ...base, proof, leafHash: 'x' as unknown as Buffer }),
    proofInvalid,
  );
  assert.throws(
    () => verifyInclusionProof({ ...base, proof, root: null as unknown as Buffer }),
    proofInvalid,
  );
  for (const [index, size] of [
    [-1, 5],
    [1.5, 5],
    [0, Number.NaN],
    [5, 5],
    [0, 2 ** 64],
    [1n, 5],
  ]) {
    assert.throws(
      () => verifyInclusionProof({ ...base, proof, index: index as number, size: size as number }),
      proofInvalid,
    );
  }
  assert.throws(
    () => verifyConsistencyProof({ size1: 2, size2: 5, proof: [Buffer.alloc(3)], root1: root, root2: root }),
    proofInvalid,
  );
  assert.throws(
    () =>
      verifyConsistencyProof({ size1: 2, size2: 5, proof: [], root1: 'a' as unknown as Buffer, root2: root }),
    proofInvalid,
  );
});

test('verifyConsistencyProof rejects sizes outside 0 < size1 <= size2', () => {
  const root = naiveRoot(makeLeafHashes(1));
  for (const [size1, size2] of [
    [0, 0],
    [0, 1],
    [2, 1],
    [-1, 3],
    [1, 2 ** 60],
  ]) {
    assert.throws(
      () =>
        verifyConsistencyProof({
          size1: size1 as number,
          size2: size2 as number,
          proof: [],
          root1: root,
          root2: root,
        }),
      proofInvalid,
    );
  }
});

test('proofs verify in trees far beyond 2^32 leaves, up to 2^53-1', () => {
  // A real tree too big to hash leaf by leaf: even leaves are A and odd leaves B, so every complete
  // node above level 0 has one hash per level, while right-edge subtrees still compose differently.
  const [evenLeaf, oddLeaf] = [leafHash(Buffer.from('even')), leafHash(Buffer.from('odd'))];
  const levelHashes = [evenLeaf, nodeHash(evenLeaf, oddLeaf)];
  for (let level = 2; level <= 53; level += 1) {
    const below = levelHashes[level - 1] as Buffer;
    levelHashes.push(nodeHash(below, below));
  }
  const get = (ref: NodeRef): Buffer =>
    ref.level === 0 ? (ref.index % 2 === 0 ? evenLeaf : oddLeaf) : (levelHashes[ref.level] as Buffer);
  const rootOf = (size: number): Buffer => rootPlan(size).build(get)[0] as Buffer;
  for (const [index, size] of [
    [2 ** 32, 2 ** 32 + 1],
    [2 ** 40 + 12345, 2 ** 41 + 7],
    [Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER],
    [0, Number.MAX_SAFE_INTEGER],
    [2 ** 52 + 1, 2 ** 52 + 3],
  ] as const) {
    const proof = inclusionProofPlan(index, size).build(get);
    const root = rootOf(size);
    verifyInclusionProof({ leafHash: get({ level: 0, index }), index, size, proof, root });
    assert.throws(
      () => verifyInclusionProof({ leafHash: get({ level: 0, index: index + 1 }), index, size, proof, root }),
      proofInvalid,
    );
  }
  for (const [size1, size2] of [
    [2 ** 33 + 3, Number.MAX_SAFE_INTEGER],
    [2 ** 32 - 1, 2 ** 32 + 1],
    [3, 2 ** 50 + 5],
  ] as const) {
    const proof = consistencyProofPlan(size1, size2).build(get);
    verifyConsistencyProof({ size1, size2, proof, root1: rootOf(size1), root2: rootOf(size2) });
    assert.throws(
      () => verifyConsistencyProof({ size1, size2, proof, root1: rootOf(size1 + 1), root2: rootOf(size2) }),
      proofInvalid,
    );
  }
});
