import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { formatCheckpoint, openCheckpoint, parseCheckpoint } from '../../../src/ledger/verify/checkpoint.ts';
import { formatVerifierKey, signNote } from '../../../src/ledger/verify/note.ts';
import { emptyRoot } from '../../../src/ledger/verify/hashing.ts';
import { freshSigner } from './note-fixtures.ts';

const checkpointInvalid = (error: unknown) => isVigilError(error, 'LEDGER_CHECKPOINT_INVALID');

// The example body from C2SP tlog-checkpoint.
const specBody = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

test('parseCheckpoint reads the C2SP tlog-checkpoint example body', () => {
  const checkpoint = parseCheckpoint(specBody);
  assert.equal(checkpoint.origin, 'example.com/behind-the-sofa');
  assert.equal(checkpoint.size, 20852163);
  assert.equal(checkpoint.rootHash.toString('base64'), 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
  assert.deepEqual(checkpoint.extensions, []);
});

test('formatCheckpoint writes origin, size and root lines ending in a newline', () => {
  const { origin, size, rootHash } = parseCheckpoint(specBody);
  assert.equal(formatCheckpoint({ origin, size, rootHash }), specBody);
});

test('extension lines round-trip', () => {
  const text = formatCheckpoint({
    origin: 'o',
    size: 1,
    rootHash: Buffer.alloc(32, 7),
    extensions: ['ext one', 'ext two'],
  });
  assert.equal(text, `o\n1\n${Buffer.alloc(32, 7).toString('base64')}\next one\next two\n`);
  assert.deepEqual(parseCheckpoint(text).extensions, ['ext one', 'ext two']);
});

test('the empty tree has size 0', () => {
  const text = formatCheckpoint({ origin: 'o', size: 0, rootHash: emptyRoot() });
  assert.equal(parseCheckpoint(text).size, 0);
});

test('parseCheckpoint rejects every deviation from the strict layout', () => {
  const root = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';
  const cases = [
    specBody.slice(0, -1),
    'example.com/x\n20852163\n',
    `\n20852163\n${root}\n`,
    `o\n020852163\n${root}\n`,
    `o\n+5\n${root}\n`,
    `o\n-1\n${root}\n`,
    `o\n5 \n${root}\n`,
    `o\n9007199254740992\n${root}\n`,
    `o\n18446744073709551615\n${root}\n`,
    `o\n5\n${root.slice(0, -1)}\n`,
    `o\n5\n${Buffer.alloc(31).toString('base64')}\n`,
    `o\n5\n${Buffer.alloc(33).toString('base64')}\n`,
    `o\n5\n${root.replace('/', '_')}\n`,
    `o\n5\n${root}\n\n`,
    `o\n5\n${root}\n\next\n`,
    `o\r\n5\r\n${root}\r\n`,
    `o\u0000\n5\n${root}\n`,
    `o\n5\n${root}\next\tension\n`,
    '',
  ];
  for (const text of cases)
    assert.throws(() => parseCheckpoint(text), checkpointInvalid, JSON.stringify(text));
  assert.throws(() => parseCheckpoint(undefined as unknown as string), checkpointInvalid);
});

test('formatCheckpoint refuses values it could not parse back', () => {
  const rootHash = Buffer.alloc(32);
  assert.throws(() => formatCheckpoint({ origin: '', size: 1, rootHash }), checkpointInvalid);
  assert.throws(() => formatCheckpoint({ origin: 'a\nb', size: 1, rootHash }), checkpointInvalid);
  assert.throws(() => formatCheckpoint({ origin: 'o', size: -1, rootHash }), checkpointInvalid);
  assert.throws(() => formatCheckpoint({ origin: 'o', size: 1.5, rootHash }), checkpointInvalid);
  assert.throws(
    () => formatCheckpoint({ origin: 'o', size: 1, rootHash: Buffer.alloc(20) }),
    checkpointInvalid,
  );
  assert.throws(
    () => formatCheckpoint({ origin: 'o', size: 1, rootHash, extensions: [''] }),
    checkpointInvalid,
  );
});

test('openCheckpoint verifies the signature before parsing', () => {
  const signer = freshSigner();
  const key = formatVerifierKey('example.com/behind-the-sofa', signer.publicKey);
  const note = signNote(specBody, 'example.com/behind-the-sofa', signer);
  assert.equal(openCheckpoint(note, key).size, 20852163);
  const tampered = note.replace('20852163', '20852164');
  assert.throws(
    () => openCheckpoint(tampered, key),
    (error) => isVigilError(error, 'LEDGER_SIGNATURE_INVALID'),
  );
  const malformed = signNote('only one line\n', 'example.com/behind-the-sofa', signer);
  assert.throws(() => openCheckpoint(malformed, key), checkpointInvalid);
});
