import { Command, InvalidArgumentError, Option } from 'commander';
import type { CommandContext } from '../core/index.ts';
import { attest, type AttesterChoice } from './attest.ts';
import {
  defaultAkHandle,
  defaultEventLogPath,
  defaultPcrSelection,
  handleHex,
  parsePcrSelection,
  parsePersistentHandle,
  type PcrSelection,
} from './tpm-attester.ts';
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
export function agentCommands(_context: CommandContext): Command[] {
  const agent = new Command('agent').description(
    'the device side: attest this device to a Vigil server (runs on the device)',
  );
  agent
    .command('attest')
    .description(
      'attest this device: fetch a nonce, bind the attestation key on first use, send evidence ' +
        '(a TPM quote and event log, or a DICE chain) and print the appraisal; exits 0 only when it is affirming',
    )
    .addOption(
      new Option('--server <url>', 'the device endpoint, https://')
        .env('VIGIL_DEVICE_URL')
        .argParser(httpsUrl)
        .makeOptionMandatory(),
    )
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
  return [agent];
}
