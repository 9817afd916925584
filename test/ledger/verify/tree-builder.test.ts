import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { TreeBuilder, frontierRefs } from '../../../src/ledger/verify/tree-builder.ts';
import { emptyRoot } from '../../../src/ledger/verify/hashing.ts';
import { nodeKey } from '../../../src/ledger/verify/subtrees.ts';
import { makeLeafHashes, naiveRoot } from './merkle-fixtures.ts';

const leaves = makeLeafHashes(300);
const subtreeHash = (level: number, index: number) =>
  naiveRoot(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));

test('an empty builder has size 0 and the empty root', () => {
  const builder = new TreeBuilder();
  assert.equal(builder.size, 0);
  assert.deepEqual(builder.root(), emptyRoot());
  assert.deepEqual(builder.frontier(), []);
});

test('the root after every append equals the naive MTH, for sizes 1..300', () => {
  const builder = new TreeBuilder();
  leaves.forEach((hash, index) => {
    builder.append(hash);
    assert.equal(builder.size, index + 1);
    assert.deepEqual(builder.root(), naiveRoot(leaves.slice(0, index + 1)), `size ${index + 1}`);
  });
});

test('append returns the leaf and exactly the subtrees it completes, with their hashes', () => {
  const builder = new TreeBuilder();
  const seen = new Set<string>();
  leaves.forEach((hash, index) => {
    const completed = builder.append(hash);
    assert.deepEqual(completed[0], { level: 0, index, hash });
    // Appending leaf i completes one node per trailing 1 bit of i, at levels 1, 2, ...
    let trailingOnes = 0;
    for (let rest = index; rest % 2 === 1; rest = Math.floor(rest / 2)) trailingOnes += 1;
    assert.equal(completed.length, 1 + trailingOnes, `append ${index}`);
    completed.forEach((node, position) => {
      assert.equal(node.level, position);
      assert.equal((node.index + 1) * 2 ** node.level, index + 1, 'a completed node ends at the new leaf');
      assert.deepEqual(node.hash, subtreeHash(node.level, node.index));
      assert.ok(!seen.has(nodeKey(node)), 'no node is completed twice');
      seen.add(nodeKey(node));
    });
  });
  // Every complete node of a 300-leaf tree: 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1.
  assert.equal(seen.size, 596);
});

test('frontierRefs is the binary decomposition of the size, largest subtree first', () => {
  assert.deepEqual(frontierRefs(0), []);
  assert.deepEqual(frontierRefs(13), [
    { level: 3, index: 0 },
    { level: 2, index: 2 },
    { level: 0, index: 12 },
  ]);
  assert.deepEqual(frontierRefs(2 ** 40), [{ level: 40, index: 0 }]);
  assert.equal(frontierRefs(Number.MAX_SAFE_INTEGER).length, 53);
});

test('a builder resumed from its frontier continues exactly like the original', () => {
  for (const size of [0, 1, 2, 7, 8, 13, 64, 255]) {
    const original = new TreeBuilder();
    leaves.slice(0, size).forEach((hash) => original.append(hash));
    const frontier = original.frontier();
    assert.deepEqual(
      frontier.map(({ level, index }) => ({ level, index })),
      frontierRefs(size),
    );
    const resumed = TreeBuilder.fromFrontier(
      size,
      frontier.map((node) => node.hash),
    );
    assert.deepEqual(resumed.root(), original.root());
    for (const hash of leaves.slice(size, size + 40)) {
      assert.deepEqual(resumed.append(hash), original.append(hash));
    }
    assert.deepEqual(resumed.root(), original.root());
  }
});

test('fromFrontier builds from stored subtree hashes alone (no leaves needed)', () => {
  const size = 13;
  const hashes = frontierRefs(size).map((ref) => subtreeHash(ref.level, ref.index));
  const builder = TreeBuilder.fromFrontier(size, hashes);
  assert.deepEqual(builder.root(), naiveRoot(leaves.slice(0, size)));
  builder.append(leaves[13] as Buffer);
  assert.deepEqual(builder.root(), naiveRoot(leaves.slice(0, 14)));
});

test('fromFrontier rejects a frontier of the wrong shape', () => {
  const hash = Buffer.alloc(32);
  const invalid = (error: unknown) => isVigilError(error, 'LEDGER_HASH_INVALID');
  assert.throws(() => TreeBuilder.fromFrontier(3, [hash]), invalid);
  assert.throws(() => TreeBuilder.fromFrontier(3, [hash, hash, hash]), invalid);
  assert.throws(() => TreeBuilder.fromFrontier(3, [hash, Buffer.alloc(31)]), invalid);
  assert.throws(
    () => TreeBuilder.fromFrontier(-1, []),
    (error) => isVigilError(error, 'LEDGER_PROOF_RANGE'),
  );
});

test('append rejects anything but a 32-byte leaf hash', () => {
  const builder = new TreeBuilder();
  for (const bad of [Buffer.alloc(0), Buffer.alloc(33), 'hash', undefined]) {
    assert.throws(
      () => builder.append(bad as unknown as Buffer),
      (error) => isVigilError(error, 'LEDGER_HASH_INVALID'),
    );
  }
  assert.equal(builder.size, 0);
});

test('the builder keeps its own copy of appended hashes', () => {
  const builder = new TreeBuilder();
  const hash = Buffer.from(leaves[0] as Buffer);
  builder.append(hash);
  hash.fill(0);
  assert.deepEqual(builder.root(), leaves[0]);
});
