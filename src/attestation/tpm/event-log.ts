import { algorithmIdName, digestSizeOf, hashAlgorithmOfId, type TpmHashAlgorithm } from './algorithms.ts';
import { ByteReader } from './byte-reader.ts';
import { tpmError } from './errors.ts';
import { eventTypeName, eventTypes, type EventTypeName } from './event-types.ts';

/** One TPMT_HA of an event's TPML_DIGEST_VALUES (PFP §10.2.2; Part 2 §10.3.2). */
export interface EventDigest {
  readonly algorithmId: number;
  /** 'sha256' etc., or the ID in hex for an algorithm Vigil does not compute. */
  readonly algorithm: TpmHashAlgorithm | `0x${string}`;
  readonly digest: Buffer;
}

/** TCG_EfiSpecIDEvent (PFP §10.4.5.1, Table 20): announces a crypto-agile log and its digest sizes. */
export interface SpecIdEvent {
  readonly platformClass: number;
  readonly specVersionMajor: number;
  readonly specVersionMinor: number;
  readonly specErrata: number;
  readonly uintnSize: number;
  readonly algorithms: ReadonlyArray<{ readonly algorithmId: number; readonly digestSize: number }>;
  readonly vendorInfo: Buffer;
}

export interface LogEvent {
  /** Position in the log, 0 for the Spec ID header event (as `tpm2_eventlog` numbers them). */
  readonly eventNumber: number;
  readonly pcrIndex: number;
  readonly eventType: number;
  readonly eventTypeName: EventTypeName | `0x${string}`;
  readonly digests: readonly EventDigest[];
  readonly eventData: Buffer;
}

export interface EventLog {
  readonly specId: SpecIdEvent;
  /** Every event including the header (event 0, its SHA-1 digest field all zeros). */
  readonly events: readonly LogEvent[];
}

export interface EventLogLimits {
  readonly maxLogBytes: number;
  readonly maxEvents: number;
  readonly maxEventDataBytes: number;
}

/** Real logs hold tens to a few thousand events (IMA-free firmware logs); these bounds leave wide room. */
export const defaultEventLogLimits: EventLogLimits = {
  maxLogBytes: 8 * 1024 * 1024,
  maxEvents: 20_000,
  maxEventDataBytes: 1024 * 1024,
};

const specIdSignature = Buffer.from('Spec ID Event03\0', 'latin1');
/** PC Client TPMs have PCRs 0–23 (PFP §3.3.4 "PCR usage"). */
const maxPcrIndex = 23;
/** No TPM implements more than a handful of banks; the algorithm registry is far below this. */
const maxAlgorithms = 16;
const sha1DigestSize = 20;

/**
 * Parses a crypto-agile PC Client firmware event log (`/sys/kernel/security/tpm0/binary_bios_measurements`):
 * one legacy TCG_PCR_EVENT (PFP §10.2.1) carrying "Spec ID Event03" (§10.4.5.1), then TCG_PCR_EVENT2
 * records (§10.2.2), all little-endian. The log is attacker-controlled — the device sends it and it is
 * not signed — so this only ever throws VigilError (ATTESTATION_TPM_EVENT_LOG_*) and bounds every size.
 * Parsing proves nothing: replay the log and compare with a verified quote before trusting any event.
 */
export function parseEventLog(bytes: Uint8Array, limits: EventLogLimits = defaultEventLogLimits): EventLog {
  if (bytes.length === 0) throw tpmError('ATTESTATION_TPM_EVENT_LOG_EMPTY', 'the event log is empty');
  if (bytes.length > limits.maxLogBytes) {
    throw tpmError(
      'ATTESTATION_TPM_EVENT_LOG_TOO_LARGE',
      `the event log is ${bytes.length} bytes, more than ${limits.maxLogBytes}`,
    );
  }
  const reader = new ByteReader(bytes, {
    littleEndian: true,
    errorCode: 'ATTESTATION_TPM_EVENT_LOG_MALFORMED',
    what: 'event log',
  });
  const header = readHeaderEvent(reader, limits);
  const events: LogEvent[] = [header.event];
  const digestSizes = new Map(header.specId.algorithms.map((entry) => [entry.algorithmId, entry.digestSize]));
  while (reader.remaining > 0) {
    if (events.length >= limits.maxEvents) {
      throw tpmError(
        'ATTESTATION_TPM_EVENT_LOG_TOO_LARGE',
        `the event log has more than ${limits.maxEvents} events`,
      );
    }
    events.push(readEvent2(reader, events.length, digestSizes, limits));
  }
  return { specId: header.specId, events };
}

/** PFP §10.2.1 TCG_PCR_EVENT, which must be the EV_NO_ACTION Spec ID event (§10.4.5.1). */
function readHeaderEvent(
  reader: ByteReader,
  limits: EventLogLimits,
): { event: LogEvent; specId: SpecIdEvent } {
  const pcrIndex = reader.uint32('header PCRIndex');
  const eventType = reader.uint32('header EventType');
  const digest = reader.bytes(sha1DigestSize, 'header digest');
  // PFP §10.4.5.1: the first event is PCR 0, EV_NO_ACTION, with a zero digest.
  if (pcrIndex !== 0 || eventType !== eventTypes.EV_NO_ACTION || digest.some((byte) => byte !== 0)) {
    throw tpmError(
      'ATTESTATION_TPM_EVENT_LOG_MALFORMED',
      'the event log does not start with an EV_NO_ACTION Spec ID event in PCR 0',
    );
  }
  const eventData = readEventData(reader, limits);
  const specId = parseSpecIdEvent(eventData);
  return {
    event: {
      eventNumber: 0,
      pcrIndex,
      eventType,
      eventTypeName: eventTypeName(eventType),
      digests: [{ algorithmId: 0x0004, algorithm: 'sha1', digest }],
      eventData,
    },
    specId,
  };
}

