/**
 * The TPM 2.0 attester: evidence from a real TPM through tpm2-tools.
 *
 * The attestation key (AK) is made once and bound to the device on first use: `tpm2_createek`
 * (RSA, TCG default template) and `tpm2_createak` (ECC P-256, ECDSA/SHA-256, restricted signing),
 * the server's TPM2_MakeCredential challenge for the AK's Name under the EK, and
 * TPM2_ActivateCredential under the EK's policy (PolicySecret of the endorsement hierarchy, TCG EK
 * Credential Profile §2.1.5) to prove both keys live in the same TPM.
 *
 * Where the AK lives: persisted in the TPM itself with `tpm2_evictcontrol` at a persistent handle
 * (0x81010002 unless `--ak-handle` says otherwise). That survives the agent's exit, TPM resets and
 * reboots, needs no key blob on disk, and the private part never leaves the TPM. The state
 * directory only remembers the handle and the AK's Name, so a different key found at the handle
 * later (someone evicted and replaced it) is noticed instead of silently used.
 *
 * The binding carries the EK certificate the TPM's manufacturer stored in NV, when there is one
 * (see ek-certificate.ts): a server that trusts TPM manufacturer CAs needs it.
 */
import { randomUUID } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentError } from './errors.ts';
import type { DeviceClient } from './device-client.ts';
import { ekCertificateIndexes, readEkCertificate } from './ek-certificate.ts';
import { TpmTools } from './tpm-tools.ts';
import type { BoundKey, CredentialChallenge, KeyBindingRequest, TpmQuoteEvidence } from './wire.ts';

export const defaultAkHandle = 0x81010002;
export const defaultPcrSelection = 'sha256:0,1,2,3,4,5,6,7';
export const defaultEventLogPath = '/sys/kernel/security/tpm0/binary_bios_measurements';

const pcrBanks = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
type PcrBank = (typeof pcrBanks)[number];

/** A PCR selection in tpm2-tools syntax (`sha256:0,1,2+sha1:7`), checked and normalized. */
export interface PcrSelection {
  /** As tpm2_quote -l takes it. */
  text: string;
  banks: Map<PcrBank, number[]>;
}

/** Parses `--pcrs`; throws a plain Error with the reason (the command turns it into a usage error). */
export function parsePcrSelection(text: string): PcrSelection {
  const banks = new Map<PcrBank, number[]>();
  for (const part of text.split('+')) {
    const match = /^([a-z0-9]+):([0-9]+(?:,[0-9]+)*)$/.exec(part.trim());
    if (match === null) throw new Error(`"${part}" is not BANK:PCR,PCR,... (e.g. sha256:0,1,2,3,4,5,6,7)`);
    const bank = match[1] as PcrBank;
    if (!pcrBanks.includes(bank)) throw new Error(`unknown PCR bank "${bank}" (${pcrBanks.join(', ')})`);
    if (banks.has(bank)) throw new Error(`PCR bank ${bank} is named twice`);
    const pcrs = match[2]!.split(',').map(Number);
    if (pcrs.some((pcr) => pcr > 23)) throw new Error('PCR indexes are 0 to 23');
    banks.set(
      bank,
      [...new Set(pcrs)].sort((a, b) => a - b),
    );
  }
  return {
    text: [...banks].map(([bank, pcrs]) => `${bank}:${pcrs.join(',')}`).join('+'),
    banks,
  };
}

/** Parses `--ak-handle`: a persistent handle (TPM 2.0 Part 2 §7.4: 0x81000000–0x81FFFFFF). */
export function parsePersistentHandle(text: string): number {
  const value = /^0x[0-9a-fA-F]{8}$/.test(text) ? Number.parseInt(text.slice(2), 16) : Number.NaN;
  if (!(value >= 0x81000000 && value <= 0x81ffffff))
    throw new Error('expected a persistent handle 0x81000000 to 0x81FFFFFF, e.g. 0x81010002');
  return value;
}

export function handleHex(handle: number): string {
  return `0x${handle.toString(16).padStart(8, '0')}`;
}

/** What the state directory keeps about the TPM attestation key. */
interface TpmKeyState {
  version: 1;
  akHandle: string;
  /** The AK's TPM Name, hex. */
  akName: string;
  /** The server's id of the bound key, once bound. */
  keyId: string | null;
}

