import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseHashAlgorithm } from '../../../src/vulns/sbom/hash-algorithms.ts';

describe('normaliseHashAlgorithm', () => {
  it('keeps the CycloneDX names', () => {
    for (const name of [
      'MD5',
      'SHA-1',
      'SHA-256',
      'SHA-384',
      'SHA-512',
      'SHA3-256',
      'SHA3-512',
      'BLAKE2b-256',
      'BLAKE3',
    ]) {
      assert.equal(normaliseHashAlgorithm(name), name);
    }
  });

  it('spells the SPDX 2.3 names (§7.10) as CycloneDX does', () => {
    assert.equal(normaliseHashAlgorithm('SHA1'), 'SHA-1');
    assert.equal(normaliseHashAlgorithm('SHA224'), 'SHA-224');
    assert.equal(normaliseHashAlgorithm('SHA256'), 'SHA-256');
    assert.equal(normaliseHashAlgorithm('SHA384'), 'SHA-384');
    assert.equal(normaliseHashAlgorithm('SHA512'), 'SHA-512');
    assert.equal(normaliseHashAlgorithm('ADLER32'), 'ADLER32');
    assert.equal(normaliseHashAlgorithm('MD6'), 'MD6');
  });

  it('knows no other names', () => {
    assert.equal(normaliseHashAlgorithm('sha256'), undefined);
    assert.equal(normaliseHashAlgorithm('SHA-0'), undefined);
  });
});
