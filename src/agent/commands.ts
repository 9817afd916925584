import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { isVigilError, type CommandContext } from '../core/index.ts';
// attest, update and the simulator (TUF client, EST, DICE) load when their command runs.
import type { AttesterChoice } from './attest.ts';
import type { SimulatedStatus, SimulationSummary } from './simulate.ts';
import { defaultConcurrency, defaultMaxRounds } from './simulation-defaults.ts';
import {
  defaultAkHandle,
  defaultEventLogPath,
  defaultPcrSelection,
  handleHex,
  parsePcrSelection,
  parsePersistentHandle,
  type PcrSelection,
} from './tpm-attester.ts';
import type { UpdateAttester, UpdateOutcome } from './update.ts';
import type { AttestationRecord } from './wire.ts';

export const defaultStateDir = '/var/lib/vigil-agent';

function httpsUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a URL such as https://vigil.example:8443');
  }
  if (url.protocol !== 'https:')
    throw new InvalidArgumentError('the device endpoint is HTTPS with a client certificate: use https://');
  return url;
}

/** `--server`: the device endpoint (https), from the flag or VIGIL_DEVICE_URL. */
function serverOption(): Option {
  return new Option('--server <url>', 'the device endpoint, https://')
    .env('VIGIL_DEVICE_URL')
    .argParser(httpsUrl)
    .makeOptionMandatory();
}

