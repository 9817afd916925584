import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import { parseEventLog, type EventLog } from '../../../src/attestation/tpm/index.ts';
import { requirePeer } from '../../support/peers.ts';
import {
  keylimeLogs,
  liveEventLogYaml,
  logsWithYaml,
  parseEventLogYaml,
  readEventLogFile,
  tpm2EventlogAvailable,
  type YamlEventLog,
} from './event-log-fixtures.ts';
import { readFileSync } from 'node:fs';
import { eventLogDir } from './event-log-fixtures.ts';

function assertEventsMatch(log: EventLog, reference: YamlEventLog): void {
  assert.equal(log.events.length, reference.events.length, 'event count');
  log.events.forEach((event, index) => {
    const expected = reference.events[index]!;
    const where = `event ${index}`;
    assert.equal(event.eventNumber, expected.eventNumber, where);
    assert.equal(event.pcrIndex, expected.pcrIndex, where);
    assert.equal(event.eventTypeName, expected.eventType, where);
    assert.deepEqual(
      event.digests.map((entry) => ({ algorithm: entry.algorithm, digest: entry.digest.toString('hex') })),
      expected.digests,
      where,
    );
  });
}

function assertRefused(bytes: Uint8Array, code: string): void {
  assert.throws(
    () => parseEventLog(bytes),
    (error: unknown) => isVigilError(error, code) && error.kind === 'invalid',
  );
}

describe('parseEventLog', () => {
  it('finds the tpm2-tools logs with YAML renderings', () => {
    assert.ok(logsWithYaml.length >= 5, logsWithYaml.join(', '));
  });

  for (const name of logsWithYaml) {
    it(`reads every event of ${name} as the shipped tpm2_eventlog YAML does`, () => {
      const reference = parseEventLogYaml(readFileSync(`${eventLogDir}${name}.yaml`, 'utf8'));
      assert.ok(reference.events.length > 10);
      assertEventsMatch(parseEventLog(readEventLogFile(name)), reference);
    });
  }

  for (const name of [...logsWithYaml, ...keylimeLogs]) {
    it(`reads every event of ${name} as the installed tpm2_eventlog does`, (t) => {
      if (
        !requirePeer(
          t,
          'swtpm/tpm2-tools',
          tpm2EventlogAvailable,
          'apt-get install swtpm swtpm-tools tpm2-tools',
        )
      )
        return;
      assertEventsMatch(parseEventLog(readEventLogFile(name)), liveEventLogYaml(name));
    });
  }

  it('reads the Spec ID event: SHA-1 and SHA-256 digest sizes, spec 2.0', () => {
    const log = parseEventLog(readEventLogFile('tpm2-tools-event-postcode.bin'));
    assert.deepEqual(log.specId.algorithms, [
      { algorithmId: 0x0004, digestSize: 20 },
      { algorithmId: 0x000b, digestSize: 32 },
    ]);
    assert.equal(log.specId.specVersionMajor, 2);
    assert.equal(log.specId.uintnSize, 2);
    assert.equal(log.events[0]!.eventTypeName, 'EV_NO_ACTION');
  });

  it('refuses the empty keylime log as ATTESTATION_TPM_EVENT_LOG_EMPTY', () => {
    assertRefused(
      readEventLogFile('keylime-binary_bios_measurements-empty'),
      'ATTESTATION_TPM_EVENT_LOG_EMPTY',
    );
  });

  it('refuses the bogus keylime log (text, no Spec ID header) as ATTESTATION_TPM_EVENT_LOG_MALFORMED', () => {
    assertRefused(
      readEventLogFile('keylime-binary_bios_measurements-bogus'),
      'ATTESTATION_TPM_EVENT_LOG_MALFORMED',
    );
  });

  it('refuses a log cut inside its last event', () => {
    const bytes = readEventLogFile('tpm2-tools-event-arch-linux.bin');
    assertRefused(bytes.subarray(0, bytes.length - 1), 'ATTESTATION_TPM_EVENT_LOG_MALFORMED');
  });

  it('refuses a SHA-1-only "Spec ID Event00" log as unsupported', () => {
    const bytes = Buffer.from(readEventLogFile('tpm2-tools-event-postcode.bin'));
    bytes.write('Spec ID Event00', 32, 'latin1');
    assertRefused(bytes, 'ATTESTATION_TPM_EVENT_LOG_UNSUPPORTED');
  });

  it('refuses an event extending a PCR beyond 23', () => {
    const bytes = Buffer.from(readEventLogFile('tpm2-tools-event-postcode.bin'));
    const headerLength = 32 + bytes.readUInt32LE(28);
    bytes.writeUInt32LE(24, headerLength);
    assertRefused(bytes, 'ATTESTATION_TPM_EVENT_LOG_MALFORMED');
  });

  it('refuses a digest of an algorithm the Spec ID event did not announce', () => {
    const bytes = Buffer.from(readEventLogFile('tpm2-tools-event-postcode.bin'));
    const headerLength = 32 + bytes.readUInt32LE(28);
    bytes.writeUInt16LE(0x000c, headerLength + 12);
    assertRefused(bytes, 'ATTESTATION_TPM_EVENT_LOG_MALFORMED');
  });

  it('refuses logs over the event, event-size and total-size limits', () => {
    const bytes = readEventLogFile('tpm2-tools-event-postcode.bin');
    const limits = { maxLogBytes: 1 << 20, maxEvents: 1 << 20, maxEventDataBytes: 1 << 20 };
    const tooLarge = (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_EVENT_LOG_TOO_LARGE');
    assert.throws(() => parseEventLog(bytes, { ...limits, maxEvents: 10 }), tooLarge);
    assert.throws(() => parseEventLog(bytes, { ...limits, maxEventDataBytes: 16 }), tooLarge);
    assert.throws(() => parseEventLog(bytes, { ...limits, maxLogBytes: 1000 }), tooLarge);
  });

  it('only ever throws VigilError on random flips and truncations of real logs', () => {
    const logs = [...logsWithYaml, ...keylimeLogs].map(readEventLogFile);
    fc.assert(
      fc.property(
        fc.nat({ max: logs.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        fc.option(fc.nat()),
        (which, flips, cut) => {
          const bytes = Buffer.from(logs[which]!);
          for (const [position, mask] of flips) bytes[position % bytes.length]! ^= mask;
          const input = cut === null ? bytes : bytes.subarray(0, cut % bytes.length);
          try {
            parseEventLog(input);
          } catch (error) {
            if (!isVigilError(error)) throw error;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
