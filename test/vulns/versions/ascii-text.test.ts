import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareDecimalStrings,
  endOfDigits,
  isPrintableAscii,
  stripLeadingZeros,
} from '../../../src/vulns/versions/ascii-text.ts';

test('compareDecimalStrings orders digit runs by value at any length', () => {
  assert.equal(compareDecimalStrings('9', '10'), -1);
  assert.equal(compareDecimalStrings('010', '10'), 0);
  assert.equal(compareDecimalStrings('0000', '0'), 0);
  assert.equal(compareDecimalStrings('999999999999999999999999999999', '999999999999999999999999999991'), 1);
  assert.equal(compareDecimalStrings('9007199254740993', '9007199254740992'), 1); // past 2^53
});

test('stripLeadingZeros keeps a lone zero', () => {
  assert.equal(stripLeadingZeros('000'), '0');
  assert.equal(stripLeadingZeros('0012'), '12');
});

test('endOfDigits and isPrintableAscii', () => {
  assert.equal(endOfDigits('12ab', 0), 2);
  assert.equal(endOfDigits('ab', 0), 0);
  assert.equal(isPrintableAscii('1.0~rc1'), true);
  assert.equal(isPrintableAscii('1.0 rc1'), false);
  assert.equal(isPrintableAscii('1.α'), false);
});
