import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import {
  bootComponentEventTypes,
  bootComponents,
  parseEventLog,
  secureBootState,
  type EventLog,
  type EventTypeName,
} from '../../../src/attestation/tpm/index.ts';
import { eventLogDir, logsWithYaml, parseEventLogYaml, readEventLogFile } from './event-log-fixtures.ts';

function logOf(name: string): EventLog {
  return parseEventLog(readEventLogFile(name));
}

function secureBootEventIndex(log: EventLog): number {
  return log.events.findIndex(
    (event) =>
      event.pcrIndex === 7 &&
      event.eventTypeName === 'EV_EFI_VARIABLE_DRIVER_CONFIG' &&
      event.eventData.includes(Buffer.from('SecureBoot', 'utf16le')),
  );
}

describe('secureBootState', () => {
  it("reports 'enabled' for the keylime Secure Boot log", () => {
    assert.equal(secureBootState(logOf('keylime-binary_bios_measurements-secureboot')), 'enabled');
  });

  it("reports 'disabled' for the plain keylime log (its SecureBoot variable is 00)", () => {
    assert.equal(secureBootState(logOf('keylime-binary_bios_measurements')), 'disabled');
  });

  it('agrees with the SecureBoot rendering of every tpm2-tools YAML', () => {
    for (const name of logsWithYaml) {
      const yaml = readFileSync(`${eventLogDir}${name}.yaml`, 'utf8');
      // tpm2-tools renders the variable either as `Enabled: 'Yes'|'No'` or as raw `VariableData: "01"|"00"`.
      const rendered =
        /UnicodeName: SecureBoot\n\s+VariableData:(?:\n\s+Enabled: '(Yes|No)'| "(0[01])")/.exec(yaml);
      assert.ok(rendered, name);
      const enabled = rendered[1] === 'Yes' || rendered[2] === '01';
      assert.equal(secureBootState(logOf(name)), enabled ? 'enabled' : 'disabled', name);
    }
  });

  it('refuses a log whose SecureBoot data was changed to 01 under the digests of 00', () => {
    const log = logOf('keylime-binary_bios_measurements');
    const index = secureBootEventIndex(log);
    const event = log.events[index]!;
    const forged = Buffer.from(event.eventData);
    forged[forged.length - 1] = 1;
    const events = log.events.map((entry, position) =>
      position === index ? { ...entry, eventData: forged } : entry,
    );
    assert.throws(
      () => secureBootState({ ...log, events }),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_EVENT_DIGEST_MISMATCH'),
    );
  });

  it("reports 'unknown' when the log has no SecureBoot event", () => {
    const log = logOf('keylime-binary_bios_measurements-secureboot');
    const index = secureBootEventIndex(log);
    assert.equal(
      secureBootState({ ...log, events: log.events.filter((_, position) => position !== index) }),
      'unknown',
    );
  });

  it('refuses a SecureBoot event whose UEFI_VARIABLE_DATA lengths run past the event', () => {
    const log = logOf('keylime-binary_bios_measurements-secureboot');
    const index = secureBootEventIndex(log);
    const broken = Buffer.from(log.events[index]!.eventData);
    broken.writeBigUInt64LE(1n << 40n, 24);
    const events = log.events.map((entry, position) =>
      position === index ? { ...entry, eventData: broken } : entry,
    );
    assert.throws(
      () => secureBootState({ ...log, events }),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_EVENT_LOG_MALFORMED'),
    );
  });
});

describe('bootComponents', () => {
  for (const name of logsWithYaml) {
    it(`lists the code measurements of ${name} with the YAML's PCRs, types and sha256 digests`, () => {
      const reference = parseEventLogYaml(readFileSync(`${eventLogDir}${name}.yaml`, 'utf8'));
      const expected = reference.events
        .filter((event) => bootComponentEventTypes.has(event.eventType as EventTypeName))
        .map((event) => ({
          eventNumber: event.eventNumber,
          pcrIndex: event.pcrIndex,
          eventType: event.eventType,
          digest: event.digests.find((entry) => entry.algorithm === 'sha256')!.digest,
        }));
      const components = bootComponents(logOf(name), 'sha256').map((component) => ({
        ...component,
        digest: component.digest.toString('hex'),
      }));
      assert.ok(components.length > 0);
      assert.deepEqual(components, expected);
    });
  }

  it('includes the UEFI boot applications (shim, grub, kernel) of the Secure Boot log', () => {
    const applications = bootComponents(
      logOf('keylime-binary_bios_measurements-secureboot'),
      'sha256',
    ).filter((component) => component.eventType === 'EV_EFI_BOOT_SERVICES_APPLICATION');
    assert.ok(applications.length >= 2);
    assert.ok(applications.every((component) => component.pcrIndex === 4 && component.digest.length === 32));
  });

  it('includes EV_POST_CODE measurements', () => {
    const components = bootComponents(logOf('tpm2-tools-event-postcode.bin'), 'sha256');
    assert.ok(
      components.some((component) => component.eventType === 'EV_POST_CODE' && component.pcrIndex === 0),
    );
  });

  it('refuses a bank the log does not carry for a component', () => {
    assert.throws(
      () => bootComponents(logOf('tpm2-tools-event-moklisttrusted.bin'), 'sha1'),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_EVENT_LOG_BANK_MISSING'),
    );
  });
});
