import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { VigilError, readArgumentJson, type CommandContext } from '../core/index.ts';
import type { ReferenceValues } from './appraisal.ts';

interface RecordView {
  id: string;
  status: string;
  secureBoot: string;
  measuredRelease: string | null;
  receivedAt: string;
  format: string;
}

function recordLine(record: RecordView): string {
  return `${record.id}  ${record.receivedAt}  ${record.status}  secure boot ${record.secureBoot}  release ${record.measuredRelease ?? '-'}  (${record.format})`;
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** `vigil attestation ...`: reference values, policies, keys, history and re-appraisal. */
export function attestationCommands(context: CommandContext): Command[] {
  const attestation = new Command('attestation').description(
    'attestation: reference values, appraisal policies, attestation keys, results (EAR) and re-appraisal',
  );

  const refvalues = attestation
    .command('refvalues')
    .description('reference values per product, hardware revision and release');
  context
    .withClientOptions(
      refvalues
        .command('import')
        .description(
          'add reference values: derived from a known-good event log (as a release pipeline would) or read from a JSON file',
        )
        .requiredOption('--product <id>', 'product id')
        .requiredOption('--hardware-revision <rev>', 'hardware revision')
        .option('--release <version>', 'the release these values belong to')
        .option('--from-event-log <file>', 'a known-good binary_bios_measurements')
        .option(
          '--file <json>',
          'reference values as JSON ({"components": [...], "secureBootRequired": true, ...})',
        )
        .option('--security-version <n>', "the release's security version", wholeNumber)
        .option('--minimum-security-version <n>', 'refuse devices below this security version', wholeNumber),
    )
    .action(
      async (
        options: {
          product: string;
          hardwareRevision: string;
          release?: string;
          fromEventLog?: string;
          file?: string;
          securityVersion?: number;
          minimumSecurityVersion?: number;
        },
        command: Command,
      ) => {
        if ((options.fromEventLog === undefined) === (options.file === undefined))
          throw new VigilError('CLI_USAGE', 'invalid', 'give exactly one of --from-event-log and --file');
        let values: ReferenceValues;
        if (options.fromEventLog !== undefined) {
          let bytes: Buffer;
          try {
            bytes = readFileSync(options.fromEventLog);
          } catch (error) {
            throw new VigilError(
              'CLI_FILE_INVALID',
              'invalid',
              `${options.fromEventLog}: ${(error as Error).message}`,
            );
          }
          const { referenceValuesFromEventLog } = await import('./tpm/index.ts');
          values = referenceValuesFromEventLog(bytes, {
            securityVersion: options.securityVersion,
            minimumSecurityVersion: options.minimumSecurityVersion,
          });
        } else {
          values = readArgumentJson(options.file!) as ReferenceValues;
          if (options.securityVersion !== undefined) values.securityVersion = options.securityVersion;
          if (options.minimumSecurityVersion !== undefined)
            values.minimumSecurityVersion = options.minimumSecurityVersion;
        }
        const stored = await context.client(command).request<{
          id: string;
          version: number;
          values: ReferenceValues;
        }>('POST', '/api/v1/attestation/reference-values', {
          productId: options.product,
          hardwareRevision: options.hardwareRevision,
          ...(options.release === undefined ? {} : { release: options.release }),
          source: options.fromEventLog === undefined ? 'upload' : 'event-log',
          values,
        });
        context.print(
          command,
          stored,
          (value: typeof stored) =>
            `reference values ${value.id} version ${value.version}: ${value.values.components.length} components, Secure Boot ${value.values.secureBootRequired ? 'required' : 'not required'}`,
        );
      },
    );
  context
    .withClientOptions(
      refvalues
        .command('list')
        .description('list reference values of a product, every version, newest first')
        .requiredOption('--product <id>', 'product id')
        .option('--hardware-revision <rev>', 'only this hardware revision'),
    )
    .action(async (options: { product: string; hardwareRevision?: string }, command: Command) => {
      const query = new URLSearchParams({ productId: options.product });
      if (options.hardwareRevision !== undefined) query.set('hardwareRevision', options.hardwareRevision);
      const result = await context.client(command).request<{
        referenceValues: {
          id: string;
          hardwareRevision: string;
          release: string | null;
          version: number;
          values: ReferenceValues;
        }[];
      }>('GET', `/api/v1/attestation/reference-values?${query.toString()}`);
      context.print(
        command,
        result,
        (value: typeof result) =>
          value.referenceValues
            .map(
              (set) =>
                `${set.id}  rev ${set.hardwareRevision}  release ${set.release ?? '-'}  v${set.version}  ${set.values.components.length} components`,
            )
            .join('\n') || 'no reference values',
      );
    });

  const policy = attestation.command('policy').description('appraisal policies per product (versioned)');
  context
    .withClientOptions(
      policy
        .command('set')
        .description("set a product's appraisal policy from a JSON file (a new version)")
        .requiredOption('--product <id>', 'product id')
        .requiredOption('--file <json>', 'the policy as JSON'),
    )
    .action(async (options: { product: string; file: string }, command: Command) => {
      const stored = await context
        .client(command)
        .request<{ id: string; version: number }>('POST', '/api/v1/attestation/policies', {
          productId: options.product,
          policy: readArgumentJson(options.file),
        });
      context.print(
        command,
        stored,
        (value: typeof stored) => `policy ${value.id} (version ${value.version}) in force`,
      );
    });
  context
    .withClientOptions(
      policy
        .command('show')
        .description("show a product's appraisal policy versions, the one in force first")
        .requiredOption('--product <id>', 'product id'),
    )
    .action(async (options: { product: string }, command: Command) => {
      context.print(
        command,
        await context
          .client(command)
          .request('GET', `/api/v1/attestation/policies?productId=${encodeURIComponent(options.product)}`),
      );
    });

  const key = attestation.command('key').description("a device's attestation keys (TPM AKs, DICE DeviceIDs)");
  context
    .withClientOptions(
      key
        .command('register')
        .description('register an attestation key at the factory')
        .argument('<device>', 'device id')
        .option('--ak-public <file>', 'TPM AK public area (TPM2B_PUBLIC, as tpm2_createak -u writes it)')
        .option('--dice-device-id <pem>', 'DICE DeviceID certificate (PEM)'),
    )
    .action(
      async (device: string, options: { akPublic?: string; diceDeviceId?: string }, command: Command) => {
        if ((options.akPublic === undefined) === (options.diceDeviceId === undefined))
          throw new VigilError(
            'CLI_USAGE',
            'invalid',
            'give exactly one of --ak-public and --dice-device-id',
          );
        let body: Record<string, string>;
        try {
          body =
            options.akPublic !== undefined
              ? { kind: 'tpm2', akPublic: readFileSync(options.akPublic).toString('base64') }
              : { kind: 'dice', deviceIdCertificate: readFileSync(options.diceDeviceId!, 'utf8') };
        } catch (error) {
          throw new VigilError('CLI_FILE_INVALID', 'invalid', (error as Error).message);
        }
        context.print(
          command,
          await context
            .client(command)
            .request('POST', `/api/v1/devices/${encodeURIComponent(device)}/attestation-keys`, body),
        );
      },
    );
  context
    .withClientOptions(
      key.command('list').description("list a device's attestation keys").argument('<device>', 'device id'),
    )
    .action(async (device: string, _options: unknown, command: Command) => {
      context.print(
        command,
        await context
          .client(command)
          .request('GET', `/api/v1/devices/${encodeURIComponent(device)}/attestation-keys`),
      );
    });

  context
    .withClientOptions(
      attestation
        .command('list')
        .description("a device's attestation history, newest first")
        .argument('<device>', 'device id')
        .option('--limit <n>', 'at most this many', wholeNumber),
    )
    .action(async (device: string, options: { limit?: number }, command: Command) => {
      const query = options.limit === undefined ? '' : `?limit=${options.limit}`;
      const result = await context
        .client(command)
        .request<{ attestations: RecordView[] }>(
          'GET',
          `/api/v1/devices/${encodeURIComponent(device)}/attestations${query}`,
        );
      context.print(
        command,
        result,
        (value: typeof result) => value.attestations.map(recordLine).join('\n') || 'no attestations',
      );
    });
  context
    .withClientOptions(
      attestation
        .command('show')
        .description('one attestation record, with its raw evidence')
        .argument('<id>', 'attestation id'),
    )
    .action(async (id: string, _options: unknown, command: Command) => {
      context.print(
        command,
        await context.client(command).request('GET', `/api/v1/attestations/${encodeURIComponent(id)}`),
      );
    });
  context
    .withClientOptions(
      attestation
        .command('reappraise')
        .description(
          'appraise an archived record again at its own time; exits 1 unless the result is the same and the record intact',
        )
        .argument('<id>', 'attestation id'),
    )
    .action(async (id: string, _options: unknown, command: Command) => {
      const result = await context.client(command).request<{
        matches: boolean;
        recordIntact: boolean;
        recorded: { status: string };
        reappraised: { status: string };
      }>('POST', `/api/v1/attestations/${encodeURIComponent(id)}/reappraise`);
      context.print(
        command,
        result,
        (value: typeof result) =>
          `${value.matches ? 'same result' : 'DIFFERENT result'}: recorded ${value.recorded.status}, re-appraised ${value.reappraised.status}; record ${value.recordIntact ? 'intact' : 'ALTERED (its ledger digest or EAR signature does not match)'}`,
      );
      if (!result.matches || !result.recordIntact) process.exitCode = 1;
    });
  context
    .withClientOptions(attestation.command('ear-keys').description('the JWK Set that verifies EARs'))
    .action(async (_options: unknown, command: Command) => {
      context.print(command, await context.client(command).request('GET', '/api/v1/attestation/ear-keys'));
    });

  return [attestation];
}
