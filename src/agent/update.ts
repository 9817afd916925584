/**
 * One update cycle as the device runs it (`vigil agent update`, and each simulated device):
 *
 *   check in ─► nothing offered: up-to-date
 *      │ offered
 *      ▼
 *   report downloading ─► TUF refresh and target download (tuf-js: TUF specification §5.3-§5.7)
 *   ─► report downloaded ─► the signed target fits this device (hardware revision, no security
 *   version below the device's) ─► install window open? (else: waiting) ─► report installing
 *   ─► write the inactive A/B slot ─► health check ─► switch slots ─► report installed
 *   ─► attest (the measurements now name the new firmware) ─► check in: the server validates the
 *   update when that attestation measured the release.
 *
 * A failed check reports `failed` with its reason and leaves the running slot alone. Steps the
 * server already recorded are not reported again, so a cycle interrupted anywhere (a crash, a
 * closed window, a reboot before attesting) picks up where it stopped on the next run.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isVigilError, type VigilError } from '../core/index.ts';
import { attest, deviceClientOf, type TlsFiles } from './attest.ts';
import type { DeviceClient } from './device-client.ts';
import { agentError } from './errors.ts';
import { checkSlotHealth, type HealthCheckOptions } from './health-check.ts';
import {
  SlotStore,
  abandonInstall,
  commitInstall,
  inactiveSlot,
  initialSlotState,
  stageInstall,
  type SlotContents,
  type SlotName,
  type SlotState,
} from './slots.ts';
import { SoftwareDiceDevice } from './software-dice.ts';
import type { PcrSelection } from './tpm-attester.ts';
import { TufRepository, productIdOfRepository, type VerifiedTarget } from './tuf-repository.ts';
import type {
  AttestationRecord,
  CheckinRequest,
  CheckinResponse,
  InstallWindow,
  OfferedTarget,
  ReportStep,
  RolloutDeviceState,
  UpdateOffer,
  UpdateReportRequest,
  UpdateReportResponse,
  WhoAmI,
  PostponeRequest,
  PostponeResponse,
} from './wire.ts';

export type UpdateStatus = 'up-to-date' | 'validated' | 'installed' | 'waiting' | 'failed';

/** How the device attests after installing (absent: it does not, and the update stays `installed`). */
export type UpdateAttester =
  | {
      /** A software DICE device: its DeviceID chain and key; the Alias is derived for the new firmware. */
      kind: 'software-dice';
      deviceIdChainFile: string;
      deviceIdKeyFile: string;
    }
  | { kind: 'tpm'; tcti: string; eventLog: string; pcrs: PcrSelection; akHandle: number };

export interface UpdateOptions {
  tls: TlsFiles;
  /** Holds the slot state, the slots, the TUF metadata, the derived DICE Alias and the TPM state. */
  stateDir: string;
  /** The TUF root pinned at provisioning (file or bytes), copied in when none is stored yet. */
  tufRoot?: string | Buffer | undefined;
  /** This device's hardware revision; asked of the server (`/device/v1/whoami`) when absent. */
  hardwareRevision?: string | undefined;
  /** The version running when the state directory has no slot state yet. */
  initialVersion?: { version: string; securityVersion: number } | undefined;
  healthCheck?: HealthCheckOptions | undefined;
  /** Defer an offered update by this many hours (CRA Annex I Part I (2)(c)), up to the product's limit. */
  postpone?: { hours: number; reason?: string | undefined } | undefined;
  attester?: UpdateAttester | undefined;
  note?: ((line: string) => void) | undefined;
  clock?: (() => Date) | undefined;
}

export interface UpdateOutcome {
  status: UpdateStatus;
  /** What the device runs after this cycle. */
  version: string;
  securityVersion: number;
  activeSlot: SlotName;
  update: {
    rolloutId: string;
    releaseId: string;
    version: string;
    securityVersion: number;
    securityUpdate: boolean;
  } | null;
  /** The steps this cycle reported, in order. */
  reported: ReportStep[];
  /** Why it failed, or what it waits for. */
  reason: string | null;
  /** The install window, when waiting for it. */
  installWindow: InstallWindow | null;
  attestation: { id: string; status: string; measuredRelease: string | null } | null;
  /** An attestation that was refused (the install itself stands). */
  attestationError: { code: string; message: string } | null;
}

// --- pure decisions --------------------------------------------------------------------------