function parseSpecIdEvent(eventData: Buffer): SpecIdEvent {
  const reader = new ByteReader(eventData, {
    littleEndian: true,
    errorCode: 'ATTESTATION_TPM_EVENT_LOG_MALFORMED',
    what: 'Spec ID event',
  });
  const signature = reader.bytes(specIdSignature.length, 'signature');
  // "Spec ID Event00" is the SHA-1-only TPM 1.2 format; Vigil needs the agile one.
  if (!signature.equals(specIdSignature)) {
    throw tpmError(
      'ATTESTATION_TPM_EVENT_LOG_UNSUPPORTED',
      'the event log is not a crypto-agile "Spec ID Event03" log',
    );
  }
  const platformClass = reader.uint32('platformClass');
  const specVersionMinor = reader.uint8('specVersionMinor');
  const specVersionMajor = reader.uint8('specVersionMajor');
  const specErrata = reader.uint8('specErrata');
  const uintnSize = reader.uint8('uintnSize');
  const count = reader.uint32('numberOfAlgorithms');
  if (count === 0 || count > maxAlgorithms) reader.fail(`numberOfAlgorithms is ${count}`);
  const algorithms: { algorithmId: number; digestSize: number }[] = [];
  for (let index = 0; index < count; index += 1) {
    const algorithmId = reader.uint16('algorithmId');
    const digestSize = reader.uint16('digestSize');
    if (digestSize === 0 || digestSize > 64)
      reader.fail(`digest size ${digestSize} of ${algorithmIdName(algorithmId)}`);
    const known = hashAlgorithmOfId(algorithmId);
    if (known !== undefined && digestSize !== digestSizeOf(known)) {
      reader.fail(`${known} is announced with ${digestSize}-byte digests`);
    }
    if (algorithms.some((entry) => entry.algorithmId === algorithmId))
      reader.fail(`${algorithmIdName(algorithmId)} announced twice`);
    algorithms.push({ algorithmId, digestSize });
  }
  const vendorInfoSize = reader.uint8('vendorInfoSize');
  const vendorInfo = reader.bytes(vendorInfoSize, 'vendorInfo');
  reader.expectEnd();
  return { platformClass, specVersionMajor, specVersionMinor, specErrata, uintnSize, algorithms, vendorInfo };
}

/** PFP §10.2.2 TCG_PCR_EVENT2, digests sized by the Spec ID event (TPML_DIGEST_VALUES, Part 2 §10.9.8). */
function readEvent2(
  reader: ByteReader,
  eventNumber: number,
  digestSizes: ReadonlyMap<number, number>,
  limits: EventLogLimits,
): LogEvent {
  const pcrIndex = reader.uint32('PCRIndex');
  if (pcrIndex > maxPcrIndex) reader.fail(`event ${eventNumber} extends PCR ${pcrIndex}`);
  const eventType = reader.uint32('EventType');
  const count = reader.uint32('digest count');
  if (count > digestSizes.size)
    reader.fail(`event ${eventNumber} has ${count} digests for ${digestSizes.size} banks`);
  const digests: EventDigest[] = [];
  for (let index = 0; index < count; index += 1) {
    const algorithmId = reader.uint16('AlgorithmId');
    const size = digestSizes.get(algorithmId);
    if (size === undefined)
      reader.fail(
        `event ${eventNumber} has a ${algorithmIdName(algorithmId)} digest the Spec ID event did not announce`,
      );
    if (digests.some((entry) => entry.algorithmId === algorithmId))
      reader.fail(`event ${eventNumber} has two ${algorithmIdName(algorithmId)} digests`);
    const algorithm = hashAlgorithmOfId(algorithmId) ?? algorithmIdName(algorithmId);
    digests.push({
      algorithmId,
      algorithm: algorithm as EventDigest['algorithm'],
      digest: reader.bytes(size, 'digest'),
    });
  }
  const eventData = readEventData(reader, limits);
  return { eventNumber, pcrIndex, eventType, eventTypeName: eventTypeName(eventType), digests, eventData };
}

function readEventData(reader: ByteReader, limits: EventLogLimits): Buffer {
  const size = reader.uint32('EventSize');
  if (size > reader.remaining) reader.fail(`EventSize ${size} runs past the end of the log`);
  if (size > limits.maxEventDataBytes) {
    throw tpmError(
      'ATTESTATION_TPM_EVENT_LOG_TOO_LARGE',
      `an event carries ${size} bytes, more than ${limits.maxEventDataBytes}`,
    );
  }
  return reader.bytes(size, 'event data');
}

/** The event's digest in `bank`, if it has one. */
export function eventDigest(event: LogEvent, bank: TpmHashAlgorithm): Buffer | undefined {
  return event.digests.find((entry) => entry.algorithm === bank)?.digest;
}
