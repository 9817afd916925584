import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import {
  consistencyProofPlan,
  inclusionProofPlan,
  rootPlan,
} from '../../../src/ledger/verify/proof-plans.ts';
import { verifyConsistencyProof, verifyInclusionProof } from '../../../src/ledger/verify/proofs.ts';
import { TreeBuilder } from '../../../src/ledger/verify/tree-builder.ts';
import { emptyRoot, leafHash } from '../../../src/ledger/verify/hashing.ts';
import { nodeKey, type NodeRef } from '../../../src/ledger/verify/subtrees.ts';
import {
  loadConsistencyVectors,
  loadInclusionVectors,
  makeLeafHashes,
  naiveConsistencyProof,
  naiveInclusionPath,
  naiveRoot,
  referenceLeaves,
  seededRandom,
} from './merkle-fixtures.ts';

/** What the server's node table would hold: every complete node of a tree, keyed by address. */
function storeTree(leafHashes: readonly Buffer[]): Map<string, Buffer> {
  const store = new Map<string, Buffer>();
  const builder = new TreeBuilder();
  for (const hash of leafHashes) {
    for (const node of builder.append(hash)) store.set(nodeKey(node), node.hash);
  }
  return store;
}

/** A `get` that only answers for the nodes the plan announced, so a plan that under-reports fails. */
function getterFor(store: Map<string, Buffer>, announced: readonly NodeRef[]): (ref: NodeRef) => Buffer {
  const allowed = new Set(announced.map(nodeKey));
  return (ref) => {
    assert.ok(allowed.has(nodeKey(ref)), `build asked for ${nodeKey(ref)}, which the plan did not list`);
    const hash = store.get(nodeKey(ref));
    assert.ok(hash !== undefined, `node ${nodeKey(ref)} is not a complete node of the tree`);
    return hash;
  };
}

const rangeError = (error: unknown) => isVigilError(error, 'LEDGER_PROOF_RANGE') && error.kind === 'invalid';

const referenceHashes = referenceLeaves.map(leafHash);
const referenceStore = storeTree(referenceHashes);

test('generated inclusion proofs equal every golden happy-path vector', () => {
  const vectors = loadInclusionVectors().filter(
    (vector) => !vector.wantErr && !vector.name.includes('single-entry'),
  );
  assert.ok(vectors.length >= 5);
  for (const vector of vectors) {
    const plan = inclusionProofPlan(vector.leafIdx, vector.treeSize);
    assert.deepEqual(plan.build(getterFor(referenceStore, plan.nodes)), vector.proof, vector.name);
    const root = rootPlan(vector.treeSize);
    assert.deepEqual(root.build(getterFor(referenceStore, root.nodes)), [vector.root], vector.name);
  }
});

test('generated consistency proofs equal every golden happy-path vector', () => {
  const vectors = loadConsistencyVectors().filter(
    (vector) => !vector.wantErr && !vector.name.includes('additional'),
  );
  assert.ok(vectors.length >= 5);
  for (const vector of vectors) {
    const plan = consistencyProofPlan(vector.size1, vector.size2);
    assert.deepEqual(plan.build(getterFor(referenceStore, plan.nodes)), vector.proof, vector.name);
    for (const [size, root] of [
      [vector.size1, vector.root1],
      [vector.size2, vector.root2],
    ] as const) {
      const rootOnly = rootPlan(size);
      assert.deepEqual(rootOnly.build(getterFor(referenceStore, rootOnly.nodes)), [root], vector.name);
    }
  }
});

