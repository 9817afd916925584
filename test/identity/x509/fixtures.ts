// Shared fixtures for the X.509 tests: keys, a small CA hierarchy, and an openssl runner.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { KeyAlgorithm } from '../../../src/identity/keystore/index.ts';
import {
  LeafCertificateTemplate,
  certificateToPem,
  createCaCertificate,
  x509SignerFromKeyObject,
  type X509Signer,
} from '../../../src/identity/x509/index.ts';
import { hasCommand, requirePeer } from '../../support/peers.ts';

export const opensslAvailable = hasCommand('openssl');

/** True when openssl may be used; skips (or fails under VIGIL_REQUIRE_PEERS=1) otherwise. */
export function needOpenssl(t: TestContext): boolean {
  return requirePeer(t, 'openssl', opensslAvailable, 'apt-get install -y openssl');
}

export interface TestKey {
  privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER. */
  publicKey: Buffer;
  signer: X509Signer;
}

export function generateTestKey(algorithm: KeyAlgorithm): TestKey {
  const { privateKey, publicKey } =
    algorithm === 'rsa-3072'
      ? generateKeyPairSync('rsa', { modulusLength: 3072 })
      : generateKeyPairSync('ec', { namedCurve: algorithm === 'ecdsa-p256' ? 'prime256v1' : 'secp384r1' });
  return {
    privateKey,
    publicKey: publicKey.export({ format: 'der', type: 'spki' }),
    signer: x509SignerFromKeyObject(privateKey),
  };
}

export const hour = 3_600_000;
export const day = 24 * hour;

export interface Hierarchy {
  rootKey: TestKey;
  root: Buffer;
  issuingKey: TestKey;
  issuing: Buffer;
  ocspKey: TestKey;
  ocsp: Buffer;
  template: LeafCertificateTemplate;
  notBefore: Date;
}

let serialCounter = 0x1000;
export function nextSerial(): Buffer {
  serialCounter += 1;
  return Buffer.from(serialCounter.toString(16).padStart(8, '0'), 'hex');
}

/** Root (P-384 by default) → issuing CA → delegated OCSP signer, plus a leaf template. */
export async function createHierarchy(
  options: { rootAlgorithm?: KeyAlgorithm; issuingAlgorithm?: KeyAlgorithm } = {},
): Promise<Hierarchy> {
  const notBefore = new Date(Date.now() - hour);
  const rootKey = generateTestKey(options.rootAlgorithm ?? 'ecdsa-p384');
  const root = await createCaCertificate({
    kind: 'root',
    subject: { commonName: 'Vigil Test Root', organization: 'Vigil Test' },
    publicKey: rootKey.publicKey,
    serial: nextSerial(),
    notBefore,
    notAfter: new Date(notBefore.getTime() + 3650 * day),
    signer: rootKey.signer,
    pathLength: 1,
  });
  const issuingKey = generateTestKey(options.issuingAlgorithm ?? 'ecdsa-p256');
  const issuing = await createCaCertificate({
    kind: 'issuing',
    subject: { commonName: 'Vigil Test Issuing CA', organization: 'Vigil Test' },
    publicKey: issuingKey.publicKey,
    serial: nextSerial(),
    notBefore,
    notAfter: new Date(notBefore.getTime() + 1825 * day),
    issuer: { certificate: root },
    signer: rootKey.signer,
    pathLength: 0,
  });
  const ocspKey = generateTestKey('ecdsa-p256');
  const ocsp = await createCaCertificate({
    kind: 'ocsp',
    subject: { commonName: 'Vigil Test OCSP Responder' },
    publicKey: ocspKey.publicKey,
    serial: nextSerial(),
    notBefore,
    notAfter: new Date(notBefore.getTime() + 30 * day),
    issuer: { certificate: issuing },
    signer: issuingKey.signer,
  });
  const template = new LeafCertificateTemplate({
    issuerCertificate: issuing,
    signer: issuingKey.signer,
    crlUrl: 'http://127.0.0.1:8080/crl/test.crl',
    ocspUrl: 'http://127.0.0.1:8080/ocsp',
  });
  return { rootKey, root, issuingKey, issuing, ocspKey, ocsp, template, notBefore };
}

export interface Scratch {
  dir: string;
  /** Writes a file in the scratch folder and returns its path. */
  write(name: string, content: Buffer | string): string;
  path(name: string): string;
}

export function scratch(t: TestContext): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-x509-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    path: (name) => join(dir, name),
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
  };
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
  output: string;
  stdoutBytes: Buffer;
}

export function openssl(
  args: string[],
  options: { cwd?: string; input?: Buffer | string } = {},
): CommandResult {
  const result = spawnSync('openssl', args, {
    cwd: options.cwd,
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stdout = result.stdout?.toString('latin1') ?? '';
  const stderr = result.stderr?.toString('latin1') ?? '';
  return {
    status: result.status,
    stdout,
    stderr,
    output: stdout + stderr,
    stdoutBytes: result.stdout ?? Buffer.alloc(0),
  };
}

export function writePem(s: Scratch, name: string, der: Buffer): string {
  return s.write(name, certificateToPem(der));
}

/** Matches any time field written with fractional seconds (RFC 5280 §4.1.2.5 forbids them). */
export function assertNoFractionalSeconds(der: Buffer): void {
  // UTCTime (0x17) and GeneralizedTime (0x18) are always short here; scan every candidate TLV.
  for (let i = 0; i + 2 < der.length; i++) {
    const tag = der[i];
    const length = der[i + 1] ?? 0;
    if ((tag === 0x17 || tag === 0x18) && length >= 13 && length <= 24 && i + 2 + length <= der.length) {
      const text = der.subarray(i + 2, i + 2 + length).toString('latin1');
      if (/^\d{12,14}Z$/.test(text)) continue;
      if (/^\d{14}\.\d+Z$/.test(text)) throw new Error(`fractional seconds in time field: ${text}`);
    }
  }
}