const stateFileName = 'tpm-attestation-key.json';

export interface TpmAttesterOptions {
  tcti: string;
  stateDir: string;
  /** A scratch directory for tpm2-tools' files (contexts, quote, credential), removed by the caller. */
  workDir: string;
  eventLogPath: string;
  pcrs: PcrSelection;
  akHandle: number;
  /** Progress notes (stderr). */
  note(line: string): void;
}

export interface TpmAttestationKey {
  handle: string;
  akName: string;
  key: BoundKey;
  /** True when this run made the binding. */
  boundNow: boolean;
}

export class TpmAttester {
  private readonly options: TpmAttesterOptions;
  private readonly tools: TpmTools;

  constructor(options: TpmAttesterOptions) {
    this.options = options;
    this.tools = new TpmTools(options.tcti, options.workDir);
  }

  private file(name: string): string {
    return join(this.options.workDir, name);
  }

  /** The AK at the persistent handle, made and bound to this device on first use. */
  async ensureAttestationKey(client: DeviceClient): Promise<TpmAttestationKey> {
    const handle = handleHex(this.options.akHandle);
    // Before the TPM is touched: a key persisted but not recorded would lock the agent out later.
    this.checkStateWritable();
    const state = this.readState();
    let akName = await this.readPersistentName(handle);
    let boundKeys: BoundKey[] | undefined;
    const listBound = async () =>
      (boundKeys ??= (await client.get<{ keys: BoundKey[] }>('/device/v1/attestation/keys')).keys);

    if (akName === undefined) {
      if (state !== undefined)
        this.options.note(
          `the attestation key recorded in ${this.stateFile()} is gone from the TPM (cleared?): making a new one`,
        );
      akName = await this.createPersistentKey(handle);
    } else if (state?.akName !== akName || state.akHandle !== handle) {
      // A key we did not record sits at the handle: use it only if the server has it bound to us.
      const known = (await listBound()).some((key) => key.kind === 'tpm2' && key.akName === akName);
      if (!known)
        throw agentError(
          'AGENT_TPM_HANDLE_IN_USE',
          'conflict',
          `the persistent handle ${handle} holds a key this agent did not make and the server has not bound; ` +
            `choose another --ak-handle, or evict it (tpm2_evictcontrol -C o -c ${handle})`,
        );
      this.writeState({ version: 1, akHandle: handle, akName, keyId: null });
    }

    const bound = (await listBound()).find(
      (key) => key.kind === 'tpm2' && key.akName === akName && key.retiredAt === null,
    );
    if (bound !== undefined) {
      if (state?.keyId !== bound.id)
        this.writeState({ version: 1, akHandle: handle, akName, keyId: bound.id });
      return { handle, akName, key: bound, boundNow: false };
    }
    const key = await this.bind(client, handle, akName);
    this.writeState({ version: 1, akHandle: handle, akName, keyId: key.id });
    this.options.note(`bound attestation key ${akName} (${handle}) to this device as ${key.id}`);
    return { handle, akName, key, boundNow: true };
  }

  /** The Name of the object at `handle`, or undefined when the handle is empty. */
  private async readPersistentName(handle: string): Promise<string | undefined> {
    const listed = await this.tools.run('tpm2_getcap', ['handles-persistent']);
    const handles = [...listed.stdout.matchAll(/0x[0-9a-fA-F]{8}/g)].map((match) => match[0].toLowerCase());
    if (!handles.includes(handle)) return undefined;
    await this.tools.run('tpm2_readpublic', ['-c', handle, '-n', 'ak.name', '-o', 'ak.pub']);
    return readFileSync(this.file('ak.name')).toString('hex');
  }

