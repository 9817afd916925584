// Shared fixtures for the DICE tests: a tiny DiceTcbInfo DER encoder and DICE chains made by real
// openssl in a temporary directory (removed before the builder returns; only bytes are kept).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { hasCommand, requirePeer } from '../../support/peers.ts';

export const day = 24 * 3_600_000;
export const sha256Oid = '2.16.840.1.101.3.4.2.1';
export const sha384Oid = '2.16.840.1.101.3.4.2.2';

const opensslAvailable = hasCommand('openssl');

export function needOpenssl(t: TestContext): boolean {
  return requirePeer(t, 'openssl', opensslAvailable, 'apt-get install -y openssl');
}

// --- DER encoding of DiceTcbInfo (TCG DICE Attestation Architecture §6.1.1) ---

export function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: number[];
  if (length < 0x80) header = [length];
  else if (length < 0x100) header = [0x81, length];
  else header = [0x82, length >> 8, length & 0xff];
  return Buffer.concat([Buffer.from([tag, ...header]), content]);
}

export function encodeOid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const out: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const groups = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      groups.unshift((value & 0x7f) | 0x80);
    }
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

function unsignedContent(value: number): Buffer {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  if (bytes.length === 0 || (bytes[0] as number) & 0x80) bytes.unshift(0);
  return Buffer.from(bytes);
}

function namedBitsContent(setBits: number[]): Buffer {
  if (setBits.length === 0) return Buffer.from([0]);
  const highest = Math.max(...setBits);
  const bytes = Buffer.alloc((highest >> 3) + 1);
  for (const bit of setBits) bytes[bit >> 3] = (bytes[bit >> 3] as number) | (0x80 >> (bit & 7));
  return Buffer.concat([Buffer.from([7 - (highest & 7)]), bytes]);
}

export interface TcbInfoFields {
  vendor?: string;
  model?: string;
  version?: string;
  svn?: number;
  layer?: number;
  index?: number;
  fwids?: { hashAlgorithm: string; digest: Buffer }[];
  /** Numbers of the set OperationalFlags bits. */
  flags?: number[];
  vendorInfo?: Buffer;
  type?: Buffer;
}

export function encodeDiceTcbInfo(fields: TcbInfoFields): Buffer {
  const parts: Buffer[] = [];
  const text = (number: number, value: string | undefined): void => {
    if (value !== undefined) parts.push(tlv(0x80 | number, Buffer.from(value, 'utf8')));
  };
  const integer = (number: number, value: number | undefined): void => {
    if (value !== undefined) parts.push(tlv(0x80 | number, unsignedContent(value)));
  };
  text(0, fields.vendor);
  text(1, fields.model);
  text(2, fields.version);
  integer(3, fields.svn);
  integer(4, fields.layer);
  integer(5, fields.index);
  if (fields.fwids !== undefined) {
    const list = fields.fwids.map((fwid) =>
      tlv(0x30, Buffer.concat([encodeOid(fwid.hashAlgorithm), tlv(0x04, fwid.digest)])),
    );
    parts.push(tlv(0xa6, Buffer.concat(list)));
  }
  if (fields.flags !== undefined) parts.push(tlv(0x87, namedBitsContent(fields.flags)));
  if (fields.vendorInfo !== undefined) parts.push(tlv(0x88, fields.vendorInfo));
  if (fields.type !== undefined) parts.push(tlv(0x89, fields.type));
  return tlv(0x30, Buffer.concat(parts));
}

export const aliasTcbInfo: TcbInfoFields = {
  vendor: 'Vigil Medical',
  model: 'Infusion Pump IP-7',
  version: '4.2.1',
  svn: 7,
  layer: 1,
  fwids: [{ hashAlgorithm: sha256Oid, digest: Buffer.alloc(32, 0xa1) }],
  flags: [3],
};

export const firmwareTcbInfo: TcbInfoFields = {
  vendor: 'Vigil Medical',
  model: 'IP-7 bootloader',
  svn: 300,
  layer: 0,
  fwids: [
    { hashAlgorithm: sha256Oid, digest: Buffer.alloc(32, 0xb0) },
    { hashAlgorithm: sha384Oid, digest: Buffer.alloc(48, 0xb1) },
  ],
  flags: [],
};

// --- openssl-made DICE chains ---

