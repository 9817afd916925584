import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { VigilError, readArgumentJson, type CommandContext } from '../core/index.ts';
import type { Release } from './releases.ts';
import type { RepositoryStatus } from './repository.ts';
import type { Rollout } from './rollouts.ts';
import type { WaveSpec } from './waves.ts';

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

function releaseLine(release: Release): string {
  const artifacts = release.artifacts
    .map((artifact) => `${artifact.name} (${artifact.length} bytes)`)
    .join(', ');
  return [
    `${release.id}  ${release.version}  ${release.status}  security version ${release.securityVersion}${release.securityUpdate ? ' (security update)' : ''}`,
    `  hardware revisions: ${release.hardwareRevisions.join(', ')}`,
    `  artifacts: ${artifacts || '-'}`,
    `  SBOM: ${release.sbom?.digest ?? '-'}`,
    `  approvals: ${release.approvals.length}${release.targetsVersion === null ? '' : `, in targets version ${release.targetsVersion}`}`,
  ].join('\n');
}

function repositoryLines(status: RepositoryStatus): string {
  return Object.entries(status.roles)
    .map(
      ([role, state]) =>
        `${role.padEnd(9)} v${state.version}  expires ${state.expires}  ${state.threshold} of ${state.keys.length}: ${state.keys.map((key) => key.keyid.slice(0, 16)).join(', ')}`,
    )
    .join('\n');
}

function rolloutLines(rollout: Rollout): string {
  const waves = rollout.waves.map((wave) => {
    const states = Object.entries(wave.states)
      .map(([state, count]) => `${state} ${count}`)
      .join(', ');
    const marker = wave.index === rollout.currentWave && rollout.status !== 'completed' ? '>' : ' ';
    return `${marker} wave ${wave.index + 1}${wave.spec.name === undefined ? '' : ` (${wave.spec.name})`}: ${wave.devices} devices${states === '' ? '' : `: ${states}`}`;
  });
  return [
    `${rollout.id}  ${rollout.version}  ${rollout.status}${rollout.pauseReason === null ? '' : ` (${rollout.pauseReason})`}`,
    ...waves,
  ].join('\n');
}

function percentages(value: string): number[] {
  const shares = value.split(',').map((part) => Number(part.trim()));
  if (shares.some((share) => !(share > 0 && share <= 100))) {
    throw new InvalidArgumentError('expected cumulative percentages such as 1,10,50,100');
  }
  return shares;
}

/** SHA-256 and SHA-512 of a file, read as a stream (artifacts may be large). */
async function digestsOf(path: string): Promise<{ sha256: string; sha512: string }> {
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  for await (const chunk of createReadStream(path)) {
    sha256.update(chunk as Buffer);
    sha512.update(chunk as Buffer);
  }
  return { sha256: sha256.digest('hex'), sha512: sha512.digest('hex') };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    throw new VigilError('CLI_FILE_INVALID', 'invalid', `${path}: ${(error as Error).message}`);
  }
}

/** How much of an SBOM file is read to tell CycloneDX from SPDX (their markers sit near the top). */
const sbomHeadBytes = 64 * 1024;

/**
 * An SBOM file to upload as a stream (it may be tens of megabytes), with its media type told from
 * the head of its content: CycloneDX or SPDX JSON, else plain JSON for the server to read.
 */
function sbomUpload(path: string): { body: AsyncIterable<Uint8Array>; mediaType: string } {
  let head: string;
  try {
    const descriptor = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(sbomHeadBytes);
      head = buffer.subarray(0, readSync(descriptor, buffer, 0, sbomHeadBytes, 0)).toString('utf8');
    } finally {
      closeSync(descriptor);
    }
  } catch (error) {
    throw new VigilError('CLI_FILE_INVALID', 'invalid', `${path}: ${(error as Error).message}`);
  }
  const mediaType = /"bomFormat"\s*:\s*"CycloneDX"/.test(head)
    ? 'application/vnd.cyclonedx+json'
    : /"spdxVersion"\s*:/.test(head)
      ? 'application/spdx+json'
      : 'application/json';
  return { body: createReadStream(path), mediaType };
}

