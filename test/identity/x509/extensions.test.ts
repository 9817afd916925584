import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import {
  KeyUsageBit,
  basicConstraints,
  ipAddressOctets,
  keyUsage,
  subjectAltName,
} from '../../../src/identity/x509/extensions.ts';

describe('certificate extensions', () => {
  it('encodes keyUsage as a named BIT STRING without trailing zero bits (X.690 §11.2.2)', () => {
    assert.ok(keyUsage([KeyUsageBit.digitalSignature]).toString('hex').endsWith('040403020780'));
    assert.ok(keyUsage([KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign]).toString('hex').endsWith('03020106'));
    assert.ok(
      keyUsage([KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment])
        .toString('hex')
        .endsWith('030205a0'),
    );
  });

  it('marks basicConstraints critical and encodes an end entity as an empty SEQUENCE', () => {
    assert.equal(basicConstraints(false).toString('hex'), '300c0603551d130101ff04023000');
    assert.throws(
      () => basicConstraints(true, -1),
      (error) => isVigilError(error, 'X509_PROFILE_INVALID'),
    );
  });

  it('encodes IPv4 and IPv6 addresses as 4 and 16 octets (RFC 5280 §4.2.1.6)', () => {
    assert.equal(ipAddressOctets('192.0.2.10').toString('hex'), 'c000020a');
    assert.equal(ipAddressOctets('2001:db8::1').toString('hex'), '20010db8000000000000000000000001');
    assert.equal(ipAddressOctets('::ffff:192.0.2.1').toString('hex'), '00000000000000000000ffffc0000201');
    assert.equal(ipAddressOctets('::1').toString('hex'), '00000000000000000000000000000001');
  });

  it('refuses SAN entries that are not DNS names, IP addresses or absolute ASCII URIs', () => {
    for (const names of [
      { dnsNames: ['bad name'] },
      { ipAddresses: ['300.1.1.1'] },
      { uris: ['relative/path'] },
      {},
    ]) {
      assert.throws(
        () => subjectAltName(names),
        (error) => isVigilError(error) && error.code.startsWith('X509_'),
      );
    }
  });
});
