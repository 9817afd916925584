/**
 * A software DICE device, for simulation (TCG DICE Attestation Architecture v1.00; TCG DICE
 * Layering Architecture). It holds its DeviceID key and certificate (registered at the factory)
 * and, acting as the layer that boots the firmware, derives for the installed firmware an Alias key
 * and an Alias certificate whose DiceTcbInfo (§6.1.1, OID 2.23.133.5.4.1) names the firmware's
 * measurement (FWID). Hardware DICE keeps the secrets in the silicon; here they are files, which
 * is what a simulator needs. No openssl: the DER is made here.
 */
import {
  X509Certificate,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCertificate, commonNameOnly, extensions, generateP256Key, isP256 } from './certificates.ts';
import {
  Tag,
  childrenOf,
  contextTag,
  fromPem,
  numberContent,
  oid,
  readRoot,
  sequence,
  tlv,
  toPem,
} from './der.ts';
import { agentError } from './errors.ts';

export const diceTcbInfoOid = '2.23.133.5.4.1';
export const sha256Oid = '2.16.840.1.101.3.4.2.1';

/** A FWID: a hash algorithm (dotted OID) and the digest of the measured code. */
export interface Fwid {
  hashAlgorithm: string;
  digest: Buffer;
}

/** DiceTcbInfo (§6.1.1); every field optional, as in the specification. */
export interface TcbInfo {
  vendor?: string | undefined;
  model?: string | undefined;
  version?: string | undefined;
  svn?: number | undefined;
  layer?: number | undefined;
  index?: number | undefined;
  fwids?: Fwid[] | undefined;
  /** The numbers of the set OperationalFlags bits (0 notConfigured, 1 notSecure, 2 recovery, 3 debug). */
  flags?: number[] | undefined;
  vendorInfo?: Buffer | undefined;
  type?: Buffer | undefined;
}

/**
 * DER of DiceTcbInfo (§6.1.1):
 *   DiceTcbInfo ::= SEQUENCE { vendor [0] IMPLICIT UTF8String OPTIONAL, model [1], version [2],
 *     svn [3] IMPLICIT INTEGER, layer [4], index [5], fwids [6] IMPLICIT FWIDLIST,
 *     flags [7] IMPLICIT OperationalFlags, vendorInfo [8] IMPLICIT OCTET STRING, type [9] ... }
 *   FWID ::= SEQUENCE { hashAlg OBJECT IDENTIFIER, digest OCTET STRING }
 * Fields in tag order, each at most once (X.690 §10: DER encodes a SEQUENCE in definition order).
 */
export function encodeDiceTcbInfo(info: TcbInfo): Buffer {
  const fields: Buffer[] = [];
  const text = (number: number, value: string | undefined) => {
    if (value !== undefined) fields.push(tlv(contextTag(number, false), Buffer.from(value, 'utf8')));
  };
  const whole = (number: number, value: number | undefined) => {
    if (value !== undefined) fields.push(tlv(contextTag(number, false), numberContent(value)));
  };
  text(0, info.vendor);
  text(1, info.model);
  text(2, info.version);
  whole(3, info.svn);
  whole(4, info.layer);
  whole(5, info.index);
  if (info.fwids !== undefined) {
    fields.push(
      tlv(
        contextTag(6, true),
        ...info.fwids.map((fwid) => sequence(oid(fwid.hashAlgorithm), tlv(Tag.octetString, fwid.digest))),
      ),
    );
  }
  if (info.flags !== undefined) fields.push(tlv(contextTag(7, false), namedBits(info.flags)));
  if (info.vendorInfo !== undefined) fields.push(tlv(contextTag(8, false), info.vendorInfo));
  if (info.type !== undefined) fields.push(tlv(contextTag(9, false), info.type));
  return sequence(...fields);
}

/** A named-bit BIT STRING's content: trailing zero bits dropped (X.690 §11.2.2); no bit set is empty. */
function namedBits(setBits: number[]): Buffer {
  if (setBits.some((bit) => !Number.isInteger(bit) || bit < 0 || bit > 31))
    throw new RangeError('OperationalFlags bits are 0 to 31');
  if (setBits.length === 0) return Buffer.from([0]);
  const highest = Math.max(...setBits);
  const bytes = Buffer.alloc((highest >> 3) + 1);
  for (const bit of setBits) bytes[bit >> 3] = bytes[bit >> 3]! | (0x80 >> (bit & 7));
  return Buffer.concat([Buffer.from([7 - (highest & 7)]), bytes]);
}

/** "No well-defined expiration date" (RFC 5280 §4.1.2.5): a device identity outlives any clock it has. */
export const noExpiry = new Date('9999-12-31T23:59:59Z');