/** `vigil release ...` and `vigil tuf ...`: releases, their artifacts and approval, and the TUF repositories. */
export function updatesCommands(context: CommandContext): Command[] {
  const release = new Command('release').description('releases: create, upload artifacts, approve, publish');

  context
    .withClientOptions(
      release
        .command('create')
        .description('create a draft release and upload its artifacts (and SBOM)')
        .requiredOption('--product <id>', 'product id')
        .requiredOption('--version <version>', 'release version')
        .requiredOption(
          '--security-version <n>',
          'security version (monotonic anti-rollback counter)',
          wholeNumber,
        )
        .requiredOption('--hardware-revision <rev...>', 'hardware revisions it fits')
        .requiredOption('--artifact <file...>', 'artifact files')
        .option('--security-update', 'the release fixes vulnerabilities')
        .option('--sbom <file>', 'the SBOM (CycloneDX or SPDX JSON)')
        .option('--notes <text>', 'release notes'),
    )
    .action(
      async (
        options: {
          product: string;
          version: string;
          securityVersion: number;
          hardwareRevision: string[];
          artifact: string[];
          securityUpdate?: boolean;
          sbom?: string;
          notes?: string;
        },
        command: Command,
      ) => {
        const sizes = options.artifact.map(fileSize);
        const sbom = options.sbom === undefined ? undefined : sbomUpload(options.sbom);
        const client = context.client(command);
        let created = await client.request<Release>('POST', '/api/v1/releases', {
          productId: options.product,
          version: options.version,
          securityVersion: options.securityVersion,
          hardwareRevisions: options.hardwareRevision,
          securityUpdate: options.securityUpdate === true,
          ...(options.notes === undefined ? {} : { notes: options.notes }),
        });
        const total = sizes.reduce((sum, size) => sum + size, 0);
        const progress = context.progress('uploading artifacts', total);
        let sent = 0;
        try {
          for (const path of options.artifact) {
            const declared = await digestsOf(path);
            const query = new URLSearchParams({ name: basename(path), ...declared });
            const counted = (async function* () {
              for await (const chunk of createReadStream(path)) {
                sent += (chunk as Buffer).length;
                progress.update(sent);
                yield chunk as Buffer;
              }
            })();
            created = await client.upload<Release>(
              `/api/v1/releases/${created.id}/artifacts?${query.toString()}`,
              counted,
              'application/octet-stream',
            );
          }
        } finally {
          progress.stop();
        }
        if (sbom !== undefined) {
          created = await client.upload<Release>(
            `/api/v1/releases/${created.id}/sbom`,
            sbom.body,
            sbom.mediaType,
          );
        }
        context.print(command, created, releaseLine);
      },
    );

  context
    .withClientOptions(
      release
        .command('sbom')
        .description("attach a release's SBOM (CycloneDX or SPDX JSON)")
        .argument('<release>', 'release id')
        .argument('<file>', 'the SBOM'),
    )
    .action(async (id: string, file: string, _options: unknown, command: Command) => {
      const sbom = sbomUpload(file);
      const updated = await context
        .client(command)
        .upload<Release>(`/api/v1/releases/${encodeURIComponent(id)}/sbom`, sbom.body, sbom.mediaType);
      context.print(command, updated, releaseLine);
    });

  context
    .withClientOptions(
      release.command('list').description('list releases').option('--product <id>', 'only this product'),
    )
    .action(async (options: { product?: string }, command: Command) => {
      const query = options.product === undefined ? '' : `?productId=${encodeURIComponent(options.product)}`;
      const result = await context
        .client(command)
        .request<{ releases: Release[] }>('GET', `/api/v1/releases${query}`);
      context.print(
        command,
        result,
        (value: typeof result) => value.releases.map(releaseLine).join('\n') || 'no releases',
      );
    });

  context
    .withClientOptions(
      release.command('show').description('show a release').argument('<release>', 'release id'),
    )
    .action(async (id: string, _options: unknown, command: Command) => {
      context.print(
        command,
        await context.client(command).request<Release>('GET', `/api/v1/releases/${encodeURIComponent(id)}`),
        releaseLine,
      );
    });

  context
    .withClientOptions(
      release
        .command('approve')
        .description("approve a draft release with one of the product's release signers")
        .argument('<release>', 'release id')
        .option('--signer <keyid>', 'the TUF key id of the signer (default: the first you may use)'),
    )
    .action(async (id: string, options: { signer?: string }, command: Command) => {
      const approved = await context
        .client(command)
        .request<Release>(
          'POST',
          `/api/v1/releases/${encodeURIComponent(id)}/approvals`,
          options.signer === undefined ? {} : { signer: options.signer },
        );
      context.print(command, approved, releaseLine);
    });

  context
    .withClientOptions(
      release
        .command('publish')
        .description(
          "publish a draft release into the product's TUF repository (signed by the signers the product requires)",
        )
        .argument('<release>', 'release id')
        .option('--override <reason>', 'publish although a gate blocks it (the reason is recorded)'),
    )
    .action(async (id: string, options: { override?: string }, command: Command) => {
      const query =
        options.override === undefined
          ? ''
          : `?${new URLSearchParams({ override: options.override }).toString()}`;
      const published = await context
        .client(command)
        .request<Release>('POST', `/api/v1/releases/${encodeURIComponent(id)}/publish${query}`);
      context.print(command, published, releaseLine);
    });

  const tuf = new Command('tuf').description("a product's TUF repository: keys, thresholds, rotation");
  context
    .withClientOptions(
      tuf
        .command('init')
        .description("create a product's TUF repository")
        .requiredOption('--product <id>', 'product id')
        .option('--root-keys <n>', 'root keys to create', wholeNumber)
        .option('--root-threshold <k>', 'root signatures required', wholeNumber)
        .option(
          '--signer <principal...>',
          'release signers, one each: the principal id who approves with it, or "any" for any release admin',
        )
        .option('--targets-threshold <k>', 'signer approvals a release needs (k of n)', wholeNumber),
    )
    .action(
      async (
        options: {
          product: string;
          rootKeys?: number;
          rootThreshold?: number;
          signer?: string[];
          targetsThreshold?: number;
        },
        command: Command,
      ) => {
        const status = await context
          .client(command)
          .request<RepositoryStatus>('POST', `/api/v1/products/${encodeURIComponent(options.product)}/tuf`, {
            ...(options.rootKeys === undefined ? {} : { rootKeys: options.rootKeys }),
            ...(options.rootThreshold === undefined ? {} : { rootThreshold: options.rootThreshold }),
            ...(options.signer === undefined
              ? {}
              : { signers: options.signer.map((signer) => (signer === 'any' ? null : signer)) }),
            ...(options.targetsThreshold === undefined ? {} : { targetsThreshold: options.targetsThreshold }),
          });
        context.print(command, status, repositoryLines);
      },
    );
  context
    .withClientOptions(
      tuf
        .command('status')
        .description("show a product's TUF repository")
        .requiredOption('--product <id>', 'product id'),
    )
    .action(async (options: { product: string }, command: Command) => {
      context.print(
        command,
        await context
          .client(command)
          .request<RepositoryStatus>('GET', `/api/v1/products/${encodeURIComponent(options.product)}/tuf`),
        repositoryLines,
      );
    });
  context
    .withClientOptions(
      tuf
        .command('rotate-root')
        .description('rotate the root keys (root N+1 signed by the old and the new keys)')
        .requiredOption('--product <id>', 'product id')
        .option('--keys <n>', 'new root keys', wholeNumber)
        .option('--threshold <k>', 'root signatures required from now on', wholeNumber),
    )
    .action(async (options: { product: string; keys?: number; threshold?: number }, command: Command) => {
      context.print(
        command,
        await context
          .client(command)
          .request<RepositoryStatus>(
            'POST',
            `/api/v1/products/${encodeURIComponent(options.product)}/tuf/rotate-root`,
            {
              ...(options.keys === undefined ? {} : { keys: options.keys }),
              ...(options.threshold === undefined ? {} : { threshold: options.threshold }),
            },
          ),
        repositoryLines,
      );
    });
  context
    .withClientOptions(
      tuf
        .command('rotate-online-keys')
        .description('rotate the snapshot and timestamp keys')
        .requiredOption('--product <id>', 'product id'),
    )
    .action(async (options: { product: string }, command: Command) => {
      context.print(
        command,
        await context
          .client(command)
          .request<RepositoryStatus>(
            'POST',
            `/api/v1/products/${encodeURIComponent(options.product)}/tuf/rotate-online-keys`,
          ),
        repositoryLines,
      );
    });

  const rollout = new Command('rollout').description(
    'rollouts: a release sent to devices in waves, with pause, resume, abort and approval',
  );
  context
    .withClientOptions(
      rollout
        .command('create')
        .description('start a rollout of a published release')
        .requiredOption('--release <id>', 'release id')
        .option('--name <name>', 'a name for the rollout')
        .option('--hardware-revision <rev...>', 'only these hardware revisions')
        .option('--device <id...>', 'only these devices')
        .option('--filter <id>', 'a saved device filter')
        .option('--site <id...>', 'only devices at these sites')
        .option('--bench-device <id...>', 'a first wave of these devices (bench devices)')
        .option('--waves <percentages>', 'cumulative shares of the selection per wave', percentages, [100])
        .option('--max-failures <n>', 'failures and timeouts that stop a wave', wholeNumber)
        .option('--max-failure-share <percent>', 'share of finished devices failed that stops a wave', Number)
        .option('--minimum-sample <n>', 'finished devices before the failure share counts', wholeNumber)
        .option('--on-failure <action>', 'pause or abort when a wave fails', 'pause')
        .option('--approve-each-wave', 'pause for approval after every successful wave but the last')
        .option(
          '--validation-minutes <n>',
          'time a device has to validate the update once its wave starts',
          wholeNumber,
        )
        .option('--file <json>', 'the whole rollout as JSON (selection, waves, ...) instead of the flags'),
    )
    .action(
      async (
        options: {
          release: string;
          name?: string;
          hardwareRevision?: string[];
          device?: string[];
          filter?: string;
          site?: string[];
          benchDevice?: string[];
          waves: number[];
          maxFailures?: number;
          maxFailureShare?: number;
          minimumSample?: number;
          onFailure: string;
          approveEachWave?: boolean;
          validationMinutes?: number;
          file?: string;
        },
        command: Command,
      ) => {
        let body: Record<string, unknown>;
        if (options.file !== undefined) {
          body = {
            releaseId: options.release,
            ...(readArgumentJson(options.file) as Record<string, unknown>),
          };
        } else {
          if (options.onFailure !== 'pause' && options.onFailure !== 'abort') {
            throw new VigilError('CLI_USAGE', 'invalid', '--on-failure is pause or abort');
          }
          const selection =
            options.device !== undefined
              ? { kind: 'devices', deviceIds: options.device }
              : options.filter !== undefined
                ? { kind: 'filter', filterId: options.filter }
                : options.site !== undefined
                  ? { kind: 'site', siteIds: options.site }
                  : options.hardwareRevision !== undefined
                    ? { kind: 'hardware-revision', hardwareRevisions: options.hardwareRevision }
                    : { kind: 'product' };
          const failure =
            options.maxFailures === undefined && options.maxFailureShare === undefined
              ? undefined
              : {
                  ...(options.maxFailures === undefined ? {} : { count: options.maxFailures }),
                  ...(options.maxFailureShare === undefined ? {} : { share: options.maxFailureShare }),
                  ...(options.minimumSample === undefined ? {} : { minimumSample: options.minimumSample }),
                };
          const shares: WaveSpec[] = options.waves.map((share) => ({ share }));
          const waves: WaveSpec[] = [
            ...(options.benchDevice === undefined ? [] : [{ name: 'bench', devices: options.benchDevice }]),
            ...shares,
          ].map((wave, index, all) => ({
            ...wave,
            ...(failure === undefined ? {} : { failure }),
            onFailure: options.onFailure as 'pause' | 'abort',
            ...(options.approveEachWave === true && index < all.length - 1
              ? { onSuccess: 'pause' as const }
              : {}),
          }));
          body = {
            releaseId: options.release,
            selection,
            waves,
            ...(options.name === undefined ? {} : { name: options.name }),
            ...(options.validationMinutes === undefined
              ? {}
              : { validationMinutes: options.validationMinutes }),
          };
        }
        context.print(
          command,
          await context.client(command).request<Rollout>('POST', '/api/v1/rollouts', body),
          rolloutLines,
        );
      },
    );
  context
    .withClientOptions(
      rollout
        .command('list')
        .description('list rollouts')
        .option('--product <id>', 'only this product')
        .option('--status <status>', 'active, paused, aborted or completed'),
    )
    .action(async (options: { product?: string; status?: string }, command: Command) => {
      const query = new URLSearchParams();
      if (options.product !== undefined) query.set('productId', options.product);
      if (options.status !== undefined) query.set('status', options.status);
      const result = await context
        .client(command)
        .request<{ rollouts: Rollout[] }>('GET', `/api/v1/rollouts?${query.toString()}`);
      context.print(
        command,
        result,
        (value: typeof result) => value.rollouts.map(rolloutLines).join('\n') || 'no rollouts',
      );
    });
  context
    .withClientOptions(
      rollout.command('show').description('show a rollout and its waves').argument('<rollout>', 'rollout id'),
    )
    .action(async (id: string, _options: unknown, command: Command) => {
      context.print(
        command,
        await context.client(command).request<Rollout>('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`),
        rolloutLines,
      );
    });
  for (const [verb, description, needsReason] of [
    ['pause', 'pause a rollout', true],
    ['abort', 'abort a rollout', true],
    ['resume', 'resume a paused rollout at its current wave', false],
    ['approve', 'approve the next wave of a paused rollout', false],
  ] as const) {
    const sub = rollout.command(verb).description(description).argument('<rollout>', 'rollout id');
    if (needsReason) sub.requiredOption('--reason <text>', 'why (recorded in the ledger)');
    context
      .withClientOptions(sub)
      .action(async (id: string, options: { reason?: string }, command: Command) => {
        const changed = await context
          .client(command)
          .request<Rollout>(
            'POST',
            `/api/v1/rollouts/${encodeURIComponent(id)}/${verb}`,
            needsReason ? { reason: options.reason } : undefined,
          );
        context.print(command, changed, rolloutLines);
      });
  }

  const site = new Command('site').description('sites and their maintenance windows');
  context
    .withClientOptions(
      site
        .command('create')
        .description('create a site, optionally with a maintenance window')
        .requiredOption('--name <name>', 'site name')
        .option('--window <cron>', 'when the window opens: 5-field cron, e.g. "0 2 * * *"')
        .option('--duration <minutes>', 'window length in minutes', wholeNumber)
        .option('--time-zone <tz>', 'IANA time zone of the window, e.g. Europe/Berlin'),
    )
    .action(
      async (
        options: { name: string; window?: string; duration?: number; timeZone?: string },
        command: Command,
      ) => {
        const window =
          options.window === undefined
            ? undefined
            : {
                cron: options.window,
                durationMinutes: options.duration ?? 60,
                timeZone: options.timeZone ?? 'UTC',
              };
        context.print(
          command,
          await context.client(command).request('POST', '/api/v1/sites', {
            name: options.name,
            ...(window === undefined ? {} : { maintenanceWindow: window }),
          }),
        );
      },
    );
  context
    .withClientOptions(site.command('list').description('list sites'))
    .action(async (_options: unknown, command: Command) => {
      context.print(command, await context.client(command).request('GET', '/api/v1/sites'));
    });
  context
    .withClientOptions(
      site
        .command('assign')
        .description('put a device at a site')
        .argument('<device>', 'device id')
        .requiredOption('--site <id>', 'site id'),
    )
    .action(async (device: string, options: { site: string }, command: Command) => {
      context.print(
        command,
        await context
          .client(command)
          .request('PUT', `/api/v1/devices/${encodeURIComponent(device)}/site`, { siteId: options.site }),
      );
    });

  return [release, tuf, rollout, site];
}
