import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import {
  checkNodeHash,
  completeSubtrees,
  composeSubtrees,
  nodeKey,
  splitPoint,
} from '../../../src/ledger/verify/subtrees.ts';
import { makeLeafHashes, naiveRoot } from './merkle-fixtures.ts';

test('splitPoint is the largest power of two strictly below n (RFC 9162 §2.1.1 k)', () => {
  assert.deepEqual([2, 3, 4, 5, 8, 9, 1000].map(splitPoint), [1, 2, 2, 4, 4, 8, 512]);
  assert.equal(splitPoint(2 ** 52 + 1), 2 ** 52);
});

test('completeSubtrees decomposes a range into aligned complete nodes, largest first', () => {
  assert.deepEqual(completeSubtrees({ start: 0, end: 13 }), [
    { level: 3, index: 0 },
    { level: 2, index: 2 },
    { level: 0, index: 12 },
  ]);
  assert.deepEqual(completeSubtrees({ start: 8, end: 11 }), [
    { level: 1, index: 4 },
    { level: 0, index: 10 },
  ]);
  assert.deepEqual(completeSubtrees({ start: 16, end: 32 }), [{ level: 4, index: 1 }]);
  assert.deepEqual(completeSubtrees({ start: 5, end: 5 }), []);
});

test('composing the complete nodes of [0, n) gives MTH(D[n]) for n = 1..100', () => {
  const leaves = makeLeafHashes(100);
  const nodeHashOf = (level: number, index: number) =>
    naiveRoot(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
  for (let n = 1; n <= 100; n += 1) {
    const hashes = completeSubtrees({ start: 0, end: n }).map((ref) => nodeHashOf(ref.level, ref.index));
    assert.deepEqual(composeSubtrees(hashes), naiveRoot(leaves.slice(0, n)), `n = ${n}`);
  }
});

test('composeSubtrees refuses an empty list', () => {
  assert.throws(
    () => composeSubtrees([]),
    (error) => isVigilError(error, 'LEDGER_HASH_INVALID'),
  );
});

test('checkNodeHash rejects stored hashes that are not 32 bytes as an internal error', () => {
  assert.equal(checkNodeHash({ level: 0, index: 0 }, Buffer.alloc(32)).length, 32);
  for (const bad of [undefined, Buffer.alloc(31), 'hash']) {
    assert.throws(
      () => checkNodeHash({ level: 1, index: 2 }, bad),
      (error) => isVigilError(error, 'LEDGER_HASH_INVALID') && error.kind === 'internal',
    );
  }
});

test('nodeKey names a node uniquely', () => {
  assert.equal(nodeKey({ level: 3, index: 17 }), '3/17');
  assert.notEqual(nodeKey({ level: 1, index: 11 }), nodeKey({ level: 11, index: 1 }));
});
