/**
 * A/B slots: the device runs from the active slot and installs into the other, switching only
 * after the new slot passed its health check, so a bad update never leaves it without a working
 * firmware. The state machine is pure (`stageInstall`, `commitInstall`, `abandonInstall`); the
 * `SlotStore` around it keeps the state in `<state-dir>/slot-state.json` (written atomically) and
 * the slots' files in `<state-dir>/slots/{a,b}/`.
 *
 *   idle ──stageInstall──► staged (inactive slot being written; not bootable)
 *   staged ──commitInstall──► idle, the staged slot active, version and security version updated
 *   staged ──abandonInstall──► idle, the inactive slot emptied, the old slot still active
 */
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentError } from './errors.ts';

export type SlotName = 'a' | 'b';

export interface SlotFile {
  /** The file's name inside the slot (the TUF target path's last part). */
  name: string;
  sha256: string;
  length: number;
}

export interface SlotContents {
  version: string;
  securityVersion: number;
  /** The file the boot layer measures (the first target of a release), or null for none. */
  image: string | null;
  files: SlotFile[];
  rolloutId: string | null;
  installedAt: string;
}

export interface SlotState {
  format: 1;
  active: SlotName;
  /** The version running (the active slot's). */
  version: string;
  /** The device's security version: never falls (anti-rollback), whatever a slot holds. */
  securityVersion: number;
  slots: Record<SlotName, SlotContents | null>;
  /** An install in progress in the inactive slot: its contents are not to be booted. */
  staged: SlotContents | null;
}

export function initialSlotState(
  version: string,
  securityVersion: number,
  contents?: SlotContents,
): SlotState {
  return {
    format: 1,
    active: 'a',
    version,
    securityVersion,
    slots: { a: contents ?? null, b: null },
    staged: null,
  };
}

export function inactiveSlot(state: Pick<SlotState, 'active'>): SlotName {
  return state.active === 'a' ? 'b' : 'a';
}

/** Begins an install into the inactive slot; refuses one below the device's security version. */
export function stageInstall(state: SlotState, contents: SlotContents): SlotState {
  if (contents.securityVersion < state.securityVersion) {
    throw agentError(
      'AGENT_SECURITY_VERSION_ROLLBACK',
      'conflict',
      `release ${contents.version} has security version ${contents.securityVersion}, below the device's ${state.securityVersion}`,
    );
  }
  return { ...state, slots: { ...state.slots, [inactiveSlot(state)]: null }, staged: contents };
}

/** Switches to the staged slot (after its health check passed). */
export function commitInstall(state: SlotState): SlotState {
  const staged = state.staged;
  if (staged === null) throw agentError('AGENT_STATE_INVALID', 'internal', 'no install is staged to commit');
  const slot = inactiveSlot(state);
  return {
    ...state,
    active: slot,
    version: staged.version,
    securityVersion: Math.max(state.securityVersion, staged.securityVersion),
    slots: { ...state.slots, [slot]: staged },
    staged: null,
  };
}

/** Drops a staged install (a failed health check, an interrupted install); the active slot stays. */
export function abandonInstall(state: SlotState): SlotState {
  return { ...state, slots: { ...state.slots, [inactiveSlot(state)]: null }, staged: null };
}

const versionPattern = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
const namePattern = /^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$/;

