import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { isVigilError } from '../../src/core/index.ts';
import { ArtifactStore } from '../../src/updates/artifacts.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('artifact store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-artifacts-'));
  const store = new ArtifactStore({ dir, maxBytes: 1024 });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const incoming = () => (existsSync(join(dir, 'incoming')) ? readdirSync(join(dir, 'incoming')) : []);

  test('streams bytes in chunks, keeps them under their SHA-256 and reports both digests', async () => {
    const bytes = Buffer.from('a'.repeat(700) + 'b'.repeat(300));
    const digest = await store.put(Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]));
    assert.deepEqual(digest, {
      sha256: sha256(bytes),
      sha512: createHash('sha512').update(bytes).digest('hex'),
      length: 1000,
    });
    assert.equal(store.pathOf(digest.sha256), join(dir, 'sha256', digest.sha256.slice(0, 2), digest.sha256));
    const opened = await store.open(digest.sha256);
    const chunks: Buffer[] = [];
    for await (const chunk of opened!.stream) chunks.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(chunks), bytes);
    // The same bytes again land on the same file.
    assert.deepEqual(await store.put(Readable.from([bytes])), digest);
    assert.deepEqual(incoming(), []);
  });

  test('refuses bytes that do not match the declared hashes or length, keeping nothing', async () => {
    const bytes = Buffer.from('declared one thing, sent another');
    for (const declared of [{ sha256: 'ab'.repeat(32) }, { sha512: 'cd'.repeat(64) }, { length: 3 }]) {
      await assert.rejects(store.put(Readable.from([bytes]), declared), (error) =>
        isVigilError(error, 'ARTIFACT_HASH_MISMATCH'),
      );
    }
    assert.equal(await store.open(sha256(bytes)), null);
    assert.deepEqual(incoming(), []);
    // Upper-case hex declarations are the same digest.
    assert.equal(
      (await store.put(Readable.from([bytes]), { sha256: sha256(bytes).toUpperCase() })).length,
      bytes.length,
    );
  });

  test('refuses an artifact over the size cap with 413 and keeps nothing', async () => {
    const big = Buffer.alloc(1025, 1);
    await assert.rejects(
      store.put(Readable.from([big.subarray(0, 512), big.subarray(512)])),
      (error) => isVigilError(error, 'ARTIFACT_TOO_LARGE') && error.kind === 'too_large',
    );
    assert.equal(await store.open(sha256(big)), null);
    assert.deepEqual(incoming(), []);
  });

  test('an upload that breaks off midway keeps nothing', async () => {
    const broken = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('connection reset'));
      },
    });
    await assert.rejects(store.put(broken), (error) => isVigilError(error, 'ARTIFACT_UPLOAD_FAILED'));
    assert.deepEqual(incoming(), []);
  });

  test('names artifacts only by 64 lower-case hex digits', () => {
    for (const name of ['../etc/passwd', 'AB'.repeat(32), 'ab'.repeat(31)]) {
      assert.throws(
        () => store.pathOf(name),
        (error) => isVigilError(error, 'ARTIFACT_DIGEST_INVALID'),
      );
    }
  });
});
