import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { formatProofFile, parseProofFile, verifyProofFile } from '../../../src/ledger/verify/proof-file.ts';
import { formatCheckpoint } from '../../../src/ledger/verify/checkpoint.ts';
import { formatVerifierKey, signNote } from '../../../src/ledger/verify/note.ts';
import { inclusionProofPlan } from '../../../src/ledger/verify/proof-plans.ts';
import { TreeBuilder } from '../../../src/ledger/verify/tree-builder.ts';
import { leafHash } from '../../../src/ledger/verify/hashing.ts';
import { nodeKey } from '../../../src/ledger/verify/subtrees.ts';
import { freshSigner } from './note-fixtures.ts';

const fileInvalid = (error: unknown) => isVigilError(error, 'LEDGER_PROOF_FILE_INVALID');
const proofInvalid = (error: unknown) => isVigilError(error, 'LEDGER_PROOF_INVALID');

// The example from C2SP tlog-proof (its signatures are elided there, so it parses but cannot verify).
const specExample = `c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
— witness1.example mJirIklj[...]qY9v2B/5bg==
`;

const origin = 'vigil.example/ledger';
const signer = freshSigner();
const verifierKey = formatVerifierKey(origin, signer.publicKey);
const leaves = Array.from({ length: 21 }, (_, index) => Buffer.from(`{"index":${index}}`));
const nodes = new Map<string, Buffer>();
const tree = new TreeBuilder();
for (const leaf of leaves)
  for (const node of tree.append(leafHash(leaf))) nodes.set(nodeKey(node), node.hash);
const checkpointNote = signNote(
  formatCheckpoint({ origin, size: tree.size, rootHash: tree.root() }),
  origin,
  signer,
);

function proofFileFor(index: number, extra?: Buffer): string {
  const plan = inclusionProofPlan(index, tree.size);
  const proof = plan.build((ref) => nodes.get(nodeKey(ref)) as Buffer);
  return formatProofFile({ index, proof, checkpointNote, extra });
}

test('parseProofFile reads the C2SP tlog-proof example', () => {
  const file = parseProofFile(specExample);
  assert.equal(file.index, 73894);
  assert.equal(file.proof.length, 5);
  assert.equal(file.proof[0]?.toString('base64'), 'gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=');
  assert.equal(file.extra?.toString('base64'), 'YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ');
  assert.ok(file.checkpointNote.startsWith('example.com/fancylog\n109482\n'));
  assert.ok(file.checkpointNote.endsWith('qY9v2B/5bg==\n'));
});

test('formatProofFile follows the spec layout: header, extra, index, hashes, blank line, checkpoint', () => {
  const text = proofFileFor(5, Buffer.from('context'));
  const lines = text.split('\n');
  assert.equal(lines[0], 'c2sp.org/tlog-proof@v1');
  assert.equal(lines[1], `extra ${Buffer.from('context').toString('base64')}`);
  assert.equal(lines[2], 'index 5');
  const blank = lines.indexOf('');
  assert.equal(blank, 3 + 5, 'five proof hashes for index 5 of 21');
  assert.equal(lines.slice(blank + 1).join('\n'), checkpointNote);
  assert.deepEqual(parseProofFile(text).extra, Buffer.from('context'));
});

test('formatProofFile omits the extra line when there is no extra data', () => {
  const text = proofFileFor(20);
  assert.equal(text.split('\n')[1], 'index 20');
  assert.equal(parseProofFile(text).extra, undefined);
});

test('verifyProofFile proves every entry of the log against the signed checkpoint', () => {
  leaves.forEach((leaf, index) => {
    assert.deepEqual(verifyProofFile(proofFileFor(index), leaf, verifierKey), { index, size: 21, origin });
  });
  assert.equal(verifyProofFile(proofFileFor(3), leaves[3] as Buffer, verifierKey, { origin }).index, 3);
});

test('verifyProofFile rejects a different entry, a tampered proof and a wrong index', () => {
  const text = proofFileFor(7);
  assert.throws(() => verifyProofFile(text, leaves[8] as Buffer, verifierKey), proofInvalid);
  const lines = text.split('\n');
  lines[3] = Buffer.alloc(32, 1).toString('base64');
  assert.throws(() => verifyProofFile(lines.join('\n'), leaves[7] as Buffer, verifierKey), proofInvalid);
  assert.throws(
    () => verifyProofFile(text.replace('index 7', 'index 6'), leaves[7] as Buffer, verifierKey),
    proofInvalid,
  );
  assert.throws(
    () => verifyProofFile(text.replace('index 7', 'index 21'), leaves[7] as Buffer, verifierKey),
    proofInvalid,
  );
});

test('verifyProofFile rejects a checkpoint not signed by the trusted key, or from another origin', () => {
  const text = proofFileFor(7);
  const otherKey = formatVerifierKey(origin, freshSigner().publicKey);
  assert.throws(
    () => verifyProofFile(text, leaves[7] as Buffer, otherKey),
    (error) => isVigilError(error, 'LEDGER_SIGNATURE_INVALID'),
  );
  assert.throws(
    () => verifyProofFile(text, leaves[7] as Buffer, verifierKey, { origin: 'other.example/log' }),
    (error) => isVigilError(error, 'LEDGER_CHECKPOINT_INVALID'),
  );
  assert.throws(() => verifyProofFile(text, 'leaf' as unknown as Buffer, verifierKey), fileInvalid);
});

test('parseProofFile rejects malformed files with LEDGER_PROOF_FILE_INVALID', () => {
  const text = proofFileFor(5, Buffer.from('x'));
  const hashLine = text.split('\n')[3] as string;
  const cases = [
    '',
    text.replace('c2sp.org/tlog-proof@v1', 'c2sp.org/tlog-proof@v2'),
    text.replace(/^extra .*$/m, 'extra '),
    text.replace(/^extra .*$/m, 'extra !!'),
    text.replace('index 5', 'index 05'),
    text.replace('index 5', 'index -5'),
    text.replace('index 5', 'Index 5'),
    text.replace('index 5\n', ''),
    text.replace(hashLine, hashLine.slice(0, -4)),
    text.replace(hashLine, `${hashLine} `),
    text.replace(`${hashLine}\n`, `${hashLine}\n${Buffer.alloc(31).toString('base64')}\n`),
    text.slice(0, text.indexOf('\n\n') + 1),
    text.slice(0, text.indexOf('\n\n') + 2),
    text.replace(/\n/g, '\r\n'),
    `c2sp.org/tlog-proof@v1\nindex 0\n${`${hashLine}\n`.repeat(65)}\n${checkpointNote}`,
  ];
  for (const bad of cases)
    assert.throws(() => parseProofFile(bad), fileInvalid, JSON.stringify(bad).slice(0, 100));
  assert.throws(() => parseProofFile(null as unknown as string), fileInvalid);
});

test('formatProofFile refuses inputs it could not parse back', () => {
  assert.throws(() => formatProofFile({ index: -1, proof: [], checkpointNote }), fileInvalid);
  assert.throws(() => formatProofFile({ index: 0, proof: [Buffer.alloc(31)], checkpointNote }), fileInvalid);
  assert.throws(() => formatProofFile({ index: 0, proof: [], checkpointNote: 'no newline' }), fileInvalid);
});
