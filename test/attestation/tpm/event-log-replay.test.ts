import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import { parseEventLog, replayEventLog, type EventLog } from '../../../src/attestation/tpm/index.ts';
import { requirePeer } from '../../support/peers.ts';
import {
  eventLogDir,
  keylimeLogs,
  liveEventLogYaml,
  logsWithYaml,
  parseEventLogYaml,
  readEventLogFile,
  tpm2EventlogAvailable,
} from './event-log-fixtures.ts';

function hexMap(values: Map<number, Buffer>): Map<number, string> {
  return new Map([...values].map(([pcr, value]) => [pcr, value.toString('hex')]));
}

describe('replayEventLog', () => {
  for (const name of logsWithYaml) {
    it(`replays ${name} to every bank's PCR values in the shipped YAML`, () => {
      const reference = parseEventLogYaml(readFileSync(`${eventLogDir}${name}.yaml`, 'utf8'));
      const log = parseEventLog(readEventLogFile(name));
      assert.ok(reference.pcrs.sha256 && reference.pcrs.sha256.size > 0);
      for (const bank of ['sha1', 'sha256'] as const) {
        const expected = reference.pcrs[bank];
        if (expected === undefined) {
          // A sha256-only log: the sha1 bank is refused, not replayed to zeros.
          assert.throws(
            () => replayEventLog(log, bank),
            (error: unknown) => isVigilError(error),
          );
        } else {
          assert.deepEqual(hexMap(replayEventLog(log, bank)), expected, bank);
        }
      }
    });
  }

  for (const name of [...logsWithYaml, ...keylimeLogs]) {
    it(`replays ${name} to the PCR values the installed tpm2_eventlog computes`, (t) => {
      if (
        !requirePeer(
          t,
          'swtpm/tpm2-tools',
          tpm2EventlogAvailable,
          'apt-get install swtpm swtpm-tools tpm2-tools',
        )
      )
        return;
      const reference = liveEventLogYaml(name);
      const log = parseEventLog(readEventLogFile(name));
      // Debian bookworm's tpm2-tools 5.4 extends the StartupLocality EV_NO_ACTION into PCR 0 instead of
      // starting PCR 0 at the locality (fixed upstream in tpm2-tools PR #3242): PCR 0 of such logs differs.
      const hasStartupLocality = log.events.some((event) =>
        event.eventData.toString('latin1').startsWith('StartupLocality\0'),
      );
      for (const bank of ['sha1', 'sha256'] as const) {
        const expected = reference.pcrs[bank];
        if (expected === undefined) continue;
        const replayed = hexMap(replayEventLog(log, bank));
        if (hasStartupLocality) {
          assert.notEqual(replayed.get(0), expected.get(0));
          replayed.delete(0);
          expected.delete(0);
        }
        assert.deepEqual(replayed, expected, bank);
      }
    });
  }

  it('refuses a bank the log does not record', () => {
    const log = parseEventLog(readEventLogFile('tpm2-tools-event-postcode.bin'));
    assert.throws(
      () => replayEventLog(log, 'sha384'),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_EVENT_LOG_BANK_MISSING'),
    );
  });

  it('refuses an extending event that lacks a digest in the replayed bank', () => {
    const log = parseEventLog(readEventLogFile('tpm2-tools-event-postcode.bin'));
    const [header, first, ...rest] = log.events;
    const stripped: EventLog = {
      ...log,
      events: [
        header!,
        { ...first!, digests: first!.digests.filter((entry) => entry.algorithm !== 'sha256') },
        ...rest,
      ],
    };
    assert.throws(
      () => replayEventLog(stripped, 'sha256'),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_EVENT_LOG_BANK_MISSING'),
    );
  });

  it('starts PCR 0 at the StartupLocality of a leading EV_NO_ACTION locality event (PFP)', () => {
    const log = parseEventLog(readEventLogFile('tpm2-tools-event-postcode.bin'));
    const [header, ...rest] = log.events;
    const localityEvent = {
      ...header!,
      eventNumber: 1,
      digests: [],
      eventData: Buffer.concat([Buffer.from('StartupLocality\0', 'latin1'), Buffer.from([3])]),
    };
    const withLocality: EventLog = { ...log, events: [header!, localityEvent, ...rest] };
    const plain = replayEventLog(log, 'sha256');
    const shifted = replayEventLog(withLocality, 'sha256');
    assert.notDeepEqual(shifted.get(0), plain.get(0));
    assert.deepEqual(shifted.get(7), plain.get(7));
    // Expected: replay PCR 0 from 00..03 by hand.
    let pcr0 = Buffer.alloc(32);
    pcr0[31] = 3;
    for (const event of rest) {
      if (event.pcrIndex !== 0 || event.eventTypeName === 'EV_NO_ACTION') continue;
      const digest = event.digests.find((entry) => entry.algorithm === 'sha256')!.digest;
      pcr0 = createHash('sha256').update(pcr0).update(digest).digest();
    }
    assert.deepEqual(shifted.get(0), pcr0);
  });

  it('refuses a StartupLocality event after PCR 0 was extended', () => {
    const log = parseEventLog(readEventLogFile('tpm2-tools-event-postcode.bin'));
    const localityEvent = {
      ...log.events[0]!,
      eventNumber: 999,
      digests: [],
      eventData: Buffer.concat([Buffer.from('StartupLocality\0', 'latin1'), Buffer.from([3])]),
    };
    assert.throws(
      () => replayEventLog({ ...log, events: [...log.events, localityEvent] }, 'sha256'),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_EVENT_LOG_MALFORMED'),
    );
  });
});
