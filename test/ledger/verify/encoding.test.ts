import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import {
  decodeBase64,
  hasControlCharacter,
  isTreeCount,
  isWellFormedText,
  parseDecimal,
} from '../../../src/ledger/verify/encoding.ts';

const rejects = (run: () => unknown, code: string) =>
  assert.throws(run, (error) => isVigilError(error, code));

test('decodeBase64 accepts standard padded base64', () => {
  assert.deepEqual(decodeBase64('AAEC/w==', 'LEDGER_NOTE_INVALID', 'x'), Buffer.from([0, 1, 2, 255]));
  assert.deepEqual(decodeBase64('', 'LEDGER_NOTE_INVALID', 'x'), Buffer.alloc(0));
  assert.deepEqual(decodeBase64('+/+/', 'LEDGER_NOTE_INVALID', 'x'), Buffer.from([0xfb, 0xff, 0xbf]));
});

test('decodeBase64 rejects every non-canonical spelling with the given code', () => {
  for (const text of [
    'AAEC/w',
    'AAEC_w==',
    'AAEC-w==',
    ' AAEC/w==',
    'AAEC/w==\n',
    'AAEC/w=',
    'AA==AA==',
    'QR==',
    'AAB=',
    '=',
  ]) {
    rejects(() => decodeBase64(text, 'LEDGER_CHECKPOINT_INVALID', 'x'), 'LEDGER_CHECKPOINT_INVALID');
  }
});

test('parseDecimal accepts decimals without leading zeroes up to 2^53-1', () => {
  assert.equal(parseDecimal('0', 'LEDGER_CHECKPOINT_INVALID', 'x'), 0);
  assert.equal(parseDecimal('20852163', 'LEDGER_CHECKPOINT_INVALID', 'x'), 20852163);
  assert.equal(parseDecimal('9007199254740991', 'LEDGER_CHECKPOINT_INVALID', 'x'), Number.MAX_SAFE_INTEGER);
});

test('parseDecimal rejects leading zeroes, signs, spaces, exponents and values past 2^53-1', () => {
  for (const text of [
    '',
    '00',
    '01',
    '+1',
    '-1',
    ' 1',
    '1 ',
    '1e3',
    '0x10',
    '1.0',
    '9007199254740992',
    '18446744073709551615',
  ]) {
    rejects(() => parseDecimal(text, 'LEDGER_PROOF_FILE_INVALID', 'x'), 'LEDGER_PROOF_FILE_INVALID');
  }
});

test('isTreeCount accepts only whole numbers in [0, 2^53-1]', () => {
  assert.equal(isTreeCount(0), true);
  assert.equal(isTreeCount(Number.MAX_SAFE_INTEGER), true);
  for (const value of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity, '1', 1n, undefined]) {
    assert.equal(isTreeCount(value), false);
  }
});

test('hasControlCharacter finds characters below U+0020, newline only when disallowed', () => {
  assert.equal(hasControlCharacter('a\nb', true), false);
  assert.equal(hasControlCharacter('a\nb', false), true);
  assert.equal(hasControlCharacter('a\rb', true), true);
  assert.equal(hasControlCharacter('a\tb', true), true);
  assert.equal(hasControlCharacter('a\u0000b', true), true);
  assert.equal(hasControlCharacter('— é 😀', false), false);
});

test('isWellFormedText rejects lone surrogates, which have no UTF-8 form', () => {
  assert.equal(isWellFormedText('😀'), true);
  assert.equal(isWellFormedText('\ud83d'), false);
  assert.equal(isWellFormedText('a\ude00b'), false);
});
