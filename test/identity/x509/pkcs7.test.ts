import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeCertsOnlyPkcs7, encodeCsrAttributes, oids } from '../../../src/identity/x509/index.ts';
import { createHierarchy, needOpenssl, openssl } from './fixtures.ts';

describe('encodeCertsOnlyPkcs7', () => {
  it('produces a certs-only SignedData that openssl pkcs7 -print_certs lists in order (RFC 7030 §4.1.3)', async (t) => {
    if (!needOpenssl(t)) return;
    const h = await createHierarchy();
    const p7 = encodeCertsOnlyPkcs7([h.issuing, h.root]);
    const printed = openssl(['pkcs7', '-inform', 'DER', '-print_certs'], { input: p7 });
    assert.equal(printed.status, 0, printed.output);
    const subjects = [...printed.stdout.matchAll(/^subject=(.*)$/gm)].map((match) => match[1]);
    assert.deepEqual(subjects, [
      'O = Vigil Test, CN = Vigil Test Issuing CA',
      'O = Vigil Test, CN = Vigil Test Root',
    ]);
    assert.equal((printed.stdout.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
  });

  it('encodes an empty certificate set that openssl still reads', (t) => {
    if (!needOpenssl(t)) return;
    const printed = openssl(['pkcs7', '-inform', 'DER', '-print_certs'], { input: encodeCertsOnlyPkcs7([]) });
    assert.equal(printed.status, 0, printed.output);
  });
});

describe('encodeCsrAttributes', () => {
  it('encodes CsrAttrs as a SEQUENCE of OIDs and attributes (RFC 7030 §4.5.2)', (t) => {
    const der = encodeCsrAttributes([
      oids.ecdsaWithSha256,
      { type: oids.ecPublicKey, values: [oids.secp256r1] },
      oids.extensionRequest,
    ]);
    // The RFC 7030 §4.5.2 example shape: ecdsaWithSHA256 OID, then an attribute naming the curve.
    assert.equal(der.subarray(0, 12).toString('hex'), '302c06082a8648ce3d040302');
    if (!needOpenssl(t)) return;
    const parsed = openssl(['asn1parse', '-inform', 'DER'], { input: der });
    assert.equal(parsed.status, 0, parsed.output);
    assert.match(parsed.stdout, /OBJECT\s+:ecdsa-with-SHA256/);
    assert.match(parsed.stdout, /OBJECT\s+:id-ecPublicKey[\s\S]*SET[\s\S]*OBJECT\s+:prime256v1/);
    assert.match(parsed.stdout, /OBJECT\s+:Extension Request/);
  });
});
