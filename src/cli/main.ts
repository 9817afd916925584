import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import cluster from 'node:cluster';
import { SingleBar } from 'cli-progress';
// The domain modules' command faces (ARCHITECTURE.md): a command loads what its action needs when
// it runs, so `vigil --help` or an API call does not first load the whole platform.
import { accessCommands } from '../access/commands.ts';
import { agentCommands } from '../agent/commands.ts';
import { attestationCommands } from '../attestation/commands.ts';
import { updatesCommands } from '../updates/commands.ts';
import { vulnsCommands } from '../vulns/commands.ts';
import { identityCommands } from '../identity/commands.ts';
import {
  VigilError,
  isVigilError,
  parseListenAddress,
  version,
  type CommandContext,
  type Progress,
} from '../core/index.ts';
import { ledgerCommands } from '../ledger/commands.ts';
import { productCommands } from '../products/commands.ts';
import { createApiClient, type ClientFlags } from './client.ts';

/** The platform: loaded by the commands that run it (init, serve). */
const api = () => import('../api/index.ts');

function isJson(command: Command): boolean {
  return (command.optsWithGlobals() as { json?: boolean }).json === true;
}

const context: CommandContext = {
  client: (command) => createApiClient(command.optsWithGlobals() as ClientFlags),
  print(command, value, human) {
    if (isJson(command) || human === undefined) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else process.stdout.write(`${(human as (value: unknown) => string)(value)}\n`);
  },
  progress(label, total): Progress {
    const bar = new SingleBar({
      format: `${label} [{bar}] {percentage}% {value}/{total}`,
      stream: process.stderr,
      noTTYOutput: false,
    });
    let started = false;
    return {
      update(done, newTotal) {
        if (!started) {
          bar.start(newTotal ?? total, done);
          started = true;
        } else {
          if (newTotal !== undefined) bar.setTotal(newTotal);
          bar.update(done);
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  },
  withClientOptions(command) {
    return command
      .addOption(new Option('--url <url>', 'Vigil admin API (default: $VIGIL_URL or http://127.0.0.1:8080)'))
      .addOption(new Option('--token-file <file>', 'file holding the API token (default: $VIGIL_TOKEN)'))
      .option('--json', 'print JSON');
  },
};

function initCommand(): Command {
  return new Command('init')
    .description('create an installation: store, ledger signing key, keystore master key, first admin token')
    .requiredOption('--data <dir>', 'data directory to create')
    .option(
      '--database <url>',
      'PostgreSQL URL (default: $VIGIL_DATABASE_URL, else SQLite in the data directory)',
    )
    .option('--origin <origin>', 'ledger checkpoint origin (default: vigil.local/<install-id>)')
    .option('--organization <name>', 'organization named in the root CA', 'Vigil')
    .option('--json', 'print JSON')
    .action(
      async (
        options: { data: string; database?: string; origin?: string; organization?: string },
        command: Command,
      ) => {
        const { initInstallation } = await api();
        const result = await initInstallation({
          dataDir: options.data,
          databaseUrl: options.database,
          origin: options.origin,
        });
        context.print(command, result, () =>
          [
            `initialised Vigil installation ${result.installId} in ${result.dataDir}`,
            `store: ${result.store}`,
            `ledger origin: ${result.origin}`,
            `ledger verifier key: ${result.verifierKey}`,
            `first admin token: ${result.adminTokenFile} (mode 0600)`,
          ].join('\n'),
        );
      },
    );
}

function serveCommand(): Command {
  return new Command('serve')
    .description('run the admin API and the device endpoint')
    .requiredOption('--data <dir>', 'data directory made by vigil init')
    .option('--listen <host:port>', 'admin API address', process.env.VIGIL_LISTEN ?? '127.0.0.1:8080')
    .option(
      '--device-listen <host:port>',
      'device endpoint address',
      process.env.VIGIL_DEVICE_LISTEN ?? '127.0.0.1:8443',
    )
    .option(
      '--status-listen <host:port>',
      'revocation status (CRL, OCSP) over plain HTTP, where certificates point',
      process.env.VIGIL_STATUS_LISTEN ?? '127.0.0.1:8081',
    )
    .option(
      '--database <url>',
      'PostgreSQL URL (default: $VIGIL_DATABASE_URL, else the SQLite store in the data directory)',
    )
    .option(
      '--device-workers <n>',
      'processes serving the device endpoint, sharing its port (default 1: this process; use up to one per core)',
      (value: string) => {
        if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 64) {
          throw new InvalidArgumentError('expected a whole number from 1 to 64');
        }
        return Number(value);
      },
      Number(process.env.VIGIL_DEVICE_WORKERS ?? 1),
    )
    .action(
      async (options: {
        data: string;
        listen: string;
        deviceListen: string;
        statusListen: string;
        database?: string;
        deviceWorkers: number;
      }) => {
        const listen = parseListenAddress(options.listen, '--listen');
        const deviceListen = parseListenAddress(options.deviceListen, '--device-listen');
        const statusListen = parseListenAddress(options.statusListen, '--status-listen');
        const inWorkers = options.deviceWorkers > 1;
        if (inWorkers && deviceListen.port === 0) {
          throw new VigilError('CLI_USAGE', 'invalid', '--device-workers needs a fixed --device-listen port');
        }
        const { loggerOptions, openPlatform, startDeviceWorker, startServer, statusBaseUrl } = await api();
        const platform = await openPlatform({
          dataDir: options.data,
          databaseUrl: options.database,
          statusBaseUrl: statusBaseUrl(statusListen),
        });
        if (cluster.isWorker) {
          // A device worker forked below: the device endpoint only, on the shared port.
          const worker = await startDeviceWorker(platform, deviceListen, { logger: loggerOptions }).catch(
            async (error: unknown) => {
              await platform.close();
              throw error;
            },
          );
          process.once('SIGTERM', () => {
            void worker
              .close()
              .then(() => platform.close())
              .finally(() => process.exit(0));
          });
          return;
        }
        let server;
        try {
          server = await startServer(platform, listen, deviceListen, statusListen, {
            logger: loggerOptions,
            deviceInWorkers: inWorkers,
          });
          if (inWorkers) await forkDeviceWorkers(options.deviceWorkers);
        } catch (error) {
          await server?.close();
          await platform.close();
          throw error;
        }
        process.stderr.write(
          [
            `Vigil ${version} (${platform.store.dialect}: ${platform.store.location})`,
            `admin API:       ${server.adminUrl}  (docs: ${server.adminUrl}/docs)`,
            `device endpoint: ${server.deviceUrl}${inWorkers ? `  (${options.deviceWorkers} worker processes)` : ''}`,
            `status (CRL, OCSP): ${server.statusUrl}`,
            `admin token:     ${platform.files.adminToken}`,
            `ledger verifier key: ${platform.ledger.verifierKey}`,
            '',
          ].join('\n'),
        );
        const running = server;
        const shutdown = () => {
          stopping = true;
          for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
          void running
            .close()
            .then(() => platform.close())
            .finally(() => process.exit(0));
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      },
    );
}

let stopping = false;

/**
 * Forks the device workers (node:cluster: the primary hands connections on the shared port to
 * them in turn) and waits until each listens; a worker that dies is replaced.
 */
async function forkDeviceWorkers(count: number): Promise<void> {
  const listening = Array.from({ length: count }, () => {
    const worker = cluster.fork();
    return new Promise<void>((resolve, reject) => {
      worker.once('listening', () => resolve());
      worker.once('exit', (code) =>
        reject(
          new VigilError(
            'SERVE_WORKER_FAILED',
            'internal',
            `a device worker exited (${code}) before listening`,
          ),
        ),
      );
    });
  });
  await Promise.all(listening);
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    process.stderr.write(
      `device worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`,
    );
    cluster.fork();
  });
}

export function buildProgram(): Command {
  const program = new Command('vigil')
    .description(
      'Vigil: device identity, attestation, secure updates and vulnerability handling, with a tamper-evident ledger',
    )
    .version(version)
    // `vigil --version` is the program's; after a subcommand, `--version` is that command's own
    // (`vigil release create --version 1.2.0`).
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(initCommand());
  program.addCommand(serveCommand());
  for (const command of [
    ...productCommands(context),
    ...identityCommands(context),
    ...attestationCommands(context),
    ...updatesCommands(context),
    ...vulnsCommands(context),
    ...accessCommands(context),
    ...ledgerCommands(context),
    ...agentCommands(context),
  ]) {
    program.addCommand(command);
  }
  // Every subcommand shares the usage-error behaviour: exit 2, help shown.
  const applyToTree = (command: Command) => {
    command.exitOverride().showHelpAfterError();
    command.commands.forEach(applyToTree);
  };
  program.commands.forEach(applyToTree);
  return program;
}

/** Runs the CLI: exit 0 on success, 1 on failure, 2 on a usage error. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok =
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help';
      process.exitCode = ok ? 0 : 2;
      return;
    }
    if (isVigilError(error)) {
      process.stderr.write(`vigil: ${error.message} (${error.code})\n`);
    } else {
      process.stderr.write(
        `vigil: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    }
    process.exitCode = 1;
  }
}
