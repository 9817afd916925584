/**
 * Remembers, in the agent's state directory, the SHA-256 of the last firmware event log a server
 * accepted. A device boots the same firmware for weeks and its log (often tens of KB) only changes
 * with it, so while the log is unchanged the evidence names it by digest (`eventLogDigest`) and the
 * server uses the copy it stored with the earlier appraisal.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const fileName = 'tpm-event-log.json';

interface AcceptedLogState {
  version: 1;
  /** The device endpoint's origin: another server holds other logs. */
  server: string;
  /** SHA-256 of the event log, hex. */
  eventLogSha256: string;
}

export class AcceptedEventLog {
  private readonly stateDir: string;
  private readonly server: string;
  private readonly note: (line: string) => void;
  private remembered: string | undefined;

  constructor(options: { stateDir: string; server: string; note(line: string): void }) {
    this.stateDir = options.stateDir;
    this.server = options.server;
    this.note = options.note;
    this.remembered = this.read();
  }

  private get file(): string {
    return join(this.stateDir, fileName);
  }

  /** True when this server accepted evidence carrying exactly this log (SHA-256 hex). */
  holds(sha256: string): boolean {
    return this.remembered === sha256;
  }

  /**
   * Records that the server accepted (stored) this log. A failure to write is only noted: the
   * attestation itself succeeded, and the next run sends the whole log again.
   */
  accepted(sha256: string): void {
    if (this.remembered === sha256) return;
    const state: AcceptedLogState = { version: 1, server: this.server, eventLogSha256: sha256 };
    const temporary = join(this.stateDir, `.${fileName}.${randomUUID()}`);
    try {
      mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
      writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
      renameSync(temporary, this.file);
      this.remembered = sha256;
    } catch (error) {
      this.note(`cannot remember the accepted event log in ${this.file}: ${(error as Error).message}`);
    }
  }

  /** Forgets the log (the server no longer holds it). */
  forget(): void {
    this.remembered = undefined;
  }

  private read(): string | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const state = JSON.parse(text) as Partial<AcceptedLogState>;
      if (
        state.version === 1 &&
        typeof state.eventLogSha256 === 'string' &&
        /^[0-9a-f]{64}$/.test(state.eventLogSha256)
      )
        return state.server === this.server ? state.eventLogSha256 : undefined;
    } catch {
      // fall through: a damaged cache only costs sending the log
    }
    this.note(`${this.file} is not the agent's event log record; sending the whole log`);
    return undefined;
  }
}