function pcrSelection(value: string): PcrSelection {
  try {
    return parsePcrSelection(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function persistentHandle(value: string): number {
  try {
    return parsePersistentHandle(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function wholeNumber(minimum: number, maximum: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < minimum || number > maximum)
      throw new InvalidArgumentError(`expected a whole number from ${minimum} to ${maximum}`);
    return number;
  };
}

function percentage(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !(number >= 0 && number <= 100))
    throw new InvalidArgumentError('expected a percentage from 0 to 100');
  return number;
}

function describe(record: AttestationRecord): string {
  const lines = [
    `attestation ${record.id}: ${record.status}`,
    `secure boot ${record.secureBoot}, release ${record.measuredRelease ?? '-'}` +
      (record.rebooted === null
        ? ''
        : `, ${record.rebooted ? 'rebooted since the last attestation' : 'no reboot'}`),
  ];
  for (const finding of record.findings)
    if (finding.outcome !== 'pass') lines.push(`  ${finding.outcome}: ${finding.check}: ${finding.detail}`);
  return lines.join('\n');
}

interface AttestFlags {
  server: URL;
  ca: string;
  cert: string;
  key: string;
  tpm?: string;
  eventLog: string;
  state: string;
  pcrs: PcrSelection;
  akHandle: number;
  diceChain?: string;
  diceKey?: string;
}

/** `vigil agent ...`: the device side, talking to the device endpoint only over the wire. */
export function agentCommands(context: CommandContext): Command[] {
  const agent = new Command('agent').description(
    'the device side: attest and update this device against a Vigil server (runs on the device)',
  );
  agent
    .command('attest')
    .description(
      'attest this device: fetch a nonce, bind the attestation key on first use, send evidence ' +
        '(a TPM quote and event log, or a DICE chain) and print the appraisal; exits 0 only when it is affirming',
    )
    .addOption(serverOption())
    .requiredOption('--ca <pem>', "CA certificates (PEM) the server's TLS certificate chains to")
    .requiredOption('--cert <pem>', "this device's certificate (PEM), from EST enrollment")
    .requiredOption('--key <pem>', 'the private key of the device certificate (PEM)')
    .addOption(
      new Option(
        '--tpm <tcti>',
        'attest with a TPM 2.0 through tpm2-tools, at this TCTI (TPM2TOOLS_TCTI), e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321',
      ).conflicts(['diceChain', 'diceKey']),
    )
    .option('--event-log <file>', 'TPM: the firmware event log', defaultEventLogPath)
    .option(
      '--state <dir>',
      'TPM: where the agent remembers its attestation key (the key itself stays in the TPM) and the last accepted event log',
      defaultStateDir,
    )
    .addOption(
      new Option('--pcrs <selection>', 'TPM: the PCRs to quote, in tpm2-tools syntax (bank:pcr,pcr+bank:...)')
        .argParser(pcrSelection)
        .default(parsePcrSelection(defaultPcrSelection), defaultPcrSelection),
    )
    .addOption(
      new Option('--ak-handle <handle>', 'TPM: the persistent handle the attestation key is kept at')
        .argParser(persistentHandle)
        .default(defaultAkHandle, handleHex(defaultAkHandle)),
    )
    .option('--dice-chain <pem>', 'attest with DICE (software attester): the chain, Alias certificate first')
    .option('--dice-key <pem>', "DICE: the Alias certificate's private key (ECDSA P-256, PEM)")
    .option(
      '--json',
      'print the attestation record as JSON (accepted for compatibility: the agent always does, for its supervisor)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Give either --tpm (with tpm2-tools installed) or --dice-chain and --dice-key.',
        'On its first run with a TPM the agent makes an attestation key (AK), keeps it in the TPM at',
        '--ak-handle (tpm2_evictcontrol) and binds it to this device by credential activation, sending',
        "the TPM's EK certificate (NV 0x01c00002) when it has one; later runs reuse it. The state",
        'directory also remembers the event log the server last accepted: while the log is unchanged',
        'it is named by its SHA-256 instead of sent again. With a simulator socket TCTI (swtpm:,',
        'mssim:) transient objects are flushed after every command, as there is no resource manager.',
        '',
        'The appraisal is printed as JSON on stdout (with or without --json), a summary on stderr.',
        '',
        'Exit status: 0 when the appraisal is affirming, 1 otherwise (warning, contraindicated, none,',
        "or a refusal: the server's code and detail are printed), 2 on a usage error.",
        '',
        'Example:',
        '  vigil agent attest --server https://vigil.example:8443 --ca ca.pem --cert device.pem \\',
        '    --key device.key --tpm device:/dev/tpmrm0 --json',
      ].join('\n'),
    )
    .action(async (flags: AttestFlags, command: Command) => {
      const usage = (message: string): never =>
        command.error(`error: ${message}`, { exitCode: 2, code: 'vigil.usage' });
      const dice = flags.diceChain !== undefined || flags.diceKey !== undefined;
      if (flags.tpm === undefined && !dice) usage('give --tpm <tcti>, or --dice-chain and --dice-key');
      if (dice && (flags.diceChain === undefined || flags.diceKey === undefined))
        usage('--dice-chain and --dice-key go together');
      const attester: AttesterChoice =
        flags.tpm !== undefined
          ? {
              kind: 'tpm',
              tcti: flags.tpm,
              eventLog: flags.eventLog,
              stateDir: flags.state,
              pcrs: flags.pcrs,
              akHandle: flags.akHandle,
            }
          : { kind: 'dice', chainFile: flags.diceChain!, keyFile: flags.diceKey! };
      const { attest } = await import('./attest.ts');
      const record = await attest({
        tls: { server: flags.server, ca: flags.ca, cert: flags.cert, key: flags.key },
        attester,
        note: (line) => process.stderr.write(`vigil agent: ${line}\n`),
      });
      // The result as JSON on stdout (with `status`), for whatever supervises the device; a summary on stderr.
      process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
      process.stderr.write(`vigil agent: ${describe(record)}\n`);
      process.exitCode = record.status === 'affirming' ? 0 : 1;
    });
  agent.addCommand(updateCommand());
  return [agent, simulateCommand(context)];
}

interface UpdateFlags {
  server: URL;
  ca: string;
  cert: string;
  key: string;
  stateDir: string;
  tufRoot?: string;
  hardwareRevision?: string;
  healthCheck?: string;
  healthCheckTimeout: number;
  postpone?: number;
  postponeReason?: string;
  initialVersion?: string;
  initialSecurityVersion: number;
  diceChain?: string;
  diceKey?: string;
  tpm?: string;
  eventLog: string;
  pcrs: PcrSelection;
  akHandle: number;
  json?: boolean;
}

function describeUpdate(outcome: UpdateOutcome): string {
  const lines = [
    `${outcome.status}: running ${outcome.version} from slot ${outcome.activeSlot} (security version ${outcome.securityVersion})`,
  ];
  if (outcome.update !== null)
    lines.push(`  update ${outcome.update.version} of rollout ${outcome.update.rolloutId}`);
  if (outcome.reported.length > 0) lines.push(`  reported: ${outcome.reported.join(', ')}`);
  if (outcome.reason !== null) lines.push(`  ${outcome.reason}`);
  if (outcome.attestation !== null)
    lines.push(
      `  attestation ${outcome.attestation.id}: ${outcome.attestation.status}, release ${outcome.attestation.measuredRelease ?? '-'}`,
    );
  if (outcome.attestationError !== null)
    lines.push(
      `  attestation refused: ${outcome.attestationError.message} (${outcome.attestationError.code})`,
    );
  return lines.join('\n');
}

/** With --json, a typed failure is JSON on stdout too (exit 1); without, it goes to the CLI's handler. */
async function printingFailures(json: boolean | undefined, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (json !== true || !isVigilError(error)) throw error;
    process.stdout.write(
      `${JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2)}\n`,
    );
    process.stderr.write(`vigil: ${error.message} (${error.code})\n`);
    process.exitCode = 1;
  }
}

function updateCommand(): Command {
  return new Command('update')
    .description(
      'update this device: check in, verify and download the offered release with TUF (tuf-js), install it ' +
        'into the inactive A/B slot, health-check it, switch slots, report each step, attest and check in again',
    )
    .addOption(serverOption())
    .requiredOption('--ca <pem>', "CA certificates (PEM) the server's TLS certificate chains to")
    .requiredOption('--cert <pem>', "this device's certificate (PEM), from EST enrollment")
    .requiredOption('--key <pem>', 'the private key of the device certificate (PEM)')
    .option(
      '--state-dir <dir>',
      'where the agent keeps the A/B slots (slots/a, slots/b), slot-state.json, the TUF metadata (tuf/<product>/) and attester state',
      defaultStateDir,
    )
    .option(
      '--tuf-root <file>',
      "the product's TUF root pinned at provisioning (1.root.json); copied into the state directory on first use",
    )
    .option(
      '--hardware-revision <rev>',
      "this device's hardware revision (default: as the server knows it, GET /device/v1/whoami)",
    )
    .option(
      '--health-check <command>',
      'a command (run with /bin/sh -c) that must exit 0 before the new slot becomes active; it gets VIGIL_SLOT_DIR, VIGIL_SLOT, VIGIL_VERSION and VIGIL_IMAGE',
    )
    .addOption(
      new Option('--health-check-timeout <seconds>', 'how long the health-check command may run')
        .argParser(wholeNumber(1, 86_400))
        .default(120),
    )
    .addOption(
      new Option(
        '--postpone <hours>',
        'defer an offered update by this many hours (the user may, up to the product limit; recorded)',
      ).argParser(wholeNumber(1, 168)),
    )
    .option('--postpone-reason <text>', 'why the update is postponed (recorded)')
    .option(
      '--initial-version <version>',
      'on the first run only (no slot state yet): the version the device runs now',
    )
    .addOption(
      new Option('--initial-security-version <n>', 'on the first run only: the security version it runs now')
        .argParser(wholeNumber(0, Number.MAX_SAFE_INTEGER))
        .default(0),
    )
    .addOption(
      new Option(
        '--dice-chain <pem>',
        'software DICE: the DeviceID certificate (PEM; the certificates above it may follow). The agent derives the Alias key and certificate for the installed firmware (FWID = its SHA-256) and attests with them',
      ).conflicts(['tpm']),
    )
    .option('--dice-key <pem>', "software DICE: the DeviceID's private key (ECDSA P-256, PEM)")
    .option('--tpm <tcti>', 'attest with a TPM 2.0 through tpm2-tools at this TCTI after installing')
    .option('--event-log <file>', 'TPM: the firmware event log', defaultEventLogPath)
    .addOption(
      new Option('--pcrs <selection>', 'TPM: the PCRs to quote')
        .argParser(pcrSelection)
        .default(parsePcrSelection(defaultPcrSelection), defaultPcrSelection),
    )
    .addOption(
      new Option('--ak-handle <handle>', 'TPM: the persistent handle of the attestation key')
        .argParser(persistentHandle)
        .default(defaultAkHandle, handleHex(defaultAkHandle)),
    )
    .option('--json', 'print the result as JSON (typed errors too)')
    .addHelpText(
      'after',
      [
        '',
        'TUF: metadata and downloads live in <state-dir>/tuf/<product-id>/. The first run needs the root',
        'pinned at provisioning (--tuf-root); without it, and without a stored root, the agent refuses',
        '(AGENT_TUF_ROOT_MISSING): it never trusts a root on first use. tuf-js verifies everything else.',
        '',
        'The release must fit the device (its signed custom fields: hardwareRevisions, and a security version',
        "no lower than the one the device runs) or the update is reported failed. Outside the site's",
        'maintenance window the download is kept and the agent waits (status "waiting", exit 0). The new',
        "slot becomes active only after its health check: every file's SHA-256 against the TUF target,",
        'then --health-check. After installing it attests (--dice-chain/--dice-key or --tpm) and checks in:',
        'the server validates the update once an attestation measured the new release.',
        '',
        'Result (stdout; JSON with --json): status up-to-date | validated | installed | waiting | failed.',
        'Exit status: 0 unless the update failed or an error stopped it (1); 2 on a usage error.',
        '',
        'Example:',
        '  vigil agent update --server https://vigil.example:8443 --ca ca.pem --cert device.pem \\',
        '    --key device.key --state-dir /var/lib/vigil-agent --tuf-root 1.root.json \\',
        '    --dice-chain device-id.pem --dice-key device-id.key --json',
      ].join('\n'),
    )
    .action(async (flags: UpdateFlags, command: Command) => {
      const usage = (message: string): never =>
        command.error(`error: ${message}`, { exitCode: 2, code: 'vigil.usage' });
      const dice = flags.diceChain !== undefined || flags.diceKey !== undefined;
      if (dice && (flags.diceChain === undefined || flags.diceKey === undefined))
        usage('--dice-chain and --dice-key go together');
      if (dice && flags.tpm !== undefined) usage('give --tpm or --dice-chain and --dice-key, not both');
      const attester: UpdateAttester | undefined =
        flags.tpm !== undefined
          ? {
              kind: 'tpm',
              tcti: flags.tpm,
              eventLog: flags.eventLog,
              pcrs: flags.pcrs,
              akHandle: flags.akHandle,
            }
          : dice
            ? { kind: 'software-dice', deviceIdChainFile: flags.diceChain!, deviceIdKeyFile: flags.diceKey! }
            : undefined;
      await printingFailures(flags.json, async () => {
        const { updateDevice } = await import('./update.ts');
        const outcome = await updateDevice({
          tls: { server: flags.server, ca: flags.ca, cert: flags.cert, key: flags.key },
          stateDir: flags.stateDir,
          tufRoot: flags.tufRoot,
          hardwareRevision: flags.hardwareRevision,
          initialVersion:
            flags.initialVersion === undefined
              ? undefined
              : { version: flags.initialVersion, securityVersion: flags.initialSecurityVersion },
          healthCheck: { command: flags.healthCheck, timeoutMs: flags.healthCheckTimeout * 1000 },
          postpone:
            flags.postpone === undefined
              ? undefined
              : { hours: flags.postpone, reason: flags.postponeReason },
          attester,
          note: (line) => process.stderr.write(`vigil agent: ${line}\n`),
        });
        process.stdout.write(
          flags.json === true ? `${JSON.stringify(outcome, null, 2)}\n` : `${describeUpdate(outcome)}\n`,
        );
        process.exitCode = outcome.status === 'failed' ? 1 : 0;
      });
    });
}

interface SimulateFlags {
  devices: number;
  admin?: string;
  server: URL;
  ca: string;
  product: string;
  hardwareRevision: string;
  failShare: number;
  rounds?: number;
  concurrency: number;
  workDir?: string;
  tufRoot?: string;
  json?: boolean;
}

const statusOrder: SimulatedStatus[] = [
  'validated',
  'up-to-date',
  'installed',
  'waiting',
  'failed',
  'error',
  'provisioned',
];

function describeSimulation(summary: SimulationSummary): string {
  const counts = statusOrder
    .filter((status) => summary.counts[status] > 0)
    .map((status) => `${status} ${summary.counts[status]}`)
    .join(', ');
  const lines = [
    `${summary.devices} simulated devices of product ${summary.productId} (${summary.provisioned} new), ${summary.rounds} round(s): ${counts || 'nothing ran'}`,
    `work directory: ${summary.workDir}`,
  ];
  const errors = new Map<string, number>();
  for (const result of summary.results)
    if (result.status === 'error' && result.error !== null)
      errors.set(result.error.code, (errors.get(result.error.code) ?? 0) + 1);
  for (const [code, count] of errors) lines.push(`  ${count} device(s) stopped with ${code}`);
  return lines.join('\n');
}

/** `vigil simulate`: a fleet of simulated devices (factory, enrollment, update rounds) against a server. */
function simulateCommand(context: CommandContext): Command {
  return new Command('simulate')
    .description(
      'simulate a fleet: register devices at the factory (admin API), enroll them over EST with DICE identities, ' +
        'then run rounds of the device update cycle (check-in, TUF, A/B install, attestation) in this process',
    )
    .requiredOption('--devices <n>', 'how many devices the fleet has', wholeNumber(0, 100_000))
    .addOption(new Option('--admin <url>', 'Vigil admin API').env('VIGIL_URL'))
    .addOption(new Option('--token-file <file>', 'file holding the API token (default: $VIGIL_TOKEN)'))
    .addOption(serverOption())
    .requiredOption('--ca <pem>', "CA certificates (PEM) the device endpoint's TLS certificate chains to")
    .requiredOption('--product <id>', 'the product the devices are of')
    .requiredOption('--hardware-revision <rev>', 'the hardware revision of new devices')
    .addOption(
      new Option(
        '--fail-share <percent>',
        'share of the devices (chosen by the hash of their serial) whose health check fails',
      )
        .argParser(percentage)
        .default(0),
    )
    .addOption(
      new Option(
        '--rounds <k>',
        `at most this many update rounds (0: provision only; default: until the fleet settles, at most ${defaultMaxRounds})`,
      ).argParser(wholeNumber(0, 1000)),
    )
    .addOption(
      new Option('--concurrency <c>', 'devices working at once')
        .argParser(wholeNumber(1, 256))
        .default(defaultConcurrency),
    )
    .option(
      '--work-dir <dir>',
      "where the devices' files live (default: a new temporary directory, kept); reuse it to continue a fleet",
    )
    .option(
      '--tuf-root <file>',
      "the product's first TUF root to pin (default: the simulated factory fetches 1.root.json)",
    )
    .option('--json', 'print the summary as JSON (typed errors too)')
    .addHelpText(
      'after',
      [
        '',
        'Every round, each device that is not yet validated or failed runs the update cycle of',
        '`vigil agent update` once. Rounds stop when a round changes nothing more and no device still',
        'awaits validation or retries an error, or at the round limit. Devices are kept in',
        '<work-dir>/fleet.json and <work-dir>/devices/<serial>/ (a state directory `vigil agent update`',
        'can use too): provision with --rounds 0, start a rollout, then run again with the same --work-dir.',
        '',
        'Summary on stdout (counts per final status; JSON with --json), progress on stderr.',
        'Exit status: 0 when every device ended in a status (failures included), 1 when one stopped',
        'with an error, 2 on a usage error.',
      ].join('\n'),
    )
    .action(async (flags: SimulateFlags, command: Command) => {
      if (flags.admin !== undefined) command.setOptionValue('url', flags.admin);
      await printingFailures(flags.json, async () => {
        const workDir = flags.workDir ?? mkdtempSync(join(tmpdir(), 'vigil-simulate-'));
        const { runSimulation } = await import('./simulate.ts');
        const summary = await runSimulation({
          admin: context.client(command),
          server: flags.server,
          caFile: flags.ca,
          productId: flags.product,
          hardwareRevision: flags.hardwareRevision,
          devices: flags.devices,
          failShare: flags.failShare,
          rounds: flags.rounds,
          concurrency: flags.concurrency,
          workDir,
          tufRoot: flags.tufRoot,
          progress: (label, total) => context.progress(label, total),
          note: (line) => process.stderr.write(`vigil simulate: ${line}\n`),
        });
        process.stdout.write(
          flags.json === true ? `${JSON.stringify(summary, null, 2)}\n` : `${describeSimulation(summary)}\n`,
        );
        process.exitCode = summary.counts.error > 0 ? 1 : 0;
      });
    });
}
