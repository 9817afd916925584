import { closeSync, fchmodSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { VigilError, type CommandContext } from '../core/index.ts';
import { serialPattern } from './devices.ts';

const serialExpression = new RegExp(serialPattern);

interface DeviceView {
  id: string;
  serial: string;
  productId: string;
  hardwareRevision: string;
  status: string;
  enrollmentSecret?: string;
}

interface RegistrationResultView {
  serial: string;
  outcome: 'created' | 'existing' | 'rejected';
  id?: string;
  enrollmentSecret?: string;
  error?: { code: string; detail: string };
}

function deviceLine(device: DeviceView): string {
  return `${device.id}  ${device.serial}  ${device.status}  product ${device.productId}  rev ${device.hardwareRevision}`;
}

const chunk = 500;

interface WipeFlags {
  confirmedBy?: string;
  method?: string;
  evidence?: string;
}

/** Reads registrations from JSON (an array of API registration objects) or CSV (serial,productId,hardwareRevision). */
export function readRegistrations(path: string): Record<string, unknown>[] {
  const text = readFileSync(path, 'utf8');
  if (/^\s*[[{]/.test(text)) {
    const parsed = JSON.parse(text) as unknown;
    const list = Array.isArray(parsed) ? parsed : (parsed as { devices?: unknown }).devices;
    if (!Array.isArray(list))
      throw new VigilError('CLI_FILE_INVALID', 'invalid', `${path}: expected a JSON array of devices`);
    return list.map((item) => ({ bootstrap: { method: 'secret' }, ...(item as Record<string, unknown>) }));
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const header = lines[0]?.split(',').map((cell) => cell.trim());
  if (
    header === undefined ||
    !['serial', 'productId', 'hardwareRevision'].every((column) => header.includes(column))
  ) {
    throw new VigilError(
      'CLI_FILE_INVALID',
      'invalid',
      `${path}: the CSV header must name serial, productId and hardwareRevision`,
    );
  }
  return lines.slice(1).map((line, row) => {
    const cells = line.split(',').map((cell) => cell.trim());
    if (cells.length !== header.length)
      throw new VigilError(
        'CLI_FILE_INVALID',
        'invalid',
        `${path}: row ${row + 2} has ${cells.length} cells, expected ${header.length}`,
      );
    const record = Object.fromEntries(header.map((column, index) => [column, cells[index]]));
    return {
      serial: record.serial,
      productId: record.productId,
      hardwareRevision: record.hardwareRevision,
      bootstrap: { method: 'secret' },
    };
  });
}

export function identityCommands(context: CommandContext): Command[] {
  const ca = new Command('ca').description(
    'certificate authorities: the installation root and an issuing CA per product',
  );
  context
    .withClientOptions(ca.command('list').description('list the root and issuing CAs'))
    .action(async (_options, command: Command) => {
      const result = await context.client(command).request<{
        cas: {
          id: string;
          kind: string;
          name: string;
          status: string;
          algorithm: string;
          notAfter: string;
        }[];
      }>('GET', '/api/v1/cas');
      context.print(command, result, (value: typeof result) =>
        value.cas
          .map(
            (authority) =>
              `${authority.id}  ${authority.kind.padEnd(7)} ${authority.status.padEnd(8)} ${authority.algorithm}  ${authority.name}  until ${authority.notAfter}`,
          )
          .join('\n'),
      );
    });
  for (const [verb, path, description] of [
    ['create', 'ca', "create a product's issuing CA"],
    ['rotate', 'ca/rotate', 'introduce a new issuing CA for a product; the old one keeps validating'],
  ] as const) {
    context
      .withClientOptions(
        ca
          .command(verb)
          .description(description)
          .requiredOption('--product <id>', 'product id')
          .option('--algorithm <algorithm>', 'ecdsa-p256 (default), ecdsa-p384 or rsa-3072'),
      )
      .action(async (options: { product: string; algorithm?: string }, command: Command) => {
        const result = await context
          .client(command)
          .request<{ id: string; name: string; certificate: string }>(
            'POST',
            `/api/v1/products/${encodeURIComponent(options.product)}/${path}`,
            {
              ...(options.algorithm === undefined ? {} : { algorithm: options.algorithm }),
            },
          );
        context.print(
          command,
          result,
          (value: typeof result) => `${value.id}  ${value.name}\n${value.certificate}`,
        );
      });
  }
  context
    .withClientOptions(
      ca
        .command('profile')
        .description("show or change a product's device certificate profile")
        .requiredOption('--product <id>', 'product id')
        .option('--validity-days <days>', 'certificate lifetime')
        .option('--key-type <types...>', 'allowed key types: ecdsa-p256 ecdsa-p384 rsa-3072')
        .option('--renewal-window-days <days>', 'renew this long before expiry')
        .option('--enrollment-secret-days <days>', 'lifetime of one-time enrollment secrets'),
    )
    .action(
      async (
        options: {
          product: string;
          validityDays?: string;
          keyType?: string[];
          renewalWindowDays?: string;
          enrollmentSecretDays?: string;
        },
        command: Command,
      ) => {
        const path = `/api/v1/products/${encodeURIComponent(options.product)}/certificate-profile`;
        const changes = Object.fromEntries(
          Object.entries({
            validityDays: options.validityDays === undefined ? undefined : Number(options.validityDays),
            keyTypes: options.keyType,
            renewalWindowDays:
              options.renewalWindowDays === undefined ? undefined : Number(options.renewalWindowDays),
            enrollmentSecretDays:
              options.enrollmentSecretDays === undefined ? undefined : Number(options.enrollmentSecretDays),
          }).filter(([, value]) => value !== undefined),
        );
        const client = context.client(command);
        context.print(
          command,
          Object.keys(changes).length === 0
            ? await client.request('GET', path)
            : await client.request('PATCH', path, changes),
        );
      },
    );

  const device = new Command('device').description(
    'devices: factory registration, revocation, decommissioning, identity evidence',
  );
  context
    .withClientOptions(
      device
        .command('register')
        .description(
          'register devices from a CSV or JSON file (idempotent on re-run), or one device from flags',
        )
        .option('--file <file>', 'CSV (serial,productId,hardwareRevision) or JSON array of registrations')
        .option('--serial <serial>', 'one device: its serial')
        .option('--product <id>', 'one device: its product')
        .option('--hardware-revision <rev>', 'one device: its hardware revision')
        .option(
          '--idevid-chain <pem-file>',
          'one device: bootstrap with this manufacturer (IDevID) chain, leaf first',
        )
        .option(
          '--out <file>',
          'write serial,outcome,id,enrollmentSecret as CSV to this file (mode 0600) instead of stdout',
        ),
    )
    .action(
      async (
        options: {
          file?: string;
          serial?: string;
          product?: string;
          hardwareRevision?: string;
          idevidChain?: string;
          out?: string;
        },
        command: Command,
      ) => {
        let registrations: Record<string, unknown>[];
        if (options.file !== undefined) registrations = readRegistrations(options.file);
        else if (
          options.serial !== undefined &&
          options.product !== undefined &&
          options.hardwareRevision !== undefined
        ) {
          const chain =
            options.idevidChain === undefined
              ? undefined
              : (readFileSync(options.idevidChain, 'utf8').match(
                  /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g,
                ) ?? []);
          registrations = [
            {
              serial: options.serial,
              productId: options.product,
              hardwareRevision: options.hardwareRevision,
              bootstrap: chain === undefined ? { method: 'secret' } : { method: 'idevid', chain },
            },
          ];
        } else {
          command.error('give --file, or --serial, --product and --hardware-revision', { exitCode: 2 });
          return;
        }
        const client = context.client(command);
        const progress = context.progress('registering devices', registrations.length);
        const results: RegistrationResultView[] = [];
        // Rows the server would refuse as malformed are reported here and not sent, so one bad row
        // cannot stop a batch whose other devices (and their one-time secrets) would then be lost.
        const sendable = registrations.filter((registration) => {
          if (typeof registration.serial === 'string' && serialExpression.test(registration.serial))
            return true;
          results.push({
            serial: String(registration.serial ?? ''),
            outcome: 'rejected',
            error: { code: 'IDENTITY_SERIAL_INVALID', detail: `serial must match ${serialPattern}` },
          });
          return false;
        });
        let failure: unknown;
        try {
          for (let start = 0; start < sendable.length; start += chunk) {
            const { results: page } = await client.request<{ results: RegistrationResultView[] }>(
              'POST',
              '/api/v1/devices/bulk',
              { devices: sendable.slice(start, start + chunk) },
            );
            results.push(...page);
            progress.update(results.length, registrations.length);
          }
        } catch (error) {
          // Whatever was registered before the failure is still written out below, secrets included.
          failure = error;
        } finally {
          progress.stop();
        }
        const counts = { created: 0, existing: 0, rejected: 0 };
        for (const result of results) counts[result.outcome] += 1;
        if (options.out !== undefined) {
          const csv = [
            'serial,outcome,id,enrollmentSecret,error',
            ...results.map((r) =>
              [r.serial, r.outcome, r.id ?? '', r.enrollmentSecret ?? '', r.error?.code ?? ''].join(','),
            ),
          ].join('\n');
          // `mode` applies only when the file is created: tighten an existing file before the secrets go in.
          const out = openSync(options.out, 'w', 0o600);
          try {
            fchmodSync(out, 0o600);
            writeFileSync(out, `${csv}\n`);
          } finally {
            closeSync(out);
          }
        }
        context.print(command, options.out === undefined ? { ...counts, results } : counts, () =>
          [
            ...(options.out === undefined
              ? results.map(
                  (r) =>
                    `${r.serial},${r.outcome},${r.id ?? ''},${r.enrollmentSecret ?? ''}${r.error === undefined ? '' : `,${r.error.code}: ${r.error.detail}`}`,
                )
              : []),
            `created ${counts.created}, existing ${counts.existing}, rejected ${counts.rejected}`,
          ].join('\n'),
        );
        if (failure !== undefined) {
          const detail = failure instanceof Error ? failure.message : String(failure);
          throw new VigilError(
            failure instanceof VigilError ? failure.code : 'CLI_REGISTRATION_INCOMPLETE',
            'invalid',
            `registration stopped after ${results.length} of ${registrations.length} rows (the rows before are reported above): ${detail}`,
          );
        }
        if (counts.rejected > 0) process.exitCode = 1;
      },
    );
  context
    .withClientOptions(
      device
        .command('list')
        .description('list devices')
        .option('--product <id>', 'only this product')
        .option('--status <status>', 'registered, enrolled, revoked or decommissioned'),
    )
    .action(async (options: { product?: string; status?: string }, command: Command) => {
      const client = context.client(command);
      const devices: DeviceView[] = [];
      let cursor: string | null = null;
      // Follow the cursor: a page holds at most 1,000 devices.
      do {
        const query = new URLSearchParams({
          limit: '1000',
          ...(options.product === undefined ? {} : { productId: options.product }),
          ...(options.status === undefined ? {} : { status: options.status }),
          ...(cursor === null ? {} : { cursor }),
        });
        const page: { devices: DeviceView[]; nextCursor: string | null } = await client.request(
          'GET',
          `/api/v1/devices?${query.toString()}`,
        );
        devices.push(...page.devices);
        cursor = page.nextCursor;
      } while (cursor !== null);
      const result = { devices, nextCursor: null };
      context.print(command, result, (value: typeof result) => value.devices.map(deviceLine).join('\n'));
    });
  context
    .withClientOptions(device.command('show').description('show a device').argument('<id>', 'device id'))
    .action(async (id: string, _options, command: Command) => {
      context.print(
        command,
        await context.client(command).request<DeviceView>('GET', `/api/v1/devices/${encodeURIComponent(id)}`),
        deviceLine,
      );
    });
  context
    .withClientOptions(
      device
        .command('revoke')
        .description('revoke a device and all its certificates')
        .argument('<id>', 'device id')
        .requiredOption('--reason <reason>', 'RFC 5280 reason, e.g. keyCompromise'),
    )
    .action(async (id: string, options: { reason: string }, command: Command) => {
      context.print(
        command,
        await context
          .client(command)
          .request<DeviceView>('POST', `/api/v1/devices/${encodeURIComponent(id)}/revoke`, {
            reason: options.reason,
          }),
        deviceLine,
      );
    });
  for (const [name, description, path] of [
    [
      'quarantine',
      'quarantine a device: the device endpoint then serves it only attestation and update routes',
      'quarantine',
    ],
    ['release', 'release a device from quarantine', 'quarantine/release'],
  ] as const) {
    context
      .withClientOptions(
        device
          .command(name)
          .description(description)
          .argument('<id>', 'device id')
          .requiredOption('--reason <text>', 'why (recorded in the ledger)'),
      )
      .action(async (id: string, options: { reason: string }, command: Command) => {
        context.print(
          command,
          await context
            .client(command)
            .request<DeviceView>('POST', `/api/v1/devices/${encodeURIComponent(id)}/${path}`, {
              reason: options.reason,
            }),
          deviceLine,
        );
      });
  }
  const wipeOptions = (command: Command, required: boolean): Command => {
    const option = required ? command.requiredOption.bind(command) : command.option.bind(command);
    option('--confirmed-by <who>', 'who confirms the wipe: device or operator');
    option('--method <method>', 'how the device was wiped');
    return command.option('--evidence <text>', 'reference to the wipe evidence');
  };
  const wipeOf = (options: WipeFlags) => ({
    confirmedBy: options.confirmedBy,
    method: options.method,
    ...(options.evidence === undefined ? {} : { evidence: options.evidence }),
  });
  context
    .withClientOptions(
      wipeOptions(
        device
          .command('decommission')
          .description(
            'retire a device: revoke its certificates, record the wipe confirmation (or leave it pending)',
          )
          .argument('<id>', 'device id'),
        false,
      ),
    )
    .action(async (id: string, options: WipeFlags, command: Command) => {
      if ((options.confirmedBy === undefined) !== (options.method === undefined)) {
        command.error('give both --confirmed-by and --method, or neither (the wipe stays pending)', {
          exitCode: 2,
        });
      }
      const body = options.confirmedBy === undefined ? {} : { wipeConfirmation: wipeOf(options) };
      const path = `/api/v1/devices/${encodeURIComponent(id)}/decommission`;
      context.print(
        command,
        await context.client(command).request<DeviceView>('POST', path, body),
        deviceLine,
      );
    });
  context
    .withClientOptions(
      wipeOptions(
        device
          .command('confirm-wipe')
          .description('record the wipe confirmation of a device decommissioned while it was pending')
          .argument('<id>', 'device id'),
        true,
      ),
    )
    .action(async (id: string, options: WipeFlags, command: Command) => {
      const path = `/api/v1/devices/${encodeURIComponent(id)}/wipe-confirmation`;
      context.print(
        command,
        await context.client(command).request<DeviceView>('POST', path, wipeOf(options)),
        deviceLine,
      );
    });
  context
    .withClientOptions(
      device
        .command('identity')
        .description("the device's identity evidence, with ledger proofs")
        .argument('<id>', 'device id'),
    )
    .action(async (id: string, _options, command: Command) => {
      context.print(
        command,
        await context.client(command).request('GET', `/api/v1/devices/${encodeURIComponent(id)}/identity`),
      );
    });

  const certificate = new Command('certificate').description('device certificates');
  context
    .withClientOptions(
      certificate
        .command('revoke')
        .description('revoke one certificate')
        .argument('<serial>', 'certificate serial (hex)')
        .requiredOption('--reason <reason>', 'RFC 5280 reason'),
    )
    .action(async (serial: string, options: { reason: string }, command: Command) => {
      context.print(
        command,
        await context
          .client(command)
          .request('POST', `/api/v1/certificates/${encodeURIComponent(serial)}/revoke`, {
            reason: options.reason,
          }),
      );
    });

  const identity = new Command('identity').description('identity watch');
  context
    .withClientOptions(
      identity
        .command('expiring')
        .description('device certificates expiring soon')
        .option('--within <period>', 'e.g. 30d, 12h', '30d'),
    )
    .action(async (options: { within: string }, command: Command) => {
      const result = await context.client(command).request<{
        certificates: { deviceSerial: string; serial: string; notAfter: string; renewFrom: string }[];
      }>('GET', `/api/v1/identity/expiring?within=${encodeURIComponent(options.within)}`);
      context.print(
        command,
        result,
        (value: typeof result) =>
          value.certificates
            .map(
              (entry) =>
                `${entry.deviceSerial}  ${entry.serial}  expires ${entry.notAfter}  renew from ${entry.renewFrom}`,
            )
            .join('\n') || 'nothing expiring',
      );
    });
  return [ca, device, certificate, identity];
}
