/**
 * Verifying a DICE certificate chain (TCG DICE Attestation Architecture §5, TCG DICE Certificate
 * Profiles): Alias certificate first, each certificate issued by the next, ending at the DeviceID
 * registered for the device. Every certificate in the chain other than the DeviceID is a DICE layer
 * and must carry a DiceTcbInfo extension. The chain is attacker-controlled: only `VigilError`s with
 * `ATTESTATION_DICE_*` codes escape.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { DerReader, DerTag as Tag, contextTag, type DerElement } from '../../identity/index.ts';
import { diceError } from './errors.ts';
import { diceTcbInfoOid, parseDiceTcbInfo, type DiceTcbInfo } from './tcb-info.ts';

const maxCertificateSize = 64 * 1024;
const maxChainLength = 16;

export interface DiceChainRequest {
  /** DER certificates, Alias first, ... DeviceID (or the layer it signed) last. */
  chain: Buffer[];
  /** The DeviceID certificate registered for the device: the chain's trust anchor. */
  deviceIdCertificate: Buffer;
  at: Date;
}

export interface DiceLayer {
  /** The certificate's subject, as node:crypto prints it. */
  subject: string;
  tcbInfo: DiceTcbInfo;
}

export interface VerifiedDiceChain {
  /** One entry per layer certificate, in the order of `chain` (Alias first). */
  layers: DiceLayer[];
  aliasPublicKey: KeyObject;
}

interface ChainCertificate {
  der: Buffer;
  certificate: X509Certificate;
  notBefore: Date;
  notAfter: Date;
  tcbInfoDer: Buffer | undefined;
}

export function verifyDiceChain(request: DiceChainRequest): VerifiedDiceChain {
  const { chain, deviceIdCertificate, at } = request;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw diceError('ATTESTATION_DICE_CHAIN_MALFORMED', 'verification time must be a valid Date');
  }
  if (!Array.isArray(chain) || chain.length === 0) {
    throw diceError('ATTESTATION_DICE_CHAIN_MALFORMED', 'the chain holds no certificates');
  }
  if (chain.length > maxChainLength) {
    throw diceError(
      'ATTESTATION_DICE_CHAIN_MALFORMED',
      `the chain holds more than ${maxChainLength} certificates`,
    );
  }
  const certificates = chain.map((der, position) => readChainCertificate(der, position));
  const anchor = readChainCertificate(deviceIdCertificate, 'DeviceID');

  // The chain either ends with the registered DeviceID itself or with a layer it issued (any failure
  // of that last link means the chain is anchored elsewhere); the DeviceID then joins the path so
  // its validity is checked like every other certificate's.
  const last = certificates[certificates.length - 1] as ChainCertificate;
  const endsAtDeviceId = last.der.equals(anchor.der);
  if (!endsAtDeviceId) {
    try {
      checkIssuedBy(last, anchor, certificates.length - 1);
    } catch (error) {
      throw diceError(
        'ATTESTATION_DICE_CHAIN_UNTRUSTED',
        'the chain ends neither at the registered DeviceID nor at a certificate it issued',
        {
          cause: error,
          facts: { lastSubject: last.certificate.subject, lastIssuer: last.certificate.issuer },
        },
      );
    }
  }
  const path = endsAtDeviceId ? certificates : [...certificates, anchor];
  // A DeviceID posing as one of its own layers would hand its key out as the Alias key.
  if (path.slice(0, -1).some((entry) => entry.der.equals(anchor.der))) {
    throw diceError('ATTESTATION_DICE_CHAIN_MALFORMED', 'the DeviceID appears before the end of the chain');
  }
  const layerCount = path.length - 1;
  if (layerCount === 0) {
    throw diceError(
      'ATTESTATION_DICE_CHAIN_MALFORMED',
      'the chain holds only the DeviceID, no Alias certificate',
    );
  }

  for (const [position, entry] of path.entries()) {
    // RFC 5280 §6.1.3(a)(2): every certificate, the DeviceID included, valid at the given time.
    checkValidity(entry, position, at);
    const issuer = certificates[position + 1];
    if (issuer !== undefined) checkIssuedBy(entry, issuer, position);
  }

  const layers = path.slice(0, layerCount).map((entry, position): DiceLayer => {
    // TCG DICE Attestation Architecture §6.1.1: a layer's certificate carries its TCB's measurements.
    if (entry.tcbInfoDer === undefined) {
      throw diceError('ATTESTATION_DICE_TCB_INFO_MISSING', `certificate ${position} carries no DiceTcbInfo`, {
        facts: { position, subject: entry.certificate.subject },
      });
    }
    return { subject: entry.certificate.subject, tcbInfo: parseDiceTcbInfo(entry.tcbInfoDer) };
  });
  return { layers, aliasPublicKey: (path[0] as ChainCertificate).certificate.publicKey };
}

function checkValidity(entry: ChainCertificate, position: number, at: Date): void {
  const facts = {
    position,
    subject: entry.certificate.subject,
    notBefore: entry.notBefore.toISOString(),
    notAfter: entry.notAfter.toISOString(),
  };
  if (at < entry.notBefore) {
    throw diceError(
      'ATTESTATION_DICE_CERTIFICATE_NOT_YET_VALID',
      `certificate ${position} is not yet valid`,
      {
        facts,
      },
    );
  }
  if (at > entry.notAfter) {
    throw diceError('ATTESTATION_DICE_CERTIFICATE_EXPIRED', `certificate ${position} has expired`, { facts });
  }
}

