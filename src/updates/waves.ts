import { createHash } from 'node:crypto';
import { VigilError } from '../core/index.ts';

/**
 * The rollout engine's pure part: which device goes into which wave, and what a wave's results
 * call for. ARCHITECTURE.md has us write it by hand; it has no I/O, so it is tested exhaustively.
 */

export interface WaveSpec {
  name?: string | undefined;
  /** Explicit devices (bench devices, a pilot site's list); taken first, whatever their share. */
  devices?: string[] | undefined;
  /** Cumulative share of the selection, in percent, that this wave brings the rollout up to. */
  share?: number | undefined;
  /** The wave succeeds when this share (percent) of its devices is validated (default 100). */
  success?: { validatedShare?: number | undefined } | undefined;
  /** The wave fails at this many failures and timeouts, or this share of the finished ones, once `minimumSample` have finished. */
  failure?:
    | { count?: number | undefined; share?: number | undefined; minimumSample?: number | undefined }
    | undefined;
  onSuccess?: 'continue' | 'pause' | undefined;
  onFailure?: 'pause' | 'abort' | undefined;
}

export type WaveAction = 'wait' | 'continue' | 'pause-for-approval' | 'pause-on-failure' | 'abort';

export interface WaveCounts {
  devices: number;
  validated: number;
  /** Failed and timed out. */
  failed: number;
}

/** Checks a wave plan: at least one wave, cumulative shares that never fall, conditions in range. */
export function checkWaves(waves: readonly WaveSpec[]): void {
  if (waves.length === 0 || waves.length > 20) {
    throw new VigilError('ROLLOUT_WAVES_INVALID', 'invalid', 'a rollout has 1 to 20 waves');
  }
  let share = 0;
  for (const [index, wave] of waves.entries()) {
    const label = wave.name ?? `wave ${index + 1}`;
    if (wave.share !== undefined) {
      if (!(wave.share > 0 && wave.share <= 100)) {
        throw new VigilError(
          'ROLLOUT_WAVES_INVALID',
          'invalid',
          `${label}: share is a percentage above 0 and at most 100`,
        );
      }
      if (wave.share < share) {
        throw new VigilError(
          'ROLLOUT_WAVES_INVALID',
          'invalid',
          `${label}: shares are cumulative and may not fall (${wave.share} after ${share})`,
        );
      }
      share = wave.share;
    }
    if (wave.share === undefined && (wave.devices === undefined || wave.devices.length === 0)) {
      throw new VigilError(
        'ROLLOUT_WAVES_INVALID',
        'invalid',
        `${label}: give a share, a device list, or both`,
      );
    }
    const validated = wave.success?.validatedShare;
    if (validated !== undefined && !(validated > 0 && validated <= 100)) {
      throw new VigilError(
        'ROLLOUT_WAVES_INVALID',
        'invalid',
        `${label}: validatedShare is a percentage above 0 and at most 100`,
      );
    }
    const failureShare = wave.failure?.share;
    if (failureShare !== undefined && !(failureShare > 0 && failureShare <= 100)) {
      throw new VigilError(
        'ROLLOUT_WAVES_INVALID',
        'invalid',
        `${label}: the failure share is a percentage above 0 and at most 100`,
      );
    }
  }
}

/** A device's place in the order of a rollout: a hash, so waves are a fair sample and stable across processes. */
function rank(rolloutId: string, deviceId: string): string {
  return createHash('sha256').update(`${rolloutId}\u0000${deviceId}`).digest('hex');
}

/**
 * Assigns each selected device to a wave: listed devices to the first wave that lists them, the
 * rest in hash order by cumulative share; devices beyond the last share go to the last wave.
 */
export function planWaves(
  rolloutId: string,
  deviceIds: readonly string[],
  waves: readonly WaveSpec[],
): Map<string, number> {
  const plan = new Map<string, number>();
  const selected = new Set(deviceIds);
  for (const [index, wave] of waves.entries()) {
    for (const device of wave.devices ?? [])
      if (selected.has(device) && !plan.has(device)) plan.set(device, index);
  }
  const rest = deviceIds
    .filter((device) => !plan.has(device))
    .sort((a, b) => (rank(rolloutId, a) < rank(rolloutId, b) ? -1 : 1));
  let next = 0;
  for (const [index, wave] of waves.entries()) {
    if (wave.share === undefined) continue;
    const upTo = Math.ceil((wave.share / 100) * rest.length);
    for (; next < upTo; next += 1) plan.set(rest[next]!, index);
  }
  for (; next < rest.length; next += 1) plan.set(rest[next]!, waves.length - 1);
  return plan;
}

/** What a wave's counts call for. The failure condition is checked first: a wave that fails never succeeds. */
export function evaluateWave(wave: WaveSpec, counts: WaveCounts): WaveAction {
  const finished = counts.validated + counts.failed;
  const minimumSample = wave.failure?.minimumSample ?? 1;
  const failureCount = wave.failure?.count;
  const failureShare = wave.failure?.share;
  const failing =
    (failureCount !== undefined && counts.failed >= failureCount) ||
    (failureShare !== undefined &&
      finished >= minimumSample &&
      finished > 0 &&
      (counts.failed / finished) * 100 >= failureShare);
  if (failing) return (wave.onFailure ?? 'pause') === 'abort' ? 'abort' : 'pause-on-failure';
  const validatedShare = wave.success?.validatedShare ?? 100;
  const succeeded = counts.devices === 0 || (counts.validated / counts.devices) * 100 >= validatedShare;
  if (succeeded) return (wave.onSuccess ?? 'continue') === 'pause' ? 'pause-for-approval' : 'continue';
  return 'wait';
}