export function openssl(args: string[], cwd: string, input?: Buffer): Buffer {
  const result = spawnSync('openssl', args, { cwd, input });
  assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${String(result.stderr)}`);
  return result.stdout;
}

const opensslConfig = `[req]
distinguished_name = dn
[dn]
[device_id]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign
subjectKeyIdentifier = hash
`;

export interface CertificateSpec {
  name: string;
  subject: string;
  /** The `name` of an issuer made earlier in the same builder; absent for a self-signed DeviceID. */
  issuer?: string;
  days: number;
  ca: boolean;
  /** The DER of the DiceTcbInfo extension value; absent for none. */
  tcbInfo?: Buffer;
}

export interface DiceCertificate {
  der: Buffer;
  keyPem: string;
}

/**
 * Makes P-256 keys and certificates with openssl, in order: DeviceIDs self-signed with
 * `req -x509`, layers issued with `x509 -req`, the DiceTcbInfo added as `2.23.133.5.4.1=DER:<hex>`.
 */
export function buildCertificates(specs: CertificateSpec[]): Map<string, DiceCertificate> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-dice-'));
  try {
    writeFileSync(join(dir, 'openssl.cnf'), opensslConfig);
    const made = new Map<string, DiceCertificate>();
    for (const [serial, spec] of specs.entries()) {
      const key = `${spec.name}.key`;
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
      if (spec.issuer === undefined) {
        openssl(
          ['req', '-x509', '-new', '-key', key, '-subj', spec.subject, '-days', String(spec.days)].concat([
            '-config',
            'openssl.cnf',
            '-extensions',
            'device_id',
            '-out',
            `${spec.name}.pem`,
          ]),
          dir,
        );
      } else {
        const lines = [
          '[layer]',
          `basicConstraints = critical,CA:${spec.ca ? 'TRUE' : 'FALSE'}`,
          `keyUsage = critical,${spec.ca ? 'keyCertSign' : 'digitalSignature'}`,
          'subjectKeyIdentifier = hash',
          'authorityKeyIdentifier = keyid',
        ];
        if (spec.tcbInfo !== undefined)
          lines.push(`2.23.133.5.4.1 = critical,DER:${spec.tcbInfo.toString('hex')}`);
        writeFileSync(join(dir, `${spec.name}.ext`), `${lines.join('\n')}\n`);
        openssl(
          [
            'req',
            '-new',
            '-key',
            key,
            '-subj',
            spec.subject,
            '-config',
            'openssl.cnf',
            '-out',
            `${spec.name}.csr`,
          ],
          dir,
        );
        openssl(
          [
            'x509',
            '-req',
            '-in',
            `${spec.name}.csr`,
            '-CA',
            `${spec.issuer}.pem`,
            '-CAkey',
            `${spec.issuer}.key`,
          ]
            .concat(['-set_serial', String(serial + 1), '-days', String(spec.days), '-sha256'])
            .concat(['-extfile', `${spec.name}.ext`, '-extensions', 'layer', '-out', `${spec.name}.pem`]),
          dir,
        );
      }
      made.set(spec.name, {
        der: new X509Certificate(readFileSync(join(dir, `${spec.name}.pem`))).raw,
        keyPem: readFileSync(join(dir, key), 'utf8'),
      });
    }
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl dgst -sha256 -sign`: a DER ECDSA signature by the given key. */
export function opensslSign(keyPem: string, data: Buffer): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-dice-sign-'));
  try {
    writeFileSync(join(dir, 'key.pem'), keyPem);
    writeFileSync(join(dir, 'data.bin'), data);
    return openssl(['dgst', '-sha256', '-sign', 'key.pem', 'data.bin'], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function certificate(made: Map<string, DiceCertificate>, name: string): DiceCertificate {
  const found = made.get(name);
  assert.ok(found, `fixture ${name} was not built`);
  return found;
}

let standard: Map<string, DiceCertificate> | undefined;

/**
 * One set of chains shared by the tests, built once: a DeviceID, a firmware layer and an Alias
 * under it, an Alias directly under the DeviceID, a second DeviceID with the same name and an Alias
 * under it, an Alias with no DiceTcbInfo and one with a corrupted DiceTcbInfo.
 */
export function standardChains(): Map<string, DiceCertificate> {
  // model [1] before vendor [0]: out of order, which DER forbids.
  const corrupted = tlv(
    0x30,
    Buffer.concat([tlv(0x81, Buffer.from('model')), tlv(0x80, Buffer.from('vendor'))]),
  );
  standard ??= buildCertificates([
    { name: 'deviceId', subject: '/CN=DeviceID IP-7 0001', days: 3650, ca: true },
    {
      name: 'firmware',
      subject: '/CN=IP-7 firmware layer',
      issuer: 'deviceId',
      days: 30,
      ca: true,
      tcbInfo: encodeDiceTcbInfo(firmwareTcbInfo),
    },
    {
      name: 'aliasUnderFirmware',
      subject: '/CN=IP-7 alias',
      issuer: 'firmware',
      days: 1,
      ca: false,
      tcbInfo: encodeDiceTcbInfo(aliasTcbInfo),
    },
    {
      name: 'alias',
      subject: '/CN=IP-7 alias',
      issuer: 'deviceId',
      days: 1,
      ca: false,
      tcbInfo: encodeDiceTcbInfo(aliasTcbInfo),
    },
    { name: 'otherDeviceId', subject: '/CN=DeviceID IP-7 0001', days: 3650, ca: true },
    {
      name: 'aliasOfOther',
      subject: '/CN=IP-7 alias',
      issuer: 'otherDeviceId',
      days: 1,
      ca: false,
      tcbInfo: encodeDiceTcbInfo(aliasTcbInfo),
    },
    { name: 'aliasWithoutTcbInfo', subject: '/CN=IP-7 alias', issuer: 'deviceId', days: 1, ca: false },
    {
      name: 'aliasWithCorruptTcbInfo',
      subject: '/CN=IP-7 alias',
      issuer: 'deviceId',
      days: 1,
      ca: false,
      tcbInfo: corrupted,
    },
    {
      name: 'leafIssuer',
      subject: '/CN=IP-7 not a CA',
      issuer: 'deviceId',
      days: 30,
      ca: false,
      tcbInfo: encodeDiceTcbInfo(firmwareTcbInfo),
    },
    {
      name: 'aliasUnderLeaf',
      subject: '/CN=IP-7 alias',
      issuer: 'leafIssuer',
      days: 1,
      ca: false,
      tcbInfo: encodeDiceTcbInfo(aliasTcbInfo),
    },
  ]);
  return standard;
}
