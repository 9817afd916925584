import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import { DerReader, oid, sequence, setOf, utf8String } from '../../../src/identity/x509/der.ts';
import { encodeName, readCommonName } from '../../../src/identity/x509/names.ts';

describe('X.501 names', () => {
  it('encodes O then CN as UTF8String and reads the commonName back', () => {
    const name = encodeName({ commonName: 'Gerät 7', organization: 'Vigil' });
    const reader = new DerReader(name, 'TEST');
    assert.equal(readCommonName(reader, reader.root()), 'Gerät 7');
    assert.ok(name.includes(Buffer.from('0c0556696769 6c'.replace(/ /g, ''), 'hex')));
  });

  it('refuses a commonName longer than ub-common-name (64) or with control characters', () => {
    for (const commonName of ['x'.repeat(65), '', 'a\nb']) {
      assert.throws(
        () => encodeName({ commonName }),
        (error) => isVigilError(error, 'X509_SUBJECT_INVALID'),
      );
    }
  });

  it('refuses a name with two commonNames as ambiguous', () => {
    const cn = (value: string) => setOf([sequence(oid('2.5.4.3'), utf8String(value))]);
    const reader = new DerReader(sequence(cn('a'), cn('b')), 'TEST_MALFORMED');
    assert.throws(
      () => readCommonName(reader, reader.root()),
      (error) => isVigilError(error, 'TEST_MALFORMED'),
    );
  });
});