/** Minutes of clock skew between a device and its verifier that a fresh certificate tolerates. */
const skewMs = 5 * 60_000;

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** A positive serial of 16 octets from `seed` (RFC 5280 §4.1.2.2). */
function serialFrom(seed: Buffer): Buffer {
  const serial = createHash('sha256').update(seed).digest().subarray(0, 16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

export interface DeviceIdMaterial {
  /** DER of the self-signed DeviceID certificate (a CA: it issues the Alias certificate). */
  certificate: Buffer;
  privateKey: KeyObject;
}

/**
 * A new DeviceID: a P-256 key and a self-signed CA certificate for it, as a factory makes for a
 * device it then registers with Vigil (`POST /api/v1/devices/{id}/attestation-keys`).
 */
export function createDeviceId(commonName: string, now: Date = new Date()): DeviceIdMaterial {
  const { privateKey, publicKey } = generateP256Key();
  const name = commonNameOnly(commonName);
  const certificate = buildCertificate(
    {
      serial: serialFrom(randomBytes(32)),
      issuer: name,
      subject: name,
      notBefore: wholeSeconds(new Date(now.getTime() - skewMs)),
      notAfter: noExpiry,
      publicKey,
      extensions: [
        extensions.basicConstraints(true),
        extensions.keyUsage('keyCertSign'),
        extensions.subjectKeyIdentifier(publicKey),
      ],
    },
    privateKey,
  );
  return { certificate, privateKey };
}

/** The order n of the P-256 group (SEC 2 §2.4.2). */
const p256Order = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/**
 * The Alias key of the layer the DeviceID's holder launches, derived from its own secret and the
 * launched code's measurement, as DICE derives the next Compound Device Identifier from the current
 * one and the next layer's measurement (DICE Layering Architecture §6): the same firmware always
 * gets the same Alias key, other firmware another one. The scalar comes from HKDF-SHA256 (RFC
 * 5869) with 64 extra bits, reduced as FIPS 186-5 §A.2.1 does: d = (c mod (n − 1)) + 1.
 */
export function deriveAliasKey(deviceIdKey: KeyObject, fwid: Buffer): KeyObject {
  const secret = deviceIdKey.export({ format: 'jwk' }).d;
  if (typeof secret !== 'string' || !isP256(deviceIdKey))
    throw agentError(
      'AGENT_DICE_DEVICE_ID_INVALID',
      'invalid',
      'the DeviceID key must be an ECDSA P-256 private key',
    );
  const okm = Buffer.from(
    hkdfSync('sha256', Buffer.from(secret, 'base64url'), fwid, 'Vigil software DICE: Alias key', 40),
  );
  const scalar = (BigInt(`0x${okm.toString('hex')}`) % (p256Order - 1n)) + 1n;
  const d = Buffer.from(scalar.toString(16).padStart(64, '0'), 'hex');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey(null, 'uncompressed');
  return createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: d.toString('base64url'),
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** What the booting layer measured of the firmware it launches. */
export interface FirmwareMeasurement {
  /** SHA-256 of the firmware image: the FWID. */
  sha256: Buffer;
  version: string;
  securityVersion: number;
  vendor?: string | undefined;
  model?: string | undefined;
}

export interface AliasMaterial {
  certificate: Buffer;
  privateKey: KeyObject;
}

/**
 * Issues the Alias certificate for `firmware` under the DeviceID: a leaf (digitalSignature) whose
 * critical DiceTcbInfo carries the FWID, the version, the security version as SVN, layer 1, and
 * OperationalFlags with no bit set (a secure, configured, non-debug boot: what Vigil reads as
 * Secure Boot on for DICE).
 */
export function issueAliasCertificate(
  deviceId: DeviceIdMaterial,
  firmware: FirmwareMeasurement,
  now: Date = new Date(),
): AliasMaterial {
  if (firmware.sha256.length !== 32) throw new RangeError('a SHA-256 FWID is 32 bytes');
  const issuer = new X509Certificate(deviceId.certificate);
  const privateKey = deriveAliasKey(deviceId.privateKey, firmware.sha256);
  const publicKey = createPublicKey(privateKey);
  const tcbInfo = encodeDiceTcbInfo({
    vendor: firmware.vendor,
    model: firmware.model,
    version: firmware.version,
    svn: firmware.securityVersion,
    layer: 1,
    fwids: [{ hashAlgorithm: sha256Oid, digest: firmware.sha256 }],
    flags: [],
  });
  const certificate = buildCertificate(
    {
      serial: serialFrom(publicKey.export({ format: 'der', type: 'spki' })),
      issuer: subjectOf(deviceId.certificate),
      subject: commonNameOnly(`Alias ${issuer.subject.replace(/^CN=/, '').split('\n')[0]}`),
      notBefore: wholeSeconds(new Date(now.getTime() - skewMs)),
      notAfter: noExpiry,
      publicKey,
      extensions: [
        extensions.basicConstraints(false),
        extensions.keyUsage('digitalSignature'),
        extensions.subjectKeyIdentifier(publicKey),
        extensions.authorityKeyIdentifier(issuer.publicKey),
        // TCG DICE Attestation Architecture §6.1.1: the extension SHOULD be critical.
        { oid: diceTcbInfoOid, critical: true, value: tcbInfo },
      ],
    },
    deviceId.privateKey,
  );
  return { certificate, privateKey };
}

/** The DER of a certificate's subject Name, byte for byte (it becomes the next certificate's issuer). */
function subjectOf(certificateDer: Buffer): Buffer {
  const code = 'AGENT_DICE_DEVICE_ID_INVALID';
  const [tbs] = childrenOf(certificateDer, readRoot(certificateDer, code), code);
  // RFC 5280 §4.1: TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature, issuer, validity, subject, ... }
  const fields = tbs === undefined ? [] : childrenOf(certificateDer, tbs, code);
  const subject = fields[0]?.tag === contextTag(0, true) ? fields[5] : fields[4];
  if (subject === undefined || subject.tag !== Tag.sequence)
    throw agentError(code, 'invalid', 'the DeviceID certificate has no subject');
  return Buffer.from(certificateDer.subarray(subject.start, subject.end));
}

/** Where a software DICE device keeps what it derives at "boot" for the installed firmware. */
export interface AliasFiles {
  /** The Alias certificate, then the DeviceID chain (PEM): what `vigil agent attest --dice-chain` reads. */
  chainFile: string;
  /** The Alias private key (PEM, mode 0600). */
  keyFile: string;
}

/**
 * A software DICE device on disk: the DeviceID certificate (PEM, optionally followed by whatever
 * issued it) and key, registered at the factory. `boot` plays the DICE layer that launches the
 * firmware: it measures it and writes the Alias chain and key for the attester.
 */
export class SoftwareDiceDevice {
  private readonly deviceId: DeviceIdMaterial;
  private readonly chainAbove: Buffer[];

  constructor(options: { deviceIdChainFile: string; deviceIdKeyFile: string }) {
    const invalid = (why: string, cause?: unknown) =>
      agentError('AGENT_DICE_DEVICE_ID_INVALID', 'invalid', why, { cause });
    let chainText: string;
    let keyText: string;
    try {
      chainText = readFileSync(options.deviceIdChainFile, 'utf8');
      keyText = readFileSync(options.deviceIdKeyFile, 'utf8');
    } catch (error) {
      throw invalid(
        `cannot read the DeviceID certificate or key: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
        error,
      );
    }
    const chain = fromPem(chainText, 'CERTIFICATE');
    if (chain.length === 0) throw invalid(`${options.deviceIdChainFile} holds no PEM certificate`);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(keyText);
    } catch (error) {
      // Never the key's text in an error.
      throw invalid(`${options.deviceIdKeyFile} is not a PEM private key`, error);
    }
    if (!isP256(privateKey)) throw invalid('the DeviceID key must be an ECDSA P-256 key');
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(chain[0]!);
    } catch (error) {
      throw invalid(`the first certificate of ${options.deviceIdChainFile} does not parse`, error);
    }
    const spki = (key: KeyObject) => key.export({ format: 'der', type: 'spki' });
    if (!spki(createPublicKey(privateKey)).equals(spki(certificate.publicKey)))
      throw invalid(
        `the DeviceID key does not belong to the first certificate of ${options.deviceIdChainFile}`,
      );
    if (!certificate.ca)
      throw invalid('the DeviceID certificate must be a CA: it issues the Alias certificate');
    this.deviceId = { certificate: chain[0]!, privateKey };
    this.chainAbove = chain.slice(1);
  }

  /** Measures `firmware` and writes its Alias certificate (with the DeviceID chain) and key into `dir`. */
  boot(firmware: FirmwareMeasurement, dir: string, now: Date = new Date()): AliasFiles {
    const alias = issueAliasCertificate(this.deviceId, firmware, now);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const files = { chainFile: join(dir, 'alias-chain.pem'), keyFile: join(dir, 'alias.key') };
    const chain = [alias.certificate, this.deviceId.certificate, ...this.chainAbove];
    writeAtomically(files.chainFile, chain.map((der) => toPem(der, 'CERTIFICATE')).join(''), 0o644);
    writeAtomically(
      files.keyFile,
      alias.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      0o600,
    );
    return files;
  }
}

function writeAtomically(path: string, text: string, mode: number): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, path);
}