const stepRanks: Partial<Record<RolloutDeviceState, number>> = {
  downloading: 1,
  downloaded: 2,
  installing: 3,
  installed: 4,
};

/** How far along the server has the update (0 before downloading). */
export function stepRank(state: RolloutDeviceState | ReportStep): number {
  return stepRanks[state as RolloutDeviceState] ?? 0;
}

/** Whether `step` still needs reporting, given what the server recorded. */
export function needsReport(step: ReportStep, recorded: RolloutDeviceState): boolean {
  return step === 'failed' || stepRank(step) > stepRank(recorded);
}

/**
 * Whether a TUF-verified target fits this device, from its signed `custom` fields: the release
 * offered, a hardware revision the release was built for, and a security version no lower than
 * the device's (anti-rollback, CRA Annex I Part I (2)(c); TUF §5.7 leaves what a target fits to
 * the application). Returns why not, or null. The custom fields are checked as untrusted shapes.
 */
export function checkTargetFit(
  custom: unknown,
  device: { version: string; hardwareRevision: string; securityVersion: number },
): string | null {
  const fields = typeof custom === 'object' && custom !== null ? (custom as Record<string, unknown>) : {};
  if (fields.version !== device.version)
    return `the signed target is release ${JSON.stringify(fields.version ?? null)}, not the offered ${device.version}`;
  const revisions = fields.hardwareRevisions;
  if (!Array.isArray(revisions) || !revisions.includes(device.hardwareRevision))
    return `release ${device.version} is not built for hardware revision ${device.hardwareRevision} (it fits ${Array.isArray(revisions) ? revisions.join(', ') || 'none' : 'none'})`;
  const securityVersion = fields.securityVersion;
  if (!Number.isSafeInteger(securityVersion) || (securityVersion as number) < 0)
    return `release ${device.version} names no security version`;
  if ((securityVersion as number) < device.securityVersion)
    return `release ${device.version} has security version ${securityVersion as number}, below this device's ${device.securityVersion} (no rollback)`;
  return null;
}

/** Whether the server's description of a target agrees with the signed one; why not, or null. */
export function offerDisagreement(
  offered: OfferedTarget,
  signed: { length: number; hashes: Record<string, string> },
): string | null {
  if (offered.length !== signed.length)
    return `the offer says ${offered.path} is ${offered.length} bytes, the signed metadata ${signed.length}`;
  for (const [algorithm, digest] of Object.entries(offered.hashes)) {
    const known = signed.hashes[algorithm];
    if (known !== undefined && known !== digest)
      return `the offer's ${algorithm} of ${offered.path} is not the signed one`;
  }
  return null;
}

/** A check-in answer, read as untrusted JSON: anything not shaped as documented is AGENT_OFFER_MALFORMED. */
export function parseCheckin(json: unknown): UpdateOffer | null {
  const malformed = (why: string) =>
    agentError('AGENT_OFFER_MALFORMED', 'internal', `the check-in answer is malformed: ${why}`);
  if (typeof json !== 'object' || json === null) throw malformed('not an object');
  const update = (json as Partial<CheckinResponse>).update;
  if (update === null) return null;
  if (typeof update !== 'object' || update === undefined) throw malformed('no update field');
  const offer = update as Partial<UpdateOffer>;
  for (const field of ['rolloutId', 'releaseId', 'version', 'repository', 'state'] as const)
    if (typeof offer[field] !== 'string') throw malformed(`${field} is not a string`);
  if (!Number.isSafeInteger(offer.securityVersion)) throw malformed('securityVersion is not a whole number');
  if (!Array.isArray(offer.targets) || offer.targets.length === 0) throw malformed('it names no targets');
  for (const target of offer.targets) {
    if (
      typeof target?.path !== 'string' ||
      !Number.isSafeInteger(target.length) ||
      typeof target.hashes !== 'object' ||
      target.hashes === null
    )
      throw malformed('a target is malformed');
  }
  const window = offer.installWindow;
  if (typeof window !== 'object' || window === null || typeof window.open !== 'boolean')
    throw malformed('installWindow is malformed');
  return offer as UpdateOffer;
}

/** The last part of a target path (`1.2.0/firmware.bin` → `firmware.bin`): its name in the slot. */
export function slotFileName(targetPath: string): string {
  const name = targetPath.split('/').at(-1) ?? '';
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$/.test(name))
    throw agentError(
      'AGENT_OFFER_MALFORMED',
      'internal',
      `target ${JSON.stringify(targetPath)} has no safe file name`,
    );
  return name;
}

