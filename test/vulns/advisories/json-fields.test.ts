import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mapArray,
  optionalString,
  pointer,
  requiredString,
} from '../../../src/vulns/advisories/json-fields.ts';
import { assertVigilError } from './fixtures.ts';

test('JSON Pointers escape "~" and "/" (RFC 6901 §3)', () => {
  assert.equal(pointer('/a', 'b/c~d'), '/a/b~1c~0d');
  assert.equal(pointer('', 0), '/0');
});

test('a value of the wrong type is refused with its pointer', () => {
  const error = assertVigilError(() => requiredString({ id: 1 }, 'id', '/x'), 'VULNS_ADVISORY_INVALID');
  assert.equal(error.facts?.path, '/x/id');
  assertVigilError(() => optionalString({ id: 'abc' }, 'id', '', { maxLength: 2 }), 'VULNS_ADVISORY_INVALID');
  assertVigilError(() => mapArray({ list: 'x' }, 'list', '', (item) => item), 'VULNS_ADVISORY_INVALID');
});

test('inherited properties are never read as fields', () => {
  assert.equal(optionalString({}, 'toString', ''), undefined);
  assert.equal(optionalString(JSON.parse('{"__proto__": "x"}'), '__proto__', ''), 'x');
});