  private async createEndorsementKey(): Promise<void> {
    await this.tools.run('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
  }

  private async createPersistentKey(handle: string): Promise<string> {
    await this.createEndorsementKey();
    await this.tools.run('tpm2_createak', [
      '-C',
      'ek.ctx',
      '-c',
      'ak.ctx',
      '-G',
      'ecc',
      '-g',
      'sha256',
      '-s',
      'ecdsa',
      '-u',
      'ak.pub',
      '-n',
      'ak.name',
    ]);
    const akName = readFileSync(this.file('ak.name')).toString('hex');
    // Recorded first: should persisting fail, the next run finds the handle empty and starts over.
    this.writeState({ version: 1, akHandle: handle, akName, keyId: null });
    await this.tools.run('tpm2_evictcontrol', ['-C', 'o', '-c', 'ak.ctx', handle]);
    this.options.note(`made an attestation key ${akName} and persisted it at ${handle}`);
    return akName;
  }

  /** MakeCredential by the server, ActivateCredential here, under the EK's policy session. */
  private async bind(client: DeviceClient, handle: string, akName: string): Promise<BoundKey> {
    await this.createEndorsementKey();
    await this.tools.run('tpm2_readpublic', ['-c', handle, '-o', 'ak.pub']);
    // The certificate of the EK tpm2_createek -G rsa makes (the TCG default RSA 2048 template).
    const ekCertificate = await readEkCertificate(
      this.tools,
      this.options.workDir,
      ekCertificateIndexes.rsa2048,
      this.options.note,
    );
    const request: KeyBindingRequest = {
      format: 'tpm2',
      ekPublic: readFileSync(this.file('ek.pub')).toString('base64'),
      akPublic: readFileSync(this.file('ak.pub')).toString('base64'),
      ...(ekCertificate === undefined ? {} : { ekCertificate: ekCertificate.toString('base64') }),
    };
    if (ekCertificate !== undefined)
      this.options.note(
        `sending the EK certificate (NV 0x${ekCertificateIndexes.rsa2048.toString(16).padStart(8, '0')}, ${ekCertificate.length} bytes) with the key binding`,
      );
    const challenge = await client.post<CredentialChallenge>('/device/v1/attestation/keys', request);
    if (challenge.akName.toLowerCase() !== akName)
      throw agentError(
        'AGENT_RESPONSE_MALFORMED',
        'internal',
        `the server computed the AK's Name as ${challenge.akName}, the TPM says ${akName}`,
      );
    writeFileSync(this.file('credential.bin'), Buffer.from(challenge.credentialBlob, 'base64'));
    await this.tools.run('tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx']);
    try {
      await this.tools.run('tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e']);
      await this.tools.run('tpm2_activatecredential', [
        '-c',
        handle,
        '-C',
        'ek.ctx',
        '-i',
        'credential.bin',
        '-o',
        'secret.bin',
        '-P',
        'session:session.ctx',
      ]);
    } finally {
      await this.tools.run('tpm2_flushcontext', ['session.ctx']).catch(() => undefined);
    }
    const secret = readFileSync(this.file('secret.bin'));
    return client.post<BoundKey>(
      `/device/v1/attestation/keys/${encodeURIComponent(challenge.challengeId)}/activate`,
      { secret: secret.toString('base64') },
    );
  }

  /**
   * A quote over the selected PCRs with the nonce as qualifying data, the PCR values tpm2_quote read
   * with it, and the event log. A PCR extended between the quote and the read shows as a digest
   * mismatch (tpm2_quote's calcDigest); the quote is then taken again.
   */
  async collectEvidence(nonce: Buffer): Promise<TpmQuoteEvidence & { eventLog: string }> {
    const eventLog = this.readEventLog();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const output = await this.tools.run('tpm2_quote', [
        '-c',
        handleHex(this.options.akHandle),
        '-l',
        this.options.pcrs.text,
        '-q',
        nonce.toString('hex'),
        '-m',
        'quote.msg',
        '-s',
        'quote.sig',
        '-o',
        'quote.pcrs',
        '-g',
        'sha256',
      ]);
      const quote = readFileSync(this.file('quote.msg'));
      const { pcrs, calcDigest } = parseQuoteOutput(output.stdout, this.options.pcrs);
      // TPMS_ATTEST of a quote ends with TPMS_QUOTE_INFO.pcrDigest (TPM 2.0 Part 2 §10.12.1).
      if (!quote.subarray(quote.length - calcDigest.length).equals(calcDigest)) continue;
      return {
        quote: quote.toString('base64'),
        signature: readFileSync(this.file('quote.sig')).toString('base64'),
        pcrs,
        eventLog: eventLog.toString('base64'),
      };
    }
    throw agentError(
      'AGENT_TPM_PCRS_CHANGING',
      'unavailable',
      'the PCRs kept changing while they were quoted (three tries); attest again later',
    );
  }

  private readEventLog(): Buffer {
    const path = this.options.eventLogPath;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw agentError(
        'AGENT_EVENT_LOG_UNREADABLE',
        'unavailable',
        `cannot read the firmware event log ${path} (${code ?? (error as Error).message})` +
          (code === 'EACCES' ? ': the agent needs to run as root to read it' : '; give --event-log FILE'),
        { cause: error },
      );
    }
    if (bytes.length === 0)
      throw agentError(
        'AGENT_EVENT_LOG_UNREADABLE',
        'unavailable',
        `the firmware event log ${path} is empty`,
      );
    return bytes;
  }

  private stateFile(): string {
    return join(this.options.stateDir, stateFileName);
  }

  private readState(): TpmKeyState | undefined {
    let text: string;
    try {
      text = readFileSync(this.stateFile(), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw agentError(
        'AGENT_STATE_INVALID',
        'invalid',
        `cannot read ${this.stateFile()}: ${(error as Error).message}`,
      );
    }
    try {
      const state = JSON.parse(text) as TpmKeyState;
      if (state.version !== 1 || typeof state.akName !== 'string' || typeof state.akHandle !== 'string')
        throw new Error('unknown layout');
      return state;
    } catch (error) {
      throw agentError(
        'AGENT_STATE_INVALID',
        'invalid',
        `${this.stateFile()} is not the agent's state (${(error as Error).message}); remove it to start over`,
      );
    }
  }

  private checkStateWritable(): void {
    const dir = this.options.stateDir;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      accessSync(dir, constants.W_OK);
    } catch (error) {
      throw agentError(
        'AGENT_STATE_UNWRITABLE',
        'unavailable',
        `cannot write the agent's state directory ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give --state DIR`,
        { cause: error },
      );
    }
  }

  /** Written to a temporary name and renamed, so a crash leaves the old state or the new one. */
  private writeState(state: TpmKeyState): void {
    mkdirSync(this.options.stateDir, { recursive: true, mode: 0o700 });
    const temporary = join(this.options.stateDir, `.${stateFileName}.${randomUUID()}`);
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.stateFile());
  }
}