// --- the cycle -------------------------------------------------------------------------------

const maxReasonLength = 1000;

async function sha256OfFile(path: string): Promise<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest();
}

class UpdateCycle {
  private readonly options: UpdateOptions;
  private readonly note: (line: string) => void;
  private readonly clock: () => Date;
  private readonly slots: SlotStore;
  private readonly client: DeviceClient;
  private state: SlotState;
  private recorded: RolloutDeviceState = 'offered';
  private readonly reported: ReportStep[] = [];
  private offer: UpdateOffer | null = null;

  constructor(options: UpdateOptions, state: SlotState, slots: SlotStore) {
    this.options = options;
    this.note = options.note ?? (() => undefined);
    this.clock = options.clock ?? (() => new Date());
    this.slots = slots;
    this.state = state;
    this.client = deviceClientOf(options.tls);
  }

  async run(): Promise<UpdateOutcome> {
    const offer = await this.checkin();
    if (offer === null) return this.outcome('up-to-date');
    this.offer = offer;
    this.recorded = offer.state;
    // Already running the offered release (installed in an earlier run; e.g. rebooted since).
    if (offer.version === this.state.version) {
      await this.report('installed', { version: offer.version });
      return this.attestAndCheckIn();
    }
    if (offer.postponedUntil !== null && Date.parse(offer.postponedUntil) > this.clock().getTime()) {
      return this.outcome('waiting', `the update is postponed until ${offer.postponedUntil}`);
    }
    if (this.options.postpone !== undefined) {
      // The server records the postponement and refuses one beyond the product's limit.
      const postponed = await this.client.post<PostponeResponse>(
        `/device/v1/updates/${encodeURIComponent(offer.rolloutId)}/postpone`,
        {
          hours: this.options.postpone.hours,
          ...(this.options.postpone.reason === undefined ? {} : { reason: this.options.postpone.reason }),
        } satisfies PostponeRequest,
      );
      return this.outcome(
        'waiting',
        `postponed until ${postponed.postponedUntil} (${postponed.postponementsLeft} postponements left)`,
      );
    }
    const repository = new TufRepository({
      stateDir: this.options.stateDir,
      productId: productIdOfRepository(offer.repository),
      server: this.options.tls.server,
      pinnedRoot: this.options.tufRoot,
      ...this.tlsMaterial(),
    });
    await this.report('downloading');
    let verified: VerifiedTarget[];
    try {
      await repository.refresh();
      verified = [];
      for (const target of offer.targets) verified.push(await repository.fetchTarget(target.path));
    } catch (error) {
      if (isVigilError(error, 'AGENT_TUF_VERIFICATION_FAILED'))
        return this.fail(`TUF verification failed: ${error.message}`);
      throw error;
    }
    this.note(
      `verified ${verified.map((target) => `${target.info.path}${target.cached ? ' (cached)' : ''}`).join(', ')} with tuf-js`,
    );
    await this.report('downloaded');

    for (const [index, target] of verified.entries()) {
      const disagreement = offerDisagreement(offer.targets[index]!, target.info);
      if (disagreement !== null) return this.fail(disagreement);
      // The slot check and the DICE FWID are SHA-256: a target signed without one cannot be installed.
      if (!/^[0-9a-f]{64}$/.test(target.info.hashes.sha256 ?? ''))
        return this.fail(`the signed target ${target.info.path} carries no SHA-256`);
    }
    const hardwareRevision = this.options.hardwareRevision ?? (await this.whoami()).hardwareRevision;
    for (const target of verified) {
      const unfit = checkTargetFit(target.info.custom, {
        version: offer.version,
        hardwareRevision,
        securityVersion: this.state.securityVersion,
      });
      if (unfit !== null) return this.fail(unfit);
    }

    if (!offer.installWindow.open) {
      return this.outcome(
        'waiting',
        `the site's maintenance window is closed${offer.installWindow.opensAt === null ? '' : `; it opens at ${offer.installWindow.opensAt}`}`,
      );
    }
    try {
      await this.report('installing');
    } catch (error) {
      if (!isVigilError(error, 'UPDATE_OUTSIDE_MAINTENANCE_WINDOW')) throw error;
      return this.outcome('waiting', error.message);
    }

    const names = verified.map((target) => slotFileName(target.info.path));
    if (new Set(names).size !== names.length)
      return this.fail('two targets of the release share a file name');
    const securityVersion = (verified[0]!.info.custom as { securityVersion: number }).securityVersion;
    const contents: SlotContents = {
      version: offer.version,
      securityVersion,
      image: names[0]!,
      files: verified.map((target, index) => ({
        name: names[index]!,
        sha256: target.info.hashes.sha256!,
        length: target.info.length,
      })),
      rolloutId: offer.rolloutId,
      installedAt: this.clock().toISOString(),
    };
    const slot = inactiveSlot(this.state);
    try {
      this.state = stageInstall(this.state, contents);
    } catch (error) {
      if (isVigilError(error, 'AGENT_SECURITY_VERSION_ROLLBACK')) return this.fail(error.message);
      throw error;
    }
    this.slots.write(this.state);
    this.slots.fill(
      slot,
      verified.map((target, index) => ({ name: names[index]!, source: target.file })),
    );
    const health = await checkSlotHealth(
      {
        dir: this.slots.slotDir(slot),
        slot,
        version: offer.version,
        image: contents.image,
        files: contents.files,
      },
      this.options.healthCheck,
    );
    if (!health.healthy) {
      this.state = abandonInstall(this.state);
      this.slots.write(this.state);
      this.slots.clear(slot);
      return this.fail(
        `health check of slot ${slot} failed: ${health.reason ?? 'unhealthy'}; slot ${this.state.active} stays active`,
      );
    }
    this.state = commitInstall(this.state);
    this.slots.write(this.state);
    this.note(`installed ${offer.version} into slot ${slot} and switched to it`);
    await this.report('installed', { version: offer.version });
    return this.attestAndCheckIn();
  }

