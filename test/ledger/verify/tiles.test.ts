import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  parseTilePath,
  tilePath,
} from '../../../src/ledger/verify/tiles.ts';

const pathInvalid = (error: unknown) => isVigilError(error, 'LEDGER_TILE_PATH_INVALID');
const bundleInvalid = (error: unknown) => isVigilError(error, 'LEDGER_ENTRY_BUNDLE_INVALID');

test('tilePath encodes the index in x-prefixed 3-digit groups (the C2SP tlog-tiles example)', () => {
  assert.equal(tilePath(0, 1234067), 'tile/0/x001/x234/067');
  assert.equal(tilePath(2, 0), 'tile/2/000');
  assert.equal(tilePath(1, 999), 'tile/1/999');
  assert.equal(tilePath(1, 1000), 'tile/1/x001/000');
  assert.equal(tilePath(63, Number.MAX_SAFE_INTEGER), 'tile/63/x009/x007/x199/x254/x740/991');
});

test('tilePath writes partial tiles and entry bundles', () => {
  assert.equal(tilePath(0, 273, 112), 'tile/0/273.p/112');
  assert.equal(tilePath('entries', 1234067, 8), 'tile/entries/x001/x234/067.p/8');
  assert.equal(tilePath('entries', 5), 'tile/entries/005');
});

test('parseTilePath inverts tilePath', () => {
  const cases: [number | 'entries', number, number | undefined][] = [
    [0, 0, undefined],
    [0, 1234067, undefined],
    [5, 1000, 1],
    [63, Number.MAX_SAFE_INTEGER, 255],
    ['entries', 999999, undefined],
    ['entries', 1000000, 17],
  ];
  for (const [level, index, width] of cases) {
    const path = tilePath(level, index, width);
    const expected = width === undefined ? { level, index } : { level, index, width };
    assert.deepEqual(parseTilePath(path), expected, path);
  }
});

test('parseTilePath rejects malformed and non-canonical paths', () => {
  const cases = [
    '',
    'tile',
    'tile/0',
    'tile/0/',
    '/tile/0/000',
    'tile/0/000/',
    'tiles/0/000',
    'tile/64/000',
    'tile/01/000',
    'tile/-1/000',
    'tile/entry/000',
    'tile/0/1',
    'tile/0/0001',
    'tile/0/x001',
    'tile/0/001/002',
    'tile/0/x000/005',
    'tile/0/x001/x02/003',
    'tile/0/X001/000',
    'tile/0/000.p',
    'tile/0/000.p/',
    'tile/0/000.p/0',
    'tile/0/000.p/256',
    'tile/0/000.p/007',
    'tile/0/000.p/5/6',
    'tile/0/000.p/5.p/6',
    'tile/0/.p/5',
    'tile/0/x009/x007/x199/x254/x740/992',
    'tile/0/x001/x001/x001/x001/x001/x001/000',
    'tile/0/00a',
    'tile/0/ 00',
    `tile/0/${'x001/'.repeat(40)}000`,
  ];
  for (const path of cases) assert.throws(() => parseTilePath(path), pathInvalid, path);
  assert.throws(() => parseTilePath(7 as unknown as string), pathInvalid);
});

test('tilePath rejects levels, indices and widths outside the spec', () => {
  for (const [level, index, width] of [
    [64, 0, undefined],
    [-1, 0, undefined],
    [0.5, 0, undefined],
    [0, -1, undefined],
    [0, 2 ** 53, undefined],
    [0, 0, 0],
    [0, 0, 256],
    [0, 0, 1.5],
  ] as const) {
    assert.throws(() => tilePath(level, index, width), pathInvalid);
  }
  assert.throws(() => tilePath('other' as 'entries', 0), pathInvalid);
});

test('entry bundles are big-endian uint16 length-prefixed entries', () => {
  const entries = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 7)];
  const bundle = encodeEntryBundle(entries);
  assert.deepEqual(bundle.subarray(0, 3), Buffer.from([0x00, 0x01, 0x61]));
  assert.deepEqual(bundle.subarray(3, 5), Buffer.from([0x00, 0x00]));
  assert.deepEqual(bundle.subarray(5, 7), Buffer.from([0x01, 0x2c]));
  assert.deepEqual(decodeEntryBundle(bundle), entries);
});

test('a full bundle of 256 maximum-size entries round-trips', () => {
  const entries = Array.from({ length: 256 }, (_, position) =>
    Buffer.alloc(position === 0 ? 65535 : 3, position),
  );
  assert.deepEqual(decodeEntryBundle(encodeEntryBundle(entries)), entries);
});

test('decodeEntryBundle rejects truncated, empty and oversized bundles', () => {
  const bundle = encodeEntryBundle([Buffer.from('abc'), Buffer.from('de')]);
  assert.throws(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1)), bundleInvalid);
  assert.throws(() => decodeEntryBundle(Buffer.concat([bundle, Buffer.from([0x00])])), bundleInvalid);
  assert.throws(() => decodeEntryBundle(Buffer.alloc(0)), bundleInvalid);
  assert.throws(() => decodeEntryBundle(Buffer.alloc(257 * 2)), bundleInvalid);
  assert.throws(() => decodeEntryBundle('bundle' as unknown as Buffer), bundleInvalid);
});

test('encodeEntryBundle rejects entries a uint16 cannot length-prefix', () => {
  assert.throws(() => encodeEntryBundle([Buffer.alloc(65536)]), bundleInvalid);
  assert.throws(() => encodeEntryBundle([]), bundleInvalid);
  assert.throws(() => encodeEntryBundle(Array.from({ length: 257 }, () => Buffer.alloc(1))), bundleInvalid);
});