/** RFC 5280 §6.1.3(a)(1) and (a)(4), §6.1.4(k): names chain, signature verifies, issuer is a CA. */
function checkIssuedBy(entry: ChainCertificate, issuer: ChainCertificate, position: number): void {
  const facts = { position, subject: entry.certificate.subject, issuer: issuer.certificate.subject };
  if (!entry.certificate.checkIssued(issuer.certificate)) {
    throw diceError(
      'ATTESTATION_DICE_CHAIN_BROKEN',
      `certificate ${position} was not issued by the next one`,
      {
        facts,
      },
    );
  }
  if (!issuer.certificate.ca) {
    throw diceError('ATTESTATION_DICE_CHAIN_BROKEN', `the issuer of certificate ${position} is not a CA`, {
      facts,
    });
  }
  let verified = false;
  try {
    verified = entry.certificate.verify(issuer.certificate.publicKey);
  } catch (error) {
    throw diceError(
      'ATTESTATION_DICE_SIGNATURE_INVALID',
      `certificate ${position} has an unverifiable signature`,
      {
        cause: error,
        facts,
      },
    );
  }
  if (!verified) {
    throw diceError('ATTESTATION_DICE_SIGNATURE_INVALID', `certificate ${position} has a broken signature`, {
      facts,
    });
  }
}

/**
 * Parses one certificate twice: node:crypto for names, keys and signatures, and our strict reader
 * for the outer DER (so trailing bytes are refused), the validity and the DiceTcbInfo extension,
 * which node:crypto does not expose.
 */
function readChainCertificate(der: unknown, position: number | 'DeviceID'): ChainCertificate {
  const code = 'ATTESTATION_DICE_CERTIFICATE_MALFORMED';
  if (!Buffer.isBuffer(der)) throw diceError(code, `certificate ${position} must be a Buffer`);
  if (der.length > maxCertificateSize) throw diceError(code, `certificate ${position} too large`);
  const reader = new DerReader(der, code);
  const certificateFields = reader.children(reader.expectTag(reader.root(), Tag.sequence, 'Certificate'));
  const tbs = reader.children(certificateFields.expect(Tag.sequence, 'TBSCertificate'));
  certificateFields.expect(Tag.sequence, 'signatureAlgorithm');
  certificateFields.expect(Tag.bitString, 'signatureValue');
  certificateFields.end('Certificate');

  // RFC 5280 §4.1: TBSCertificate field order.
  tbs.optional(contextTag(0, true));
  tbs.expect(Tag.integer, 'serialNumber');
  tbs.expect(Tag.sequence, 'signature');
  tbs.expect(Tag.sequence, 'issuer');
  const validity = reader.children(tbs.expect(Tag.sequence, 'validity'));
  const notBefore = readTime(reader, validity.next('notBefore'));
  const notAfter = readTime(reader, validity.next('notAfter'));
  validity.end('Validity');
  tbs.expect(Tag.sequence, 'subject');
  tbs.expect(Tag.sequence, 'subjectPublicKeyInfo');
  tbs.optional(contextTag(1, false));
  tbs.optional(contextTag(2, false));
  const extensions = tbs.optional(contextTag(3, true));
  tbs.end('TBSCertificate');
  const tcbInfoDer = extensions === undefined ? undefined : findTcbInfo(reader, extensions);

  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
  } catch (error) {
    throw diceError(code, `certificate ${position} could not be parsed`, { cause: error });
  }
  return { der, certificate, notBefore, notAfter, tcbInfoDer };
}

/** The DiceTcbInfo extnValue content, refusing duplicate extensions (RFC 5280 §4.2). */
function findTcbInfo(reader: DerReader, explicitExtensions: DerElement): Buffer | undefined {
  const wrapper = reader.children(explicitExtensions);
  const list = reader.children(wrapper.expect(Tag.sequence, 'Extensions'));
  wrapper.end('extensions');
  const seen = new Set<string>();
  let found: Buffer | undefined;
  while (!list.done) {
    const fields = reader.children(list.expect(Tag.sequence, 'Extension'));
    const type = reader.oid(fields.expect(Tag.oid, 'extnID'));
    const critical = fields.optional(Tag.boolean);
    if (critical !== undefined) reader.boolean(critical);
    const value = fields.expect(Tag.octetString, 'extnValue');
    fields.end('Extension');
    if (seen.has(type)) reader.fail(`duplicate extension ${type}`);
    seen.add(type);
    if (type === diceTcbInfoOid) found = reader.content(value);
  }
  return found;
}

/** RFC 5280 §4.1.2.5.1 and §4.1.2.5.2: UTCTime YYMMDDHHMMSSZ, GeneralizedTime YYYYMMDDHHMMSSZ. */
function readTime(reader: DerReader, element: DerElement): Date {
  const text = reader.content(element).toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (element.tag === Tag.utcTime && (match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    const short = Number(match[1]);
    year = short >= 50 ? 1900 + short : 2000 + short;
  } else if (
    element.tag === Tag.generalizedTime &&
    (match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))
  ) {
    year = Number(match[1]);
  } else {
    return reader.fail('certificate time is neither a DER UTCTime nor GeneralizedTime');
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const time = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    time.getUTCMonth() !== month - 1 ||
    time.getUTCDate() !== day ||
    time.getUTCHours() !== hour ||
    time.getUTCMinutes() !== minute ||
    time.getUTCSeconds() !== second
  ) {
    reader.fail('certificate time is not a real calendar time');
  }
  return time;
}