  /** Attests the running firmware, then checks in: the check-in is what lets the server validate. */
  private async attestAndCheckIn(): Promise<UpdateOutcome> {
    const offer = this.offer!;
    let attestation: AttestationRecord | null = null;
    let attestationError: UpdateOutcome['attestationError'] = null;
    if (this.options.attester !== undefined) {
      try {
        attestation = await this.attest(this.options.attester);
        this.note(
          `attestation ${attestation.id}: ${attestation.status}, release ${attestation.measuredRelease ?? '-'}`,
        );
      } catch (error) {
        if (!isVigilError(error)) throw error;
        attestationError = { code: error.code, message: error.message };
        this.note(`attestation refused: ${error.message} (${error.code})`);
      }
    }
    const next = await this.checkin();
    const pending = next !== null && next.rolloutId === offer.rolloutId;
    // The server's word: the check-in answer names the rollout and says it validated the update.
    const validated =
      !pending && this.lastUpdate?.rolloutId === offer.rolloutId && this.lastUpdate.state === 'validated';
    const result = this.outcome(
      validated ? 'validated' : 'installed',
      validated
        ? null
        : attestation === null
          ? 'installed; the server validates it after an attestation that measures it'
          : `installed; awaiting validation (attestation ${attestation.status}, measured release ${attestation.measuredRelease ?? 'none'})`,
    );
    result.attestation =
      attestation === null
        ? null
        : { id: attestation.id, status: attestation.status, measuredRelease: attestation.measuredRelease };
    result.attestationError = attestationError;
    return result;
  }

  private async attest(attester: UpdateAttester): Promise<AttestationRecord> {
    const tls = this.options.tls;
    const note = this.note;
    if (attester.kind === 'tpm') {
      const { kind: _kind, ...tpm } = attester;
      return attest({
        tls,
        attester: { kind: 'tpm', ...tpm, stateDir: join(this.options.stateDir, 'tpm') },
        note,
      });
    }
    // DICE layering: the layer that boots the firmware measures it as it is in the active slot now.
    const running = this.state.slots[this.state.active];
    if (running === null || running.image === null)
      throw agentError(
        'AGENT_STATE_INVALID',
        'invalid',
        `slot ${this.state.active} holds no firmware image to measure`,
      );
    const device = new SoftwareDiceDevice(attester);
    const alias = device.boot(
      {
        sha256: await sha256OfFile(join(this.slots.slotDir(this.state.active), running.image)),
        version: running.version,
        securityVersion: running.securityVersion,
      },
      join(this.options.stateDir, 'dice'),
      this.clock(),
    );
    return attest({ tls, attester: { kind: 'dice', ...alias }, note });
  }

