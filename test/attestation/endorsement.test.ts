import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { EndorsementRoots } from '../../src/attestation/index.ts';
import { isVigilError } from '../../src/core/index.ts';
import { hasCommand, requirePeer } from '../support/peers.ts';

/**
 * TPM manufacturer CA chains made by openssl (root → intermediate → EK-style leaf), all before
 * anything runs: spawnSync is fine here, no server shares this process.
 */
class ChainFactory {
  readonly dir = mkdtempSync(join(tmpdir(), 'vigil-endorsement-'));
  private serial = 1;

  openssl(args: string[]): string {
    const result = spawnSync('openssl', args, { cwd: this.dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  /** A self-signed CA (P-256) valid from now for `days`. */
  root(name: string, subject: string, days: number): void {
    this.openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        '-days',
        String(days),
        '-subj',
        subject,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]),
    );
  }

  /** A certificate for `name`'s key (made here: P-256 for a CA, RSA 2048 for an EK) signed by `issuer`. */
  issue(name: string, subject: string, issuer: string, days: number, kind: 'ca' | 'ek'): void {
    this.openssl(
      kind === 'ca'
        ? ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]
        : ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${name}.key`],
    );
    this.openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
    writeFileSync(
      this.file(`${name}.ext`),
      kind === 'ca'
        ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
        : // TCG EK Credential Profile §3.2: not a CA, key encipherment, the EK certificate purpose.
          'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=2.23.133.8.1\n',
    );
    this.openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`].concat([
        '-set_serial',
        String(this.serial++),
        '-days',
        String(days),
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      ]),
    );
  }

  pem(name: string): string {
    return readFileSync(this.file(`${name}.pem`), 'utf8');
  }

  der(name: string): Buffer {
    return Buffer.from(new X509Certificate(this.pem(name)).raw);
  }

  publicKey(name: string): KeyObject {
    return createPublicKey(readFileSync(this.file(`${name}.key`)));
  }

  /** Writes a PEM bundle of the named certificates and returns its path. */
  bundle(file: string, names: string[]): string {
    writeFileSync(this.file(file), names.map((name) => this.pem(name)).join(''));
    return this.file(file);
  }
}

const day = 86_400_000;
const available = hasCommand('openssl');
const need = (t: TestContext) => requirePeer(t, 'openssl', available, 'apt-get install openssl');

