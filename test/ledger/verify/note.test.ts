import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isVigilError } from '../../../src/core/index.ts';
import {
  computeKeyId,
  formatVerifierKey,
  openNote,
  parseVerifierKey,
  signNote,
} from '../../../src/ledger/verify/note.ts';
import {
  freshSigner,
  goReferenceNote,
  goReferenceSigner,
  goReferenceText,
  goReferenceVerifierKey,
} from './note-fixtures.ts';

const noteInvalid = (error: unknown) => isVigilError(error, 'LEDGER_NOTE_INVALID');
const signatureInvalid = (error: unknown) => isVigilError(error, 'LEDGER_SIGNATURE_INVALID');
const keyInvalid = (error: unknown) => isVigilError(error, 'LEDGER_KEY_INVALID');

const logName = 'vigil.example/ledger';
const logSigner = freshSigner();
const logKey = formatVerifierKey(logName, logSigner.publicKey);

test('the key ID is SHA-256(name || 0x0A || 0x01 || public key)[:4] (C2SP signed-note)', () => {
  const expected = createHash('sha256')
    .update(Buffer.concat([Buffer.from(logName), Buffer.from([0x0a, 0x01]), logSigner.publicKey]))
    .digest()
    .subarray(0, 4);
  assert.deepEqual(computeKeyId(logName, logSigner.publicKey), expected);
});

test('formatVerifierKey reproduces the Go sumdb/note reference verifier key', () => {
  assert.equal(formatVerifierKey('PeterNeumann', goReferenceSigner().publicKey), goReferenceVerifierKey);
});

test('signNote reproduces the Go sumdb/note reference note byte for byte', () => {
  assert.equal(signNote(goReferenceText, 'PeterNeumann', goReferenceSigner()), goReferenceNote);
});

test('openNote verifies the Go sumdb/note reference note and returns its text', () => {
  assert.equal(openNote(goReferenceNote, goReferenceVerifierKey), goReferenceText);
  assert.equal(
    openNote(Buffer.from(goReferenceNote, 'utf8'), parseVerifierKey(goReferenceVerifierKey)),
    goReferenceText,
  );
});

test('openNote rejects the reference note with one altered letter', () => {
  assert.throws(
    () => openNote(goReferenceNote.replace('cryptography', 'cryptographY'), goReferenceVerifierKey),
    signatureInvalid,
  );
});

test('parseVerifierKey reads a key whose base64 contains "+" (transparency-dev test key)', () => {
  const key = parseVerifierKey('TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6');
  assert.equal(key.name, 'TEST');
  assert.equal(key.keyId.toString('hex'), '7997405c');
  assert.equal(key.publicKey.length, 32);
});

test('parseVerifierKey round-trips formatVerifierKey and accepts an upper-case key ID', () => {
  const key = parseVerifierKey(logKey);
  assert.equal(key.name, logName);
  assert.deepEqual(key.publicKey, logSigner.publicKey);
  const [name, id, material] = [
    logKey.slice(0, logKey.indexOf('+')),
    logKey.split('+')[1] as string,
    logKey.slice(logKey.indexOf('+', logKey.indexOf('+') + 1) + 1),
  ];
  assert.deepEqual(parseVerifierKey(`${name}+${id.toUpperCase()}+${material}`), key);
});

test('parseVerifierKey rejects every truncation and every single-byte change of a key', () => {
  const key = goReferenceVerifierKey;
  for (let start = 0; start < key.length; start += 1) {
    for (let end = start + 1; end <= key.length; end += 1) {
      if (start === 0 && end === key.length) continue;
      assert.throws(() => parseVerifierKey(key.slice(start, end)), keyInvalid, key.slice(start, end));
    }
  }
  for (let position = 0; position < key.length; position += 1) {
    const changed =
      key.slice(0, position) + String.fromCharCode(key.charCodeAt(position) + 1) + key.slice(position + 1);
    assert.throws(() => parseVerifierKey(changed), keyInvalid, changed);
  }
});

test('parseVerifierKey rejects other algorithms, bad names and non-strings', () => {
  const material = (type: number) =>
    Buffer.concat([Buffer.from([type]), logSigner.publicKey]).toString('base64');
  const id = computeKeyId(logName, logSigner.publicKey).toString('hex');
  assert.throws(() => parseVerifierKey(`${logName}+${id}+${material(0x02)}`), keyInvalid);
  assert.throws(() => parseVerifierKey(`${logName}+${id}+${material(0x01).slice(0, -4)}`), keyInvalid);
  assert.throws(() => parseVerifierKey(`bad name+${id}+${material(0x01)}`), keyInvalid);
  assert.throws(() => parseVerifierKey(`+${id}+${material(0x01)}`), keyInvalid);
  assert.throws(() => parseVerifierKey(42 as unknown as string), keyInvalid);
  assert.throws(() => formatVerifierKey('a+b', logSigner.publicKey), keyInvalid);
  assert.throws(() => formatVerifierKey(logName, Buffer.alloc(31)), keyInvalid);
});