  private tlsMaterial() {
    return {
      ca: this.readTls(this.options.tls.ca, 'the CA bundle (--ca)'),
      cert: this.readTls(this.options.tls.cert, 'the device certificate (--cert)'),
      key: this.readTls(this.options.tls.key, 'the device key (--key)'),
    };
  }

  private readTls(path: string, what: string): Buffer {
    try {
      return readFileSync(path);
    } catch (error) {
      throw agentError('AGENT_FILE_UNREADABLE', 'invalid', `cannot read ${what} ${path}`, { cause: error });
    }
  }

  private async checkin(): Promise<UpdateOffer | null> {
    const body: CheckinRequest = {
      version: this.state.version,
      securityVersion: this.state.securityVersion,
      status: 'idle',
    };
    const answer = await this.client.post<unknown>('/device/v1/checkin', body);
    const offer = parseCheckin(answer);
    const last = (answer as Partial<CheckinResponse>).last;
    this.lastUpdate = offer === null && typeof last === 'object' && last !== null ? last : null;
    return offer;
  }

  /** What the server said about the device's latest update at the last check-in without an offer. */
  private lastUpdate: NonNullable<CheckinResponse['last']> | null = null;

  private async whoami(): Promise<WhoAmI> {
    const identity = await this.client.get<WhoAmI>('/device/v1/whoami');
    if (typeof identity.hardwareRevision !== 'string')
      throw agentError('AGENT_RESPONSE_MALFORMED', 'internal', 'whoami answered without a hardware revision');
    return identity;
  }

  private async report(step: ReportStep, extra: Omit<UpdateReportRequest, 'step'> = {}): Promise<void> {
    if (!needsReport(step, this.recorded)) return;
    const offer = this.offer!;
    const body: UpdateReportRequest = { step, ...extra };
    const answer = await this.client.post<UpdateReportResponse>(
      `/device/v1/updates/${encodeURIComponent(offer.rolloutId)}/report`,
      body,
    );
    this.reported.push(step);
    this.recorded = typeof answer.state === 'string' ? answer.state : step;
  }

  private async fail(reason: string): Promise<UpdateOutcome> {
    const text = reason.length > maxReasonLength ? `${reason.slice(0, maxReasonLength - 1)}…` : reason;
    this.note(`update failed: ${text}`);
    try {
      await this.report('failed', { reason: text });
    } catch (error) {
      // The failure stands on the device either way; the server may have closed the update meanwhile.
      if (!isVigilError(error)) throw error;
      this.note(`the failure report was refused: ${(error as VigilError).message}`);
    }
    return this.outcome('failed', text);
  }

  private outcome(status: UpdateStatus, reason: string | null = null): UpdateOutcome {
    const offer = this.offer;
    return {
      status,
      version: this.state.version,
      securityVersion: this.state.securityVersion,
      activeSlot: this.state.active,
      update:
        offer === null
          ? null
          : {
              rolloutId: offer.rolloutId,
              releaseId: offer.releaseId,
              version: offer.version,
              securityVersion: offer.securityVersion,
              securityUpdate: offer.securityUpdate,
            },
      reported: [...this.reported],
      reason,
      installWindow: status === 'waiting' && offer !== null ? offer.installWindow : null,
      attestation: null,
      attestationError: null,
    };
  }
}

/** One update cycle of this device; see the module comment. Throws typed errors it cannot report. */
export async function updateDevice(options: UpdateOptions): Promise<UpdateOutcome> {
  const slots = new SlotStore(options.stateDir);
  let state = slots.read();
  if (state === null) {
    if (options.initialVersion === undefined) {
      throw agentError(
        'AGENT_SLOT_STATE_MISSING',
        'invalid',
        `${slots.stateFile} does not exist: give the running version (--initial-version) on the first run`,
      );
    }
    state = initialSlotState(options.initialVersion.version, options.initialVersion.securityVersion);
    slots.write(state);
  }
  if (state.staged !== null) {
    // An install that never finished (power cut, crash): its slot is not bootable; start over.
    options.note?.(
      `discarding the unfinished install of ${state.staged.version} in slot ${inactiveSlot(state)}`,
    );
    state = abandonInstall(state);
    slots.clear(inactiveSlot(state));
    slots.write(state);
  }
  return new UpdateCycle(options, state, slots).run();
}