/**
 * Reads the PCR values tpm2_quote prints with `-o` (YAML: `pcrs:` → bank → `N : 0xHEX`) and its
 * `calcDigest`. The `-o` file itself is a tpm2-tools format, not a TCG structure (PEERS.md).
 */
export function parseQuoteOutput(
  stdout: string,
  selection: PcrSelection,
): { pcrs: Record<string, Record<string, string>>; calcDigest: Buffer } {
  const read: Record<string, Record<string, string>> = {};
  let inPcrs = false;
  let bank: string | undefined;
  for (const line of stdout.split('\n')) {
    if (/^pcrs:\s*$/.test(line)) {
      inPcrs = true;
      continue;
    }
    if (!inPcrs) continue;
    if (/^\S/.test(line)) break;
    let match: RegExpExecArray | null;
    if ((match = /^ {2}(\w+):\s*$/.exec(line))) bank = match[1]!;
    else if ((match = /^\s+(\d+)\s*:\s*0x([0-9a-fA-F]+)\s*$/.exec(line)) && bank !== undefined)
      (read[bank] ??= {})[String(Number(match[1]))] = match[2]!.toLowerCase();
  }
  const pcrs: Record<string, Record<string, string>> = {};
  for (const [bankName, indexes] of selection.banks) {
    pcrs[bankName] = {};
    for (const pcr of indexes) {
      const value = read[bankName]?.[String(pcr)];
      if (value === undefined)
        throw agentError(
          'AGENT_TPM_OUTPUT_UNEXPECTED',
          'internal',
          `tpm2_quote printed no value for PCR ${bankName}:${pcr} (does the TPM have a ${bankName} bank?)`,
        );
      pcrs[bankName][String(pcr)] = value;
    }
  }
  const calcDigest = /^calcDigest:\s*([0-9a-fA-F]+)\s*$/m.exec(stdout)?.[1];
  if (calcDigest === undefined)
    throw agentError('AGENT_TPM_OUTPUT_UNEXPECTED', 'internal', 'tpm2_quote printed no calcDigest');
  return { pcrs, calcDigest: Buffer.from(calcDigest, 'hex') };
}
