import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  buildCertificationRequest,
  certificatesOfCertsOnly,
  generateP256Key,
} from '../../src/agent/certificates.ts';
import { childrenOf, oid, readElement, readOid, readRoot, tlv, x509Time } from '../../src/agent/der.ts';
import { createDeviceId } from '../../src/agent/software-dice.ts';
import { isVigilError } from '../../src/core/index.ts';
import { parseCsr } from '../../src/identity/x509/csr.ts';
import { encodeCertsOnlyPkcs7 } from '../../src/identity/x509/pkcs7.ts';

describe('PKCS#10 requests the agent makes (RFC 2986)', () => {
  it("are what Vigil's EST parser accepts: CN the serial, P-256, a valid signature", () => {
    const { privateKey, publicKey } = generateP256Key();
    const parsed = parseCsr(buildCertificationRequest('SN-0001', privateKey, publicKey));
    assert.equal(parsed.subject.commonName, 'SN-0001');
    assert.equal(parsed.signatureValid, true);
    assert.equal(parsed.signatureHash, 'sha256');
    assert.deepEqual(parsed.key, { type: 'ec', curve: 'P-256' });
    assert.deepEqual(parsed.publicKey, publicKey.export({ format: 'der', type: 'spki' }));
  });
});

describe('certs-only PKCS#7 (RFC 7030 §4.1.3, RFC 5652 §5)', () => {
  it("reads back the certificates Vigil's EST server encodes, in order", () => {
    const certificates = [createDeviceId('one').certificate, createDeviceId('two').certificate];
    const read = certificatesOfCertsOnly(encodeCertsOnlyPkcs7(certificates));
    assert.deepEqual(read, certificates);
    assert.equal(new X509Certificate(read[1]!).subject, 'CN=two');
  });

  it('refuses anything else with AGENT_ENROLLMENT_FAILED', () => {
    const certificate = createDeviceId('one').certificate;
    for (const bad of [
      Buffer.alloc(0),
      certificate,
      tlv(0x30, oid('1.2.840.113549.1.7.1')),
      Buffer.concat([encodeCertsOnlyPkcs7([certificate]), Buffer.from([0])]),
    ])
      assert.throws(
        () => certificatesOfCertsOnly(bad),
        (error: unknown) => isVigilError(error, 'AGENT_ENROLLMENT_FAILED'),
      );
  });
});

describe("the agent's DER reader", () => {
  it('refuses BER-only forms: indefinite and non-minimal lengths', () => {
    const code = 'TEST_DER';
    for (const bad of [
      Buffer.from([0x30, 0x80, 0x00, 0x00]),
      Buffer.from([0x04, 0x81, 0x01, 0x00]),
      Buffer.from([0x04, 0x82, 0x00, 0x81, ...Buffer.alloc(0x81)]),
      Buffer.from([0x04, 0x05, 0x00]),
      Buffer.from([0x1f, 0x01, 0x00]),
    ])
      assert.throws(
        () => readElement(bad, 0, bad.length, code),
        (error: unknown) => isVigilError(error, code),
      );
  });

  it('round-trips OIDs and walks nested elements', () => {
    for (const dotted of ['2.23.133.5.4.1', '1.2.840.10045.4.3.2', '2.5.29.19', '2.999.3'])
      assert.equal(readOid(oid(dotted), readRoot(oid(dotted), 'X'), 'X'), dotted);
    const nested = tlv(0x30, oid('2.5.4.3'), tlv(0x0c, Buffer.from('x')));
    assert.deepEqual(
      childrenOf(nested, readRoot(nested, 'X'), 'X').map((element) => element.tag),
      [0x06, 0x0c],
    );
  });

  it('writes UTCTime until 2049 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', () => {
    assert.equal(x509Time(new Date('2049-12-31T23:59:59.900Z')).toString('latin1', 2), '491231235959Z');
    assert.equal(x509Time(new Date('2049-12-31T23:59:59Z'))[0], 0x17);
    assert.equal(x509Time(new Date('2050-01-01T00:00:00Z')).toString('latin1', 2), '20500101000000Z');
    assert.equal(x509Time(new Date('2050-01-01T00:00:00Z'))[0], 0x18);
  });
});