/** Parses the state file's JSON; anything unexpected is AGENT_STATE_INVALID (never a guess). */
export function parseSlotState(json: unknown, where: string): SlotState {
  const invalid = (why: string) =>
    agentError('AGENT_STATE_INVALID', 'invalid', `${where} is not a slot state: ${why}`);
  const record = (value: unknown): Record<string, unknown> | undefined =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  const securityVersion = (value: unknown, what: string): number => {
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw invalid(`${what} is not a whole number`);
    return value as number;
  };
  const version = (value: unknown, what: string): string => {
    if (typeof value !== 'string' || !versionPattern.test(value)) throw invalid(`${what} is not a version`);
    return value;
  };
  const contents = (value: unknown, what: string): SlotContents | null => {
    if (value === null) return null;
    const slot = record(value);
    if (slot === undefined || !Array.isArray(slot.files)) throw invalid(`${what} is malformed`);
    const files = slot.files.map((entry: unknown): SlotFile => {
      const file = record(entry);
      if (
        file === undefined ||
        typeof file.name !== 'string' ||
        !namePattern.test(file.name) ||
        typeof file.sha256 !== 'string' ||
        !/^[0-9a-f]{64}$/.test(file.sha256) ||
        !Number.isSafeInteger(file.length)
      )
        throw invalid(`a file of ${what} is malformed`);
      return { name: file.name, sha256: file.sha256, length: file.length as number };
    });
    const image = slot.image;
    if (image !== null && !files.some((file) => file.name === image))
      throw invalid(`${what}'s image is not one of its files`);
    return {
      version: version(slot.version, `${what}.version`),
      securityVersion: securityVersion(slot.securityVersion, `${what}.securityVersion`),
      image: image as string | null,
      files,
      rolloutId: typeof slot.rolloutId === 'string' ? slot.rolloutId : null,
      installedAt: typeof slot.installedAt === 'string' ? slot.installedAt : '',
    };
  };
  const state = record(json);
  if (state === undefined || state.format !== 1) throw invalid('unknown format');
  if (state.active !== 'a' && state.active !== 'b') throw invalid('active is neither a nor b');
  const slots = record(state.slots);
  if (slots === undefined) throw invalid('no slots');
  return {
    format: 1,
    active: state.active,
    version: version(state.version, 'version'),
    securityVersion: securityVersion(state.securityVersion, 'securityVersion'),
    slots: { a: contents(slots.a ?? null, 'slot a'), b: contents(slots.b ?? null, 'slot b') },
    staged: contents(state.staged ?? null, 'the staged install'),
  };
}

/** The slot state and the slots' files under one state directory. */
export class SlotStore {
  readonly stateDir: string;
  readonly stateFile: string;

  constructor(stateDir: string) {
    this.stateDir = stateDir;
    this.stateFile = join(stateDir, 'slot-state.json');
  }

  slotDir(slot: SlotName): string {
    return join(this.stateDir, 'slots', slot);
  }

  /** The stored state, or null when this state directory has none yet. */
  read(): SlotState | null {
    let text: string;
    try {
      text = readFileSync(this.stateFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw agentError('AGENT_FILE_UNREADABLE', 'invalid', `cannot read ${this.stateFile}`, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw agentError('AGENT_STATE_INVALID', 'invalid', `${this.stateFile} is not JSON`);
    }
    return parseSlotState(json, this.stateFile);
  }

  /** Writes the state by rename, so a power cut leaves the old state or the new one, never half. */
  write(state: SlotState): void {
    try {
      mkdirSync(this.stateDir, { recursive: true });
      const temporary = `${this.stateFile}.${process.pid}.tmp`;
      writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
      renameSync(temporary, this.stateFile);
    } catch (error) {
      throw agentError('AGENT_STATE_UNWRITABLE', 'internal', `cannot write ${this.stateFile}`, {
        cause: error,
      });
    }
  }

  /** Empties `slot` and copies the files into it ("flashing" the inactive slot). */
  fill(slot: SlotName, files: { name: string; source: string }[]): void {
    const dir = this.slotDir(slot);
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const file of files) {
        if (!namePattern.test(file.name)) throw new Error(`unsafe file name ${JSON.stringify(file.name)}`);
        copyFileSync(file.source, join(dir, file.name));
      }
    } catch (error) {
      throw agentError('AGENT_STATE_UNWRITABLE', 'internal', `cannot write slot ${slot} in ${dir}`, {
        cause: error,
      });
    }
  }

  /** Empties `slot` (after an abandoned install). */
  clear(slot: SlotName): void {
    rmSync(this.slotDir(slot), { recursive: true, force: true });
  }
}
