import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  gunzipBounded,
  gunzipPrefix,
  isGzip,
  readJsonDocument,
} from '../../../src/vulns/advisories/json-input.ts';
import { assertVigilError } from './fixtures.ts';

test('a gzip bomb stops at the bound, not at the end of memory', () => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros, about 64 KiB compressed
  assert.ok(bomb.length < 100_000);
  const error = assertVigilError(() => gunzipBounded(bomb, 1024 * 1024), 'VULNS_ADVISORY_TOO_LARGE');
  assert.equal(error.kind, 'too_large');
  assertVigilError(() => readJsonDocument(bomb, 1024 * 1024), 'VULNS_ADVISORY_TOO_LARGE');
});

test("a peek at a gzip file inflates its start only, bounded by deflate's largest expansion", () => {
  const text = Buffer.from(`${'{"id":"A"}\n'.repeat(100_000)}`);
  const compressed = gzipSync(text);
  const peek = gunzipPrefix(compressed.subarray(0, 1000));
  assert.ok(peek.length > 0 && peek.length <= 1000 * 1032 + 1024);
  assert.ok(text.subarray(0, peek.length).equals(peek));
});

test('JSON in any of its forms; a byte order mark is ignored (RFC 8259 §8.1)', () => {
  assert.deepEqual(readJsonDocument(Buffer.from('\uFEFF{"a":1}')), { a: 1 });
  assert.deepEqual(readJsonDocument('\uFEFF{"a":1}'), { a: 1 });
  assert.deepEqual(readJsonDocument(gzipSync(Buffer.from('{"a":1}'))), { a: 1 });
  const parsed = { a: 1 };
  assert.equal(readJsonDocument(parsed), parsed);
  assert.equal(isGzip(Buffer.from([0x1f])), false);
});

test('text longer than the bound is refused before parsing', () => {
  assertVigilError(() => readJsonDocument(`"${'x'.repeat(2000)}"`, 1000), 'VULNS_ADVISORY_TOO_LARGE');
  assertVigilError(() => readJsonDocument(Buffer.alloc(2000, 0x20), 1000), 'VULNS_ADVISORY_TOO_LARGE');
});

test('deeply nested JSON parses or fails with a typed error, never a stack overflow', () => {
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  try {
    readJsonDocument(deep);
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'VULNS_ADVISORY_MALFORMED');
  }
});
