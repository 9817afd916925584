import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import { buildCrl, revocationReasons, type CrlEntry } from '../../../src/identity/x509/index.ts';
import {
  assertNoFractionalSeconds,
  createHierarchy,
  day,
  needOpenssl,
  openssl,
  scratch,
  writePem,
} from './fixtures.ts';

describe('buildCrl', () => {
  it('builds a v2 CRL that openssl verifies and lists with serials, dates and reasons (RFC 5280 §5)', async (t) => {
    if (!needOpenssl(t)) return;
    const s = scratch(t);
    const h = await createHierarchy();
    writePem(s, 'root.pem', h.root);
    writePem(s, 'issuing.pem', h.issuing);
    const thisUpdate = new Date(Date.now() - 500);
    const entries: CrlEntry[] = [
      {
        serial: Buffer.from('0a0b', 'hex'),
        revokedAt: new Date('2030-02-03T04:05:06.789Z'),
        reason: 'keyCompromise',
      },
      {
        serial: Buffer.from('ff01', 'hex'),
        revokedAt: new Date('2051-01-01T00:00:00Z'),
        reason: 'superseded',
      },
      {
        serial: Buffer.from('0c', 'hex'),
        revokedAt: new Date('2030-01-01T00:00:00Z'),
        reason: 'unspecified',
      },
      {
        serial: Buffer.from('0d', 'hex'),
        revokedAt: new Date('2030-01-01T00:00:00Z'),
        reason: 'cessationOfOperation',
      },
    ];
    const crl = await buildCrl({
      issuerCertificate: h.issuing,
      signer: h.issuingKey.signer,
      crlNumber: 42n,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + day),
      entries,
    });
    s.write('issuing.crl', crl);
    const checked = openssl(
      ['crl', '-inform', 'DER', '-in', 'issuing.crl', '-CAfile', 'issuing.pem', '-noout', '-text'],
      { cwd: s.dir },
    );
    assert.equal(checked.status, 0, checked.output);
    assert.match(checked.output, /verify OK/);
    assert.match(checked.stdout, /Version 2/);
    assert.match(checked.stdout, /X509v3 CRL Number:\s+42/);
    assert.match(checked.stdout, /X509v3 Authority Key Identifier/);
    assert.match(
      checked.stdout,
      /Serial Number: 0A0B\s+Revocation Date: Feb {2}3 04:05:06 2030 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Key Compromise/,
    );
    assert.match(
      checked.stdout,
      /Serial Number: FF01\s+Revocation Date: Jan {2}1 00:00:00 2051 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Superseded/,
    );
    // RFC 5280 §5.3.1: reasonCode 'unspecified' SHOULD be absent.
    assert.match(
      checked.stdout,
      /Serial Number: 0C\s+Revocation Date: Jan {2}1 00:00:00 2030 GMT\s+Serial Number: 0D/,
    );
    assert.match(checked.stdout, /Cessation Of Operation/);
    assertNoFractionalSeconds(crl);
  });

  it('makes openssl verify -crl_check reject a revoked leaf and accept a good one', async (t) => {
    if (!needOpenssl(t)) return;
    const s = scratch(t);
    const h = await createHierarchy();
    const issue = (serial: string) =>
      h.template.issue({
        serial: Buffer.from(serial, 'hex'),
        commonName: `SN-${serial}`,
        publicKey: h.ocspKey.publicKey,
        sanUri: 'urn:vigil:device:x',
        notBefore: h.notBefore,
        notAfter: new Date(h.notBefore.getTime() + day),
      });
    writePem(s, 'revoked.pem', await issue('77'));
    writePem(s, 'good.pem', await issue('78'));
    const crl = await buildCrl({
      issuerCertificate: h.issuing,
      signer: h.issuingKey.signer,
      crlNumber: 1,
      thisUpdate: h.notBefore,
      nextUpdate: new Date(h.notBefore.getTime() + day),
      entries: [{ serial: Buffer.from('77', 'hex'), revokedAt: h.notBefore, reason: 'keyCompromise' }],
    });
    s.write(
      'chain.pem',
      `${openssl(['x509', '-inform', 'DER'], { input: h.root }).stdout}${openssl(['x509', '-inform', 'DER'], { input: h.issuing }).stdout}`,
    );
    s.write('crl.pem', openssl(['crl', '-inform', 'DER'], { input: crl }).stdout);
    const verify = (file: string) =>
      openssl(['verify', '-crl_check', '-CAfile', 'chain.pem', '-CRLfile', 'crl.pem', file], { cwd: s.dir });
    assert.match(verify('revoked.pem').output, /certificate revoked/);
    assert.equal(verify('good.pem').status, 0, verify('good.pem').output);
  });

  it('omits revokedCertificates when nothing is revoked (RFC 5280 §5.1.2.6)', async (t) => {
    if (!needOpenssl(t)) return;
    const s = scratch(t);
    const h = await createHierarchy();
    writePem(s, 'issuing.pem', h.issuing);
    const crl = await buildCrl({
      issuerCertificate: h.issuing,
      signer: h.issuingKey.signer,
      crlNumber: 0,
      thisUpdate: h.notBefore,
      nextUpdate: new Date(h.notBefore.getTime() + day),
      entries: [],
    });
    s.write('empty.crl', crl);
    const checked = openssl(
      ['crl', '-inform', 'DER', '-in', 'empty.crl', '-CAfile', 'issuing.pem', '-noout', '-text'],
      { cwd: s.dir },
    );
    assert.match(checked.output, /verify OK/);
    assert.match(checked.stdout, /No Revoked Certificates/);
  });

  it('refuses removeFromCRL in a full CRL, duplicate serials, bad CRL numbers and a signer that does not fit', async () => {
    const h = await createHierarchy();
    const base = {
      issuerCertificate: h.issuing,
      signer: h.issuingKey.signer,
      crlNumber: 1,
      thisUpdate: h.notBefore,
      nextUpdate: new Date(h.notBefore.getTime() + day),
      entries: [] as CrlEntry[],
    };
    const entry = { serial: Buffer.from([5]), revokedAt: h.notBefore, reason: 'keyCompromise' as const };
    const cases: [Partial<typeof base>, string][] = [
      [{ entries: [{ ...entry, reason: 'removeFromCRL' }] }, 'X509_CRL_INVALID'],
      [{ entries: [entry, { ...entry, serial: Buffer.from([0, 5]) }] }, 'X509_CRL_INVALID'],
      [{ crlNumber: -1 }, 'X509_CRL_INVALID'],
      [{ nextUpdate: h.notBefore }, 'X509_CRL_INVALID'],
      [{ signer: h.rootKey.signer }, 'X509_SIGNER_MISMATCH'],
    ];
    for (const [change, code] of cases) {
      await assert.rejects(buildCrl({ ...base, ...change }), (error) => isVigilError(error, code), code);
    }
    assert.equal(revocationReasons.length, 10);
  });
});
