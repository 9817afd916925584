import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, isVigilError } from '../../../src/core/index.ts';
import { LogVerification, verifyLog, type LogEntry } from '../../../src/ledger/verify/log-verification.ts';
import { formatCheckpoint } from '../../../src/ledger/verify/checkpoint.ts';
import { formatVerifierKey, signNote, type NoteSigner } from '../../../src/ledger/verify/note.ts';
import { TreeBuilder } from '../../../src/ledger/verify/tree-builder.ts';
import { emptyRoot, leafHash } from '../../../src/ledger/verify/hashing.ts';
import { freshSigner } from './note-fixtures.ts';

const origin = 'vigil.example/ledger';
const signer = freshSigner();
const verifierKey = formatVerifierKey(origin, signer.publicKey);

// Written out by hand (keys already in RFC 8785 order) so that a million of them are cheap to make.
function eventLeaf(index: number): Buffer {
  return Buffer.from(
    `{"actor":"svc","at":"2025-01-01T00:00:00Z","details":{"serial":"SN${index}"},"index":${index},` +
      `"subject":"device-${index}","type":"device.registered"}`,
  );
}

test('the hand-written test leaves are canonical JSON', () => {
  const leaf = eventLeaf(7);
  assert.equal(canonicalJson(JSON.parse(leaf.toString())), leaf.toString());
});

function signCheckpoint(size: number, rootHash: Buffer, by: NoteSigner = signer): string {
  return signNote(formatCheckpoint({ origin, size, rootHash }), origin, by);
}

/** A well-formed log of `size` entries with signed checkpoints at the given sizes. */
function buildLog(
  size: number,
  checkpointSizes: readonly number[],
): { entries: LogEntry[]; checkpoints: string[] } {
  const entries: LogEntry[] = [];
  const roots = new Map<number, Buffer>([[0, emptyRoot()]]);
  const tree = new TreeBuilder();
  for (let index = 0; index < size; index += 1) {
    const leaf = eventLeaf(index);
    entries.push({ index, leaf, leafHash: leafHash(leaf) });
    tree.append(leafHash(leaf));
    roots.set(tree.size, tree.root());
  }
  return { entries, checkpoints: checkpointSizes.map((at) => signCheckpoint(at, roots.get(at) as Buffer)) };
}

const log = buildLog(100, [10, 40, 100]);

test('an intact log verifies, with checkpoints given in any order', () => {
  const checkpoints = [...log.checkpoints].reverse();
  assert.deepEqual(verifyLog({ entries: log.entries, checkpoints, verifierKey }), {
    ok: true,
    size: 100,
    checkpoints: 3,
    checkpointedSize: 100,
  });
});

test('a log without checkpoints is well-formed but vouched for by nothing', () => {
  assert.deepEqual(verifyLog({ entries: log.entries, checkpoints: [], verifierKey }), {
    ok: true,
    size: 100,
    checkpoints: 0,
    checkpointedSize: 0,
  });
});

test('an empty log matches a checkpoint of size 0 with the empty root', () => {
  const result = verifyLog({ entries: [], checkpoints: [signCheckpoint(0, emptyRoot())], verifierKey });
  assert.deepEqual(result, { ok: true, size: 0, checkpoints: 1, checkpointedSize: 0 });
});

test('entries past the last checkpoint are accepted and reported as not yet checkpointed', () => {
  const result = verifyLog({ entries: log.entries, checkpoints: log.checkpoints.slice(0, 2), verifierKey });
  assert.deepEqual(result, { ok: true, size: 100, checkpoints: 2, checkpointedSize: 40 });
});

test('a removed entry is reported at its index', () => {
  const entries = log.entries.filter((entry) => entry.index !== 57);
  const result = verifyLog({ entries, checkpoints: log.checkpoints, verifierKey });
  assert.equal(result.ok, false);
  assert.ok(
    !result.ok && result.firstBadIndex === 57 && /missing/.test(result.reason),
    JSON.stringify(result),
  );
});

test('a duplicated entry is reported where it appears', () => {
  const entries = [...log.entries.slice(0, 31), log.entries[30] as LogEntry, ...log.entries.slice(31)];
  const result = verifyLog({ entries, checkpoints: log.checkpoints, verifierKey });
  assert.ok(!result.ok && result.firstBadIndex === 31, JSON.stringify(result));
});

