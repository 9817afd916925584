import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isVigilError } from '../../src/core/index.ts';
import { checkMaintenanceWindow, windowStateAt } from '../../src/updates/windows.ts';

describe('maintenance windows', () => {
  const nightly = { cron: '0 2 * * *', durationMinutes: 120, timeZone: 'Europe/Berlin' };

  test('open from the local start for its duration, closed otherwise with the next opening', () => {
    // 02:30 in Berlin (CET, UTC+1) is 01:30 UTC.
    assert.deepEqual(windowStateAt(nightly, new Date('2026-11-26T01:30:00Z')), {
      open: true,
      closesAt: '2026-11-26T03:00:00.000Z',
      opensAt: null,
    });
    assert.deepEqual(windowStateAt(nightly, new Date('2026-11-26T01:00:00Z')), {
      open: true,
      closesAt: '2026-11-26T03:00:00.000Z',
      opensAt: null,
    });
    assert.deepEqual(windowStateAt(nightly, new Date('2026-11-26T03:00:00Z')), {
      open: false,
      closesAt: null,
      opensAt: '2026-11-27T01:00:00.000Z',
    });
  });

  test('follows the local clock across daylight saving time', () => {
    // In summer Berlin is UTC+2: the same local 02:00 is 00:00 UTC.
    assert.equal(windowStateAt(nightly, new Date('2026-07-01T00:30:00Z')).open, true);
    assert.equal(windowStateAt(nightly, new Date('2026-07-01T02:30:00Z')).open, false);
  });

  test('weekly windows: Sundays 22:00 for six hours, spanning midnight', () => {
    const weekly = { cron: '0 22 * * 0', durationMinutes: 360, timeZone: 'America/New_York' };
    // Sunday 2026-11-29 22:00 EST is Monday 03:00 UTC; Monday 01:00 EST is still inside.
    assert.equal(windowStateAt(weekly, new Date('2026-11-30T06:00:00Z')).open, true);
    assert.equal(windowStateAt(weekly, new Date('2026-11-30T09:00:00Z')).open, false);
  });

  test('refuses unknown time zones, bad cron expressions and durations out of range', () => {
    for (const window of [
      { ...nightly, timeZone: 'Mars/Olympus_Mons' },
      { ...nightly, cron: '0 2 * *' },
      { ...nightly, cron: '0 25 * * *' },
      { ...nightly, cron: '* * * * * *' },
      { ...nightly, durationMinutes: 0 },
      { ...nightly, durationMinutes: 10_081 },
    ]) {
      assert.throws(
        () => checkMaintenanceWindow(window),
        (error) => isVigilError(error, 'UPDATE_WINDOW_INVALID'),
        JSON.stringify(window),
      );
    }
    checkMaintenanceWindow(nightly);
  });
});
