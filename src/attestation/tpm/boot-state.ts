import { createHash } from 'node:crypto';
import { isTpmHashAlgorithm, type TpmHashAlgorithm } from './algorithms.ts';
import { ByteReader } from './byte-reader.ts';
import { tpmError } from './errors.ts';
import { eventDigest, type EventLog, type LogEvent } from './event-log.ts';
import { eventTypes, type EventTypeName } from './event-types.ts';

export type SecureBootState = 'enabled' | 'disabled' | 'unknown';

/** EFI_GLOBAL_VARIABLE 8be4df61-93ca-11d2-aa0d-00e098032b8c in its in-memory (mixed-endian) EFI_GUID layout. */
const efiGlobalVariable = Buffer.from('61dfe48bca93d211aa0d00e098032b8c', 'hex');
const secureBootName = Buffer.from('SecureBoot', 'utf16le');
/** PFP §3.3.4.8: PCR 7 holds the Secure Boot policy. */
const secureBootPolicyPcr = 7;
/** No UEFI variable name Vigil cares about is anywhere near this; bounds the UTF-16 name length. */
const maxVariableNameChars = 1024;

/** UEFI_VARIABLE_DATA (PFP §10.2.6; UEFI 2.x EFI_VARIABLE_DATA). */
interface UefiVariableData {
  readonly variableName: Buffer;
  readonly unicodeName: Buffer;
  readonly variableData: Buffer;
}

function parseUefiVariableData(eventNumber: number, eventData: Buffer): UefiVariableData {
  const reader = new ByteReader(eventData, {
    littleEndian: true,
    errorCode: 'ATTESTATION_TPM_EVENT_LOG_MALFORMED',
    what: `UEFI_VARIABLE_DATA of event ${eventNumber}`,
  });
  const variableName = reader.bytes(16, 'VariableName');
  const nameLength = reader.uint64('UnicodeNameLength');
  const dataLength = reader.uint64('VariableDataLength');
  if (nameLength > BigInt(maxVariableNameChars)) reader.fail(`UnicodeNameLength ${nameLength}`);
  if (dataLength > BigInt(reader.remaining))
    reader.fail(`VariableDataLength ${dataLength} exceeds the event`);
  const unicodeName = reader.bytes(Number(nameLength) * 2, 'UnicodeName');
  const variableData = reader.bytes(Number(dataLength), 'VariableData');
  reader.expectEnd();
  return { variableName, unicodeName, variableData };
}

/**
 * Secure Boot state as the log records it: the EV_EFI_VARIABLE_DRIVER_CONFIG event in PCR 7 for
 * EFI_GLOBAL_VARIABLE "SecureBoot" (PFP §3.3.4.8 and §10.4.4, UEFI 2.x §3.3), data 01 = enabled,
 * 00 or absent (length 0) = disabled. The event data is not covered by the PCR, only its digest is; so each digest of a
 * SecureBoot event must equal the hash of its UEFI_VARIABLE_DATA (PFP §10.4.4: the digest is
 * over the whole structure) or the log is refused — otherwise a device could claim "01" under the
 * digest of "00". Returns 'unknown' when no such event exists or events disagree. Trust the answer
 * only after the PCR 7 replay matched a verified quote.
 */
export function secureBootState(log: EventLog): SecureBootState {
  const states = new Set<SecureBootState>();
  for (const event of log.events) {
    if (
      event.pcrIndex !== secureBootPolicyPcr ||
      event.eventType !== eventTypes.EV_EFI_VARIABLE_DRIVER_CONFIG
    )
      continue;
    const variable = parseUefiVariableData(event.eventNumber, event.eventData);
    if (!variable.variableName.equals(efiGlobalVariable) || !variable.unicodeName.equals(secureBootName))
      continue;
    requireDigestsMatchData(event);
    // PFP: a variable that does not exist is measured with VariableDataLength 0; no SecureBoot
    // variable means the firmware does not enforce Secure Boot (UEFI 2.x §32.3).
    const data = variable.variableData;
    if (data.length === 0) states.add('disabled');
    else
      states.add(
        data.length === 1 && data[0] === 1
          ? 'enabled'
          : data.length === 1 && data[0] === 0
            ? 'disabled'
            : 'unknown',
      );
  }
  const [only] = states;
  return states.size === 1 && only !== undefined ? only : 'unknown';
}

function requireDigestsMatchData(event: LogEvent): void {
  for (const entry of event.digests) {
    if (!isTpmHashAlgorithm(entry.algorithm)) continue;
    if (!createHash(entry.algorithm).update(event.eventData).digest().equals(entry.digest)) {
      throw tpmError(
        'ATTESTATION_TPM_EVENT_DIGEST_MISMATCH',
        `event ${event.eventNumber}: the ${entry.algorithm} digest does not match its event data`,
        { eventNumber: event.eventNumber },
      );
    }
  }
}

/** Events that measure code (PFP §10.4.1): what reference values (golden measurements) appraise. */
export const bootComponentEventTypes: ReadonlySet<EventTypeName> = new Set<EventTypeName>([
  'EV_POST_CODE',
  'EV_POST_CODE2',
  'EV_S_CRTM_CONTENTS',
  'EV_CPU_MICROCODE',
  'EV_NONHOST_CODE',
  'EV_EFI_PLATFORM_FIRMWARE_BLOB',
  'EV_EFI_PLATFORM_FIRMWARE_BLOB2',
  'EV_EFI_BOOT_SERVICES_APPLICATION',
  'EV_EFI_BOOT_SERVICES_DRIVER',
  'EV_EFI_RUNTIME_SERVICES_DRIVER',
  'EV_EFI_SPDM_FIRMWARE_BLOB',
]);

export interface BootComponent {
  readonly eventNumber: number;
  readonly pcrIndex: number;
  readonly eventType: EventTypeName;
  readonly digest: Buffer;
}

/**
 * The code measurements of the log in `bank`, in log order, for appraisal against reference values.
 * These digests are of the images themselves (for UEFI drivers and applications the PE/COFF
 * Authenticode hash, PFP EV_EFI_BOOT_SERVICES_APPLICATION), not of the event data, so they are reported, not checked here. Fails closed on an event
 * without a digest in `bank`.
 */
export function bootComponents(log: EventLog, bank: TpmHashAlgorithm): BootComponent[] {
  const components: BootComponent[] = [];
  for (const event of log.events.slice(1)) {
    const type = event.eventTypeName;
    if (!isBootComponentType(type)) continue;
    const digest = eventDigest(event, bank);
    if (digest === undefined) {
      throw tpmError(
        'ATTESTATION_TPM_EVENT_LOG_BANK_MISSING',
        `event ${event.eventNumber} has no ${bank} digest`,
        {
          bank,
          eventNumber: event.eventNumber,
        },
      );
    }
    components.push({ eventNumber: event.eventNumber, pcrIndex: event.pcrIndex, eventType: type, digest });
  }
  return components;
}

function isBootComponentType(type: string): type is EventTypeName {
  return bootComponentEventTypes.has(type as EventTypeName);
}