test('generated proofs match a naive recursive implementation and verify, on random sizes 1..300', () => {
  const random = seededRandom(9162);
  const allLeaves = makeLeafHashes(300);
  const store = storeTree(allLeaves);
  const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 255, 256, 257, 299, 300];
  for (let draw = 0; draw < 40; draw += 1) sizes.push(1 + random(300));
  for (const size of sizes) {
    const leaves = allLeaves.slice(0, size);
    const root = naiveRoot(leaves);
    const plannedRoot = rootPlan(size);
    assert.deepEqual(plannedRoot.build(getterFor(store, plannedRoot.nodes)), [root], `root of ${size}`);
    const indices =
      size <= 20 ? [...Array(size).keys()] : [0, size - 1, random(size), random(size), random(size)];
    for (const index of indices) {
      const plan = inclusionProofPlan(index, size);
      const proof = plan.build(getterFor(store, plan.nodes));
      assert.deepEqual(proof, naiveInclusionPath(index, leaves), `inclusion ${index} in ${size}`);
      verifyInclusionProof({ leafHash: leaves[index] as Buffer, index, size, proof, root });
    }
    const firstSizes =
      size <= 20 ? [...Array(size).keys()].map((n) => n + 1) : [1, size, 1 + random(size), 1 + random(size)];
    for (const size1 of firstSizes) {
      const plan = consistencyProofPlan(size1, size);
      const proof = plan.build(getterFor(store, plan.nodes));
      assert.deepEqual(proof, naiveConsistencyProof(size1, leaves), `consistency ${size1} to ${size}`);
      verifyConsistencyProof({
        size1,
        size2: size,
        proof,
        root1: naiveRoot(leaves.slice(0, size1)),
        root2: root,
      });
    }
  }
});

test('a plan lists each node once and only complete nodes inside the tree', () => {
  for (const plan of [inclusionProofPlan(5, 300), consistencyProofPlan(37, 300), rootPlan(299)]) {
    const keys = plan.nodes.map(nodeKey);
    assert.equal(new Set(keys).size, keys.length);
    for (const ref of plan.nodes) assert.ok((ref.index + 1) * 2 ** ref.level <= 300, nodeKey(ref));
  }
});

test('the proof for the only leaf of a one-leaf tree is empty and needs no nodes', () => {
  const plan = inclusionProofPlan(0, 1);
  assert.deepEqual(plan.nodes, []);
  assert.deepEqual(
    plan.build(() => assert.fail('no node should be fetched')),
    [],
  );
});

test('a consistency proof between equal sizes is empty (RFC 9162 §2.1.4.1)', () => {
  const plan = consistencyProofPlan(6, 6);
  assert.deepEqual(plan.nodes, []);
  assert.deepEqual(
    plan.build(() => assert.fail('no node should be fetched')),
    [],
  );
});

test('the root of the empty tree needs no nodes', () => {
  const plan = rootPlan(0);
  assert.deepEqual(plan.nodes, []);
  assert.deepEqual(
    plan.build(() => assert.fail('no node should be fetched')),
    [emptyRoot()],
  );
});

test('plans reject indices and sizes outside the tree with LEDGER_PROOF_RANGE', () => {
  for (const [index, size] of [
    [0, 0],
    [5, 5],
    [6, 5],
    [-1, 5],
    [0.5, 5],
    [0, Number.NaN],
    [0, 2 ** 53],
    [Number.NaN, 3],
  ]) {
    assert.throws(() => inclusionProofPlan(index as number, size as number), rangeError);
  }
  for (const [size1, size2] of [
    [0, 0],
    [0, 5],
    [6, 5],
    [-1, 5],
    [1, 1.5],
    [2 ** 53, 2 ** 53],
  ]) {
    assert.throws(() => consistencyProofPlan(size1 as number, size2 as number), rangeError);
  }
  for (const size of [-1, 1.5, Number.POSITIVE_INFINITY, 2 ** 53]) {
    assert.throws(() => rootPlan(size), rangeError);
  }
});

test('build rejects a stored node hash of the wrong length as an internal error', () => {
  const plan = inclusionProofPlan(3, 10);
  assert.throws(
    () => plan.build(() => Buffer.alloc(31)),
    (error) => isVigilError(error, 'LEDGER_HASH_INVALID') && error.kind === 'internal',
  );
});