test('a note text may contain blank lines: the last blank line separates the signatures', () => {
  const text = 'first paragraph\n\nsecond paragraph\n';
  assert.equal(openNote(signNote(text, logName, logSigner), logKey), text);
});

test('openNote ignores signatures by unknown keys, including ones sharing the name or the ID', () => {
  const other = freshSigner();
  const text = 'hello\n';
  const byLog = signNote(text, logName, logSigner);
  const byOtherSameName = signNote(text, logName, other).split('\n\n')[1] as string;
  const byOtherName = signNote(text, 'witness.example', other).split('\n\n')[1] as string;
  const logLine = byLog.split('\n\n')[1] as string;
  const sameIdOtherName = logLine.replace(logName, 'impostor.example');
  assert.equal(
    openNote(`${text}\n${byOtherSameName}${byOtherName}${sameIdOtherName}${logLine}`, logKey),
    text,
  );
});

test('openNote accepts at least 16 signatures (C2SP signed-note §Format)', () => {
  const text = 'many witnesses\n';
  const witnesses = Array.from(
    { length: 15 },
    (_, position) => signNote(text, `witness${position}.example`, freshSigner()).split('\n\n')[1],
  ).join('');
  const logLine = signNote(text, logName, logSigner).split('\n\n')[1] as string;
  assert.equal(openNote(`${text}\n${witnesses}${logLine}`, logKey), text);
});

test('openNote rejects a note with no signature by the trusted key', () => {
  const note = signNote('hello\n', 'witness.example', freshSigner());
  assert.throws(() => openNote(note, logKey), signatureInvalid);
});

test('openNote rejects the whole note when a trusted-key signature fails, even beside a valid one', () => {
  const text = 'hello\n';
  const good = signNote(text, logName, logSigner).split('\n\n')[1] as string;
  const forged = signNote('other\n', logName, logSigner).split('\n\n')[1] as string;
  assert.throws(() => openNote(`${text}\n${forged}${good}`, logKey), signatureInvalid);
  assert.throws(() => openNote(`${text}\n${good}${forged}`, logKey), signatureInvalid);
});

test('openNote rejects a trusted-key signature of the wrong length as invalid, not as a crash', () => {
  const text = 'hello\n';
  const keyId = computeKeyId(logName, logSigner.publicKey);
  const short = Buffer.concat([keyId, Buffer.alloc(10)]).toString('base64');
  assert.throws(() => openNote(`${text}\n— ${logName} ${short}\n`, logKey), signatureInvalid);
});

test('openNote rejects malformed notes with LEDGER_NOTE_INVALID', () => {
  const note = signNote('hello\n', logName, logSigner);
  const line = note.split('\n\n')[1] as string;
  const signature = line.slice(line.lastIndexOf(' ') + 1, -1);
  const cases = [
    'hello\n',
    note.slice(0, -1),
    note.replace('\n\n', '\n'),
    'hello\n\n',
    `hello\n\n${line}\n`,
    note.replace('—', '--'),
    note.replace('— ', '—'),
    note.replace(`${logName} `, `${logName}`),
    `hello\n\n— ${logName}  ${signature}\n`,
    `hello\n\n— ${logName} ${signature.replace(/=+$/, '')}\n`,
    `hello\n\n— ${logName} AAAA\n`,
    `hello\n\n— ${logName} \n`,
    note.replace('hello', 'hel\rlo'),
    note.replace('hello', 'hel\u0000lo'),
    note.replace('hello', 'hel\ud800lo'),
    note.replace('\n\n', '\r\n\r\n'),
    `hello\n\n${Array.from({ length: 101 }, () => line).join('')}`,
  ];
  for (const bad of cases)
    assert.throws(() => openNote(bad, logKey), noteInvalid, JSON.stringify(bad).slice(0, 80));
  assert.throws(() => openNote(Buffer.from([0x68, 0xff, 0x0a, 0x0a]), logKey), noteInvalid);
  assert.throws(() => openNote(12 as unknown as string, logKey), noteInvalid);
  assert.throws(() => openNote('x'.repeat(2 << 20), logKey), noteInvalid);
});

test('signNote refuses texts and names a verifier would reject', () => {
  for (const text of ['', 'no newline', 'tab\there\n', 'cr\r\n', 'lone \ud800\n']) {
    assert.throws(() => signNote(text, logName, logSigner), noteInvalid, JSON.stringify(text));
  }
  for (const name of ['', 'has space', 'has+plus', 'nbsp\u00a0', 'line\u2028sep']) {
    assert.throws(() => signNote('hello\n', name, logSigner), noteInvalid, JSON.stringify(name));
  }
});