test('reordered leaves are caught by the index each leaf records about itself', () => {
  const entries = log.entries.map((entry) =>
    entry.index === 12 || entry.index === 13
      ? { index: entry.index, leaf: eventLeaf(25 - entry.index) }
      : entry,
  );
  const result = verifyLog({ entries, checkpoints: log.checkpoints, verifierKey });
  assert.ok(
    !result.ok && result.firstBadIndex === 12 && /records index 13/.test(result.reason),
    JSON.stringify(result),
  );
});

test('a leaf that is not canonical JSON is reported at its index', () => {
  for (const leaf of [
    Buffer.from('{"type":"x","index":44}'), // keys out of order
    Buffer.from('{"index": 44}'), // whitespace
    Buffer.from('{"index":44.0}'), // number spelling
    Buffer.from('{"index":44,"index":44}'), // duplicate key
    Buffer.from('{"index":44,"s":"\\u0041"}'), // needless escape
    Buffer.concat([Buffer.from('{"index":44,"s":"'), Buffer.from([0xf0, 0x90, 0x80]), Buffer.from('"}')]), // invalid UTF-8
    Buffer.from('[44]'),
    Buffer.from('not json'),
    Buffer.from('{"index":"44"}'),
  ]) {
    const entries = log.entries.map((entry) => (entry.index === 44 ? { index: 44, leaf } : entry));
    const result = verifyLog({ entries, checkpoints: log.checkpoints, verifierKey });
    assert.ok(!result.ok && result.firstBadIndex === 44, `${leaf.toString()}: ${JSON.stringify(result)}`);
  }
});

test('canonical leaves whose keys JavaScript reorders (integer-like keys) are accepted', () => {
  const leaf = Buffer.from(canonicalJson({ index: 0, details: { '10': 'a', '9': 'b', '1': 'c' } }));
  assert.equal(leaf.toString(), '{"details":{"1":"c","10":"a","9":"b"},"index":0}');
  assert.equal(verifyLog({ entries: [{ index: 0, leaf }], checkpoints: [], verifierKey }).ok, true);
});

test('an altered leaf with its stored hash is reported at its index', () => {
  const entries = log.entries.map((entry) =>
    entry.index === 70
      ? { ...entry, leaf: Buffer.from(canonicalJson({ index: 70, type: 'device.decommissioned' })) }
      : entry,
  );
  const result = verifyLog({ entries, checkpoints: log.checkpoints, verifierKey });
  assert.ok(
    !result.ok && result.firstBadIndex === 70 && /leaf hash/.test(result.reason),
    JSON.stringify(result),
  );
});

test('an altered leaf without a stored hash is caught by the next checkpoint, from the previous checkpoint on', () => {
  const entries = log.entries.map(({ index, leaf }) =>
    index === 70
      ? { index, leaf: Buffer.from(canonicalJson({ index: 70, type: 'device.decommissioned' })) }
      : { index, leaf },
  );
  const result = verifyLog({ entries, checkpoints: log.checkpoints, verifierKey });
  assert.ok(!result.ok && result.firstBadIndex === 40, JSON.stringify(result));
  assert.match(result.ok ? '' : result.reason, /checkpoint.*size 100.*40/);
});

test('an altered leaf before the first checkpoint makes everything from 0 untrusted', () => {
  const entries = log.entries.map(({ index, leaf }) =>
    index === 3 ? { index, leaf: Buffer.from(canonicalJson({ index: 3, type: 'forged' })) } : { index, leaf },
  );
  const result = verifyLog({ entries, checkpoints: log.checkpoints, verifierKey });
  assert.ok(!result.ok && result.firstBadIndex === 0, JSON.stringify(result));
});

test('a truncated log is reported at the first missing index', () => {
  const result = verifyLog({ entries: log.entries.slice(0, 90), checkpoints: log.checkpoints, verifierKey });
  assert.ok(
    !result.ok && result.firstBadIndex === 90 && /size 100/.test(result.reason),
    JSON.stringify(result),
  );
});