function refusedWith(code: string, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(isVigilError(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('EndorsementRoots', () => {
  const made = new ChainFactory();
  let roots: EndorsementRoots;
  let now: Date;

  before(() => {
    if (!available) return;
    made.root('root', '/O=Test TPM Maker/CN=EK Root CA', 3650);
    made.issue('intermediate', '/O=Test TPM Maker/CN=EK Issuing CA', 'root', 3650, 'ca');
    made.issue('ek', '/CN=unknown', 'intermediate', 3650, 'ek');
    made.issue('other-ek', '/CN=unknown', 'intermediate', 3650, 'ek');
    made.issue('short-ek', '/CN=unknown', 'intermediate', 1, 'ek');
    made.issue('direct-ek', '/CN=unknown', 'root', 3650, 'ek');
    // An intermediate that lapses long before the EK certificate it issued.
    made.issue('short-intermediate', '/O=Test TPM Maker/CN=EK Issuing CA 2', 'root', 1, 'ca');
    made.issue('under-short-ek', '/CN=unknown', 'short-intermediate', 3650, 'ek');
    // A root that lapses first.
    made.root('short-root', '/O=Short-lived TPM Maker/CN=EK Root CA', 1);
    made.issue('under-short-root-ek', '/CN=unknown', 'short-root', 3650, 'ek');
    // An impostor chain with the very same names, not in the bundle.
    made.root('impostor-root', '/O=Test TPM Maker/CN=EK Root CA', 3650);
    made.issue('impostor-intermediate', '/O=Test TPM Maker/CN=EK Issuing CA', 'impostor-root', 3650, 'ca');
    made.issue('impostor-ek', '/CN=unknown', 'impostor-intermediate', 3650, 'ek');
    roots = EndorsementRoots.fromPemFile(
      made.bundle('roots.pem', ['intermediate', 'root', 'short-intermediate', 'short-root']),
    );
    now = new Date();
  });
  after(() => rmSync(made.dir, { recursive: true, force: true }));

  it('accepts an EK certificate for exactly the EK, through an intermediate or straight from a root', (t) => {
    if (!need(t)) return;
    roots.verify(made.der('ek'), made.publicKey('ek'), now);
    roots.verify(made.der('direct-ek'), made.publicKey('direct-ek'), now);
    roots.verify(made.der('under-short-root-ek'), made.publicKey('under-short-root-ek'), now);
    // The order of the bundle does not matter.
    const reversed = EndorsementRoots.fromPemFile(made.bundle('reversed.pem', ['root', 'intermediate']));
    reversed.verify(made.der('ek'), made.publicKey('ek'), now);
  });

  it('refuses a genuine EK certificate presented with another key (another TPM)', (t) => {
    if (!need(t)) return;
    assert.throws(
      () => roots.verify(made.der('other-ek'), made.publicKey('ek'), now),
      refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID', /another key/),
    );
  });

  it('refuses an expired EK certificate, and one not yet valid', (t) => {
    if (!need(t)) return;
    roots.verify(made.der('short-ek'), made.publicKey('short-ek'), now);
    assert.throws(
      () => roots.verify(made.der('short-ek'), made.publicKey('short-ek'), new Date(now.getTime() + 2 * day)),
      refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID', /not valid/),
    );
    assert.throws(
      () => roots.verify(made.der('ek'), made.publicKey('ek'), new Date(now.getTime() - 2 * day)),
      refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID', /not valid/),
    );
  });

  it('refuses an EK certificate whose intermediate, or whose root, has expired', (t) => {
    if (!need(t)) return;
    const later = new Date(now.getTime() + 2 * day);
    // The leaves themselves are still valid then.
    roots.verify(made.der('ek'), made.publicKey('ek'), later);
    assert.throws(
      () => roots.verify(made.der('under-short-ek'), made.publicKey('under-short-ek'), later),
      refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID', /EK Issuing CA 2 is not valid/),
    );
    assert.throws(
      () => roots.verify(made.der('under-short-root-ek'), made.publicKey('under-short-root-ek'), later),
      refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID', /Short-lived TPM Maker.*is not valid/s),
    );
  });

  it('refuses a chain to a root the bundle does not hold, even one with the same names', (t) => {
    if (!need(t)) return;
    assert.throws(
      () => roots.verify(made.der('impostor-ek'), made.publicKey('impostor-ek'), now),
      refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID', /does not chain to a trusted TPM manufacturer CA/),
    );
    // And an installation trusting only the impostor does not take the genuine maker's certificates.
    const other = EndorsementRoots.fromPemFile(made.bundle('impostor.pem', ['impostor-root']));
    assert.throws(
      () => other.verify(made.der('ek'), made.publicKey('ek'), now),
      refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID', /does not chain/),
    );
  });

  it('refuses bytes that are not a DER certificate', (t) => {
    if (!need(t)) return;
    for (const blob of [
      Buffer.alloc(0),
      Buffer.from('not a certificate'),
      made.der('ek').subarray(0, 200),
      Buffer.alloc(1016, 0xff),
    ])
      assert.throws(
        () => roots.verify(blob, made.publicKey('ek'), now),
        refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID', /not a DER X\.509 certificate/),
      );
  });

  it('refuses, typed, an EK certificate whose key OpenSSL cannot load (an id-RSAES-OAEP SubjectPublicKeyInfo)', (t) => {
    if (!need(t)) return;
    const der = made.der('ek');
    // rsaEncryption → id-RSAES-OAEP (1.2.840.113549.1.1.7) in the SubjectPublicKeyInfo; same length.
    const rsaEncryption = Buffer.from('06092a864886f70d010101', 'hex');
    const at = der.indexOf(rsaEncryption);
    assert.ok(at > 0);
    const oaep = Buffer.from(der);
    oaep[at + rsaEncryption.length - 1] = 0x07;
    assert.throws(
      () => roots.verify(oaep, made.publicKey('ek'), now),
      refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID', /./),
    );
  });

  it('refuses, as CONFIG_INVALID, a bundle whose certificate block is not a certificate', (t) => {
    if (!need(t)) return;
    const broken = made.file('broken.pem');
    writeFileSync(
      broken,
      `${made.pem('root')}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`,
    );
    assert.throws(
      () => EndorsementRoots.fromPemFile(broken),
      (error: unknown) => isVigilError(error, 'CONFIG_INVALID'),
    );
  });

  it('refuses, as CONFIG_INVALID, a bundle file with no certificate or no file at all', (t) => {
    if (!need(t)) return;
    const empty = made.file('empty.pem');
    writeFileSync(empty, '# TPM manufacturer CAs go here\n');
    const keyOnly = made.file('root.key');
    for (const path of [empty, keyOnly, made.file('missing.pem')])
      assert.throws(
        () => EndorsementRoots.fromPemFile(path),
        (error: unknown) => isVigilError(error, 'CONFIG_INVALID') && /VIGIL_TPM_EK_ROOTS/.test(error.message),
        path,
      );
  });
});
