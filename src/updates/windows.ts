import { CronExpressionParser } from 'cron-parser';
import { VigilError } from '../core/index.ts';

/** When a site lets devices install: a cron expression (5 fields), a duration and an IANA time zone. */
export interface MaintenanceWindow {
  cron: string;
  durationMinutes: number;
  timeZone: string;
}

export interface WindowState {
  open: boolean;
  /** When the window in force closes (while open). */
  closesAt: string | null;
  /** When the next window opens (while closed). */
  opensAt: string | null;
}

/** Devices without a site, or a site without a window, may install at any time. */
export const alwaysOpen: WindowState = { open: true, closesAt: null, opensAt: null };

/** Checks a window definition; throws the first thing wrong with it. */
export function checkMaintenanceWindow(window: MaintenanceWindow): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: window.timeZone });
  } catch {
    throw new VigilError(
      'UPDATE_WINDOW_INVALID',
      'invalid',
      `${JSON.stringify(window.timeZone)} is not an IANA time zone`,
    );
  }
  if (
    !Number.isInteger(window.durationMinutes) ||
    window.durationMinutes < 1 ||
    window.durationMinutes > 10_080
  ) {
    throw new VigilError('UPDATE_WINDOW_INVALID', 'invalid', 'a window lasts 1 to 10080 minutes (a week)');
  }
  if (window.cron.trim().split(/\s+/).length !== 5) {
    throw new VigilError(
      'UPDATE_WINDOW_INVALID',
      'invalid',
      'the window is a 5-field cron expression: minute hour day-of-month month day-of-week',
    );
  }
  try {
    CronExpressionParser.parse(window.cron, { tz: window.timeZone, strict: false }).next();
  } catch (error) {
    throw new VigilError(
      'UPDATE_WINDOW_INVALID',
      'invalid',
      `the cron expression does not parse: ${(error as Error).message}`,
    );
  }
}

/**
 * Whether `now` falls in a window: the last start at or before `now` (in the window's time zone,
 * so daylight-saving changes move it as local clocks do) plus its duration.
 */
export function windowStateAt(window: MaintenanceWindow, now: Date): WindowState {
  const previous = CronExpressionParser.parse(window.cron, {
    tz: window.timeZone,
    // prev() finds the last start strictly before currentDate: step one second past `now`.
    currentDate: new Date(now.getTime() + 1000),
  })
    .prev()
    .toDate();
  const closes = new Date(previous.getTime() + window.durationMinutes * 60_000);
  if (closes.getTime() > now.getTime()) {
    return { open: true, closesAt: closes.toISOString(), opensAt: null };
  }
  const next = CronExpressionParser.parse(window.cron, { tz: window.timeZone, currentDate: now })
    .next()
    .toDate();
  return { open: false, closesAt: null, opensAt: next.toISOString() };
}