test('a checkpoint whose signature fails makes its range past the last good checkpoint untrusted', () => {
  const forged = signCheckpoint(100, Buffer.alloc(32), freshSigner());
  const result = verifyLog({
    entries: log.entries,
    checkpoints: [...log.checkpoints.slice(0, 2), forged],
    verifierKey,
  });
  assert.ok(
    !result.ok && result.firstBadIndex === 40 && /cannot be trusted/.test(result.reason),
    JSON.stringify(result),
  );
  const tampered = (log.checkpoints[1] as string).replace('\n40\n', '\n41\n');
  const second = verifyLog({
    entries: log.entries,
    checkpoints: [log.checkpoints[0] as string, tampered],
    verifierKey,
  });
  assert.ok(!second.ok && second.firstBadIndex === 10, JSON.stringify(second));
  const garbage = verifyLog({
    entries: log.entries,
    checkpoints: [...log.checkpoints, 'garbage'],
    verifierKey,
  });
  assert.ok(!garbage.ok && garbage.firstBadIndex === 0, JSON.stringify(garbage));
});

test('two validly signed checkpoints of one size with different roots (a fork) are caught', () => {
  const fork = signCheckpoint(40, Buffer.alloc(32, 9));
  const result = verifyLog({ entries: log.entries, checkpoints: [...log.checkpoints, fork], verifierKey });
  assert.ok(!result.ok && result.firstBadIndex === 10, JSON.stringify(result));
});

test('the lowest of several problems wins, and all are listed', () => {
  const entries = log.entries.filter((entry) => entry.index !== 80);
  const forged = signCheckpoint(5, Buffer.alloc(32), freshSigner());
  const result = verifyLog({ entries, checkpoints: [...log.checkpoints, forged], verifierKey });
  assert.ok(!result.ok);
  assert.equal(result.firstBadIndex, 0);
  assert.deepEqual(
    result.problems.map((problem) => problem.firstBadIndex),
    [0, 80],
  );
});

test('LogVerification takes entries one at a time, for streaming from a database', () => {
  const verification = new LogVerification({ checkpoints: log.checkpoints, verifierKey });
  for (const entry of log.entries) assert.equal(verification.addEntry(entry), true);
  assert.equal(verification.finish().ok, true);
  const failing = new LogVerification({ checkpoints: log.checkpoints, verifierKey });
  assert.equal(failing.addEntry({ index: 1, leaf: eventLeaf(1) }), false);
  assert.equal(failing.addEntry(log.entries[0] as LogEntry), false, 'it stops at the first bad entry');
});

test('malformed entries are reported, never thrown', () => {
  for (const bad of [null, 5, { index: 0 }, { index: 0, leaf: 'text' }, { index: '0', leaf: eventLeaf(0) }]) {
    const result = verifyLog({ entries: [bad as unknown as LogEntry], checkpoints: [], verifierKey });
    assert.ok(!result.ok && result.firstBadIndex === 0, JSON.stringify(bad));
  }
});

test('a bad verifier key or non-list input throws a VigilError', () => {
  assert.throws(
    () => verifyLog({ entries: [], checkpoints: [], verifierKey: 'nope' }),
    (error) => isVigilError(error, 'LEDGER_KEY_INVALID'),
  );
  assert.throws(
    () => verifyLog({ entries: 5 as unknown as LogEntry[], checkpoints: [], verifierKey }),
    (error) => isVigilError(error, 'LEDGER_LOG_INVALID'),
  );
  assert.throws(
    () => verifyLog({ entries: [], checkpoints: 'x' as unknown as string[], verifierKey }),
    (error) => isVigilError(error, 'LEDGER_LOG_INVALID'),
  );
});

test('a large log verifies streamed, holding only the tree frontier', () => {
  const size = 100_000;
  const tree = new TreeBuilder();
  const checkpoints: string[] = [];
  // Leaves are generated on the fly twice (to sign, then to audit) so only the tree frontier is held.
  for (let index = 0; index < size; index += 1) {
    tree.append(leafHash(eventLeaf(index)));
    if ((index + 1) % 25_000 === 0) checkpoints.push(signCheckpoint(index + 1, tree.root()));
  }
  function* entries(): Generator<LogEntry> {
    for (let index = 0; index < size; index += 1) yield { index, leaf: eventLeaf(index) };
  }
  const result = verifyLog({ entries: entries(), checkpoints, verifierKey });
  assert.deepEqual(result, { ok: true, size, checkpoints: 4, checkpointedSize: size });
});
