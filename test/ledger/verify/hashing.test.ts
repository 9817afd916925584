import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HASH_SIZE, emptyRoot, leafHash, nodeHash } from '../../../src/ledger/verify/hashing.ts';

const sha256Hex = (hex: string): string => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

test('emptyRoot is SHA-256 of the empty string (RFC 9162 §2.1.1)', () => {
  assert.equal(
    emptyRoot().toString('hex'),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
});

test('emptyRoot returns a fresh copy each time', () => {
  const first = emptyRoot();
  first.fill(0);
  assert.notDeepEqual(emptyRoot(), first);
});

test('leafHash prefixes the data with 0x00', () => {
  assert.equal(
    leafHash(Buffer.alloc(0)).toString('hex'),
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  );
  assert.equal(leafHash(Buffer.from('abc')).toString('hex'), sha256Hex('00616263'));
});

test('nodeHash prefixes the children with 0x01', () => {
  const left = Buffer.alloc(HASH_SIZE, 1);
  const right = Buffer.alloc(HASH_SIZE, 2);
  assert.equal(
    nodeHash(left, right).toString('hex'),
    sha256Hex('01' + left.toString('hex') + right.toString('hex')),
  );
});

test('leaf and node hashes are domain-separated (a leaf cannot pose as a node)', () => {
  const left = Buffer.alloc(HASH_SIZE, 1);
  const right = Buffer.alloc(HASH_SIZE, 2);
  assert.notDeepEqual(leafHash(Buffer.concat([Buffer.from([1]), left, right])), nodeHash(left, right));
  assert.notDeepEqual(leafHash(Buffer.concat([left, right])), nodeHash(left, right));
});
