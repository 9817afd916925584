import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import {
  VigilError,
  ed25519SignerFromPem,
  installationFiles,
  readInstallationConfig,
  resolveDatabase,
  type CommandContext,
} from '../core/index.ts';
import {
  LogVerification,
  formatVerifierKey,
  parseProofFile,
  verifyProofFile,
  type LogVerificationResult,
} from './verify/index.ts';

const remotePage = 10_000;

function resultLines(result: LogVerificationResult): string {
  return result.ok
    ? `ledger verified: ${result.size} entries, ${result.checkpoints} signed checkpoints match (checkpointed size ${result.checkpointedSize})`
    : `LEDGER VERIFICATION FAILED at index ${result.firstBadIndex}: ${result.reason}`;
}

async function verifyLocal(
  dataDir: string,
  databaseUrl: string | undefined,
  context: CommandContext,
): Promise<LogVerificationResult> {
  const files = installationFiles(dataDir);
  const config = readInstallationConfig(files);
  const signer = ed25519SignerFromPem(readFileSync(files.ledgerKey, 'utf8'));
  // The store's driver and the audit load only for a local verification.
  const [{ Store }, { verifyStoredLog }] = await Promise.all([
    import('../store/index.ts'),
    import('./audit.ts'),
  ]);
  const store = Store.open(resolveDatabase(files, config, databaseUrl));
  const progress = context.progress('verifying ledger', 0);
  try {
    return await verifyStoredLog(store, formatVerifierKey(config.origin, signer.publicKey), (done, total) =>
      progress.update(done, total),
    );
  } finally {
    progress.stop();
    await store.close();
  }
}

async function verifyRemote(
  command: Command,
  context: CommandContext,
  pinnedKey: string | undefined,
): Promise<LogVerificationResult> {
  const client = context.client(command);
  const verifierKey = pinnedKey ?? (await client.text('/api/v1/ledger/verifier-key')).trim();
  const { checkpoints } = await client.request<{ checkpoints: { note: string; size: number }[] }>(
    'GET',
    '/api/v1/ledger/checkpoints',
  );
  const verification = new LogVerification({
    checkpoints: checkpoints.map((checkpoint) => checkpoint.note),
    verifierKey,
  });
  const total = Math.max(0, ...checkpoints.map((checkpoint) => checkpoint.size));
  const progress = context.progress('verifying ledger', total);
  try {
    for (let start = 0; ; start += remotePage) {
      const { entries } = await client.request<{ entries: { index: number; leaf: string }[] }>(
        'GET',
        `/api/v1/ledger/entries?start=${start}&end=${start + remotePage}`,
      );
      for (const entry of entries) {
        if (!verification.addEntry({ index: entry.index, leaf: Buffer.from(entry.leaf, 'base64') }))
          return verification.finish();
      }
      progress.update(start + entries.length);
      if (entries.length < remotePage) return verification.finish();
    }
  } finally {
    progress.stop();
  }
}

export function ledgerCommands(context: CommandContext): Command[] {
  const ledger = new Command('ledger').description(
    'the tamper-evident ledger: verify it, fetch and check evidence',
  );

  context
    .withClientOptions(
      ledger
        .command('verify')
        .description(
          'recompute the Merkle tree from the stored entries and check every signed checkpoint; ' +
            'exits 1 naming the first bad index if anything was altered, removed or reordered',
        )
        .option('--data <dir>', 'verify the store of this data directory directly (no server needed)')
        .option(
          '--database <url>',
          'PostgreSQL URL of that installation (default: VIGIL_DATABASE_URL or the SQLite file)',
        )
        .option('--vkey <key>', 'with --url: the verifier key to trust (default: ask the server)'),
    )
    .action(async (options: { data?: string; database?: string; vkey?: string }, command: Command) => {
      const result =
        options.data !== undefined
          ? await verifyLocal(options.data, options.database, context)
          : await verifyRemote(command, context, options.vkey);
      context.print(command, result, resultLines);
      if (!result.ok) process.exitCode = 1;
    });

  context
    .withClientOptions(
      ledger
        .command('proof')
        .description('fetch the evidence file (C2SP tlog-proof) of one ledger entry')
        .argument('<index>', 'entry index'),
    )
    .action(async (index: string, _options, command: Command) => {
      process.stdout.write(
        await context.client(command).text(`/api/v1/ledger/entries/${encodeURIComponent(index)}/proof`),
      );
    });

  ledger
    .command('verify-proof')
    .description("check an evidence file offline: signed checkpoint, and the entry's inclusion in it")
    .argument('<file>', 'C2SP tlog-proof file')
    .requiredOption(
      '--vkey <key>',
      'the verifier key to trust (vigil ledger verifier-key, or GET /api/v1/ledger/verifier-key)',
    )
    .option('--entry <file>', 'the entry bytes (default: the entry carried in the file)')
    .option('--json', 'print JSON')
    .action((file: string, options: { vkey: string; entry?: string }, command: Command) => {
      const text = readFileSync(file, 'utf8');
      const leaf = options.entry !== undefined ? readFileSync(options.entry) : parseProofFile(text).extra;
      if (leaf === undefined) {
        throw new VigilError(
          'LEDGER_PROOF_FILE_INVALID',
          'invalid',
          'the file carries no entry: pass --entry FILE',
        );
      }
      const verified = verifyProofFile(text, leaf, options.vkey);
      const entry = JSON.parse(leaf.toString('utf8')) as { type?: string; subject?: string; at?: string };
      context.print(
        command,
        { ok: true, ...verified, entry },
        () =>
          `OK: entry ${verified.index} (${entry.type ?? '?'} ${entry.subject ?? ''} at ${entry.at ?? '?'}) is in ${verified.origin} at size ${verified.size}`,
      );
    });

  context
    .withClientOptions(ledger.command('checkpoint').description('print the latest signed checkpoint'))
    .action(async (_options, command: Command) => {
      process.stdout.write(await context.client(command).text('/ledger/checkpoint'));
    });

  context
    .withClientOptions(ledger.command('verifier-key').description('print the checkpoint verifier key'))
    .action(async (_options, command: Command) => {
      process.stdout.write(`${(await context.client(command).text('/api/v1/ledger/verifier-key')).trim()}\n`);
    });

  return [ledger];
}
