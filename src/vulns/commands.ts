import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { VigilError, readArgumentFile, type CommandContext } from '../core/index.ts';
import type { ImportReport } from './advisory-store.ts';
import type { FindingView, VexImportReport } from './findings.ts';

/** The files a path names: a file itself, or the files of a directory (not recursive, sorted). */
function filesOf(path: string): string[] {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw new VigilError('CLI_FILE_INVALID', 'invalid', `${path}: ${(error as Error).message}`);
  }
  if (!stats.isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .map((name) => join(path, name))
    .filter((file) => statSync(file).isFile());
}

function findingLine(finding: FindingView): string {
  const severity = finding.severity?.rating ?? finding.severity?.score ?? '-';
  return `${finding.id}  ${finding.vulnerability}  ${finding.purl ?? finding.component}  ${finding.state}${finding.exploited ? '  EXPLOITED' : ''}  severity ${severity}  deadline ${finding.deadline ?? '-'}`;
}

/** `vigil vulns ...`: advisory import, findings and their triage. */
export function vulnsCommands(context: CommandContext): Command[] {
  const vulns = new Command('vulns').description('vulnerabilities: advisories, findings, triage (VEX)');

  context
    .withClientOptions(
      vulns
        .command('import')
        .description(
          'import advisory files: OSV records or JSON-lines (gzip or not), CSAF 2.0, the CISA KEV catalogue; a directory imports its files',
        )
        .argument('<path...>', 'files or directories'),
    )
    .action(async (paths: string[], _options: unknown, command: Command) => {
      const files = paths.flatMap(filesOf);
      const progress = context.progress('importing advisories', files.length);
      const reports: (ImportReport & { file: string })[] = [];
      try {
        for (const [index, file] of files.entries()) {
          const bytes = readFileSync(file);
          const report = await context
            .client(command)
            .upload<ImportReport>(
              `/api/v1/vulns/advisories?${new URLSearchParams({ name: basename(file) }).toString()}`,
              bytes,
              'application/octet-stream',
            );
          reports.push({ file, ...report });
          progress.update(index + 1);
        }
      } finally {
        progress.stop();
      }
      context.print(command, { files: reports }, (value: { files: typeof reports }) =>
        value.files
          .map(
            (report) =>
              `${report.file}: ${report.format}: ${report.added} added, ${report.updated} updated, ${report.unchanged} unchanged, ${report.rejected} rejected; ${report.findings} findings${report.format === 'kev' ? `, ${report.exploited} now exploited` : ''}` +
              report.errors.map((error) => `\n  ${error.where}: ${error.message}`).join(''),
          )
          .join('\n'),
      );
    });

  context
    .withClientOptions(
      vulns
        .command('findings')
        .description('list findings of a release, a product, or the whole portfolio')
        .option('--release <id>', 'one release')
        .option('--product <id>', 'one product')
        .option('--state <state>', 'under_investigation, affected, not_affected or fixed'),
    )
    .action(async (options: { release?: string; product?: string; state?: string }, command: Command) => {
      const query = options.state === undefined ? '' : `?state=${encodeURIComponent(options.state)}`;
      const path =
        options.release !== undefined
          ? `/api/v1/releases/${encodeURIComponent(options.release)}/findings`
          : options.product !== undefined
            ? `/api/v1/products/${encodeURIComponent(options.product)}/findings`
            : '/api/v1/findings';
      const result = await context
        .client(command)
        .request<{ findings: FindingView[] }>('GET', `${path}${query}`);
      context.print(
        command,
        result,
        (value: typeof result) => value.findings.map(findingLine).join('\n') || 'no findings',
      );
    });

  context
    .withClientOptions(
      vulns
        .command('triage')
        .description('record a VEX decision on a finding (who, when and why go to the ledger)')
        .argument('<finding>', 'finding id')
        .requiredOption('--state <state>', 'under_investigation, affected, not_affected or fixed')
        .option(
          '--justification <j>',
          'for not_affected: component_not_present, vulnerable_code_not_present, vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary, inline_mitigations_already_exist',
        )
        .option('--fixed-in <release>', 'for fixed: the release that fixes it')
        .option('--exploited', 'actively exploited, as you know it')
        .requiredOption('--reason <text>', 'why'),
    )
    .action(
      async (
        id: string,
        options: {
          state: string;
          justification?: string;
          fixedIn?: string;
          exploited?: boolean;
          reason: string;
        },
        command: Command,
      ) => {
        const finding = await context
          .client(command)
          .request<FindingView>('PATCH', `/api/v1/findings/${encodeURIComponent(id)}`, {
            state: options.state,
            reason: options.reason,
            ...(options.justification === undefined ? {} : { justification: options.justification }),
            ...(options.fixedIn === undefined ? {} : { fixedReleaseId: options.fixedIn }),
            ...(options.exploited === true ? { exploited: true } : {}),
          });
        context.print(command, finding, findingLine);
      },
    );

  context
    .withClientOptions(
      vulns
        .command('vex')
        .description(
          "apply a CycloneDX VEX to a release's findings (each change recorded as finding.triaged)",
        )
        .argument('<release>', 'release id')
        .argument('<file>', 'the CycloneDX VEX (JSON)'),
    )
    .action(async (release: string, file: string, _options: unknown, command: Command) => {
      const bytes = readArgumentFile(file);
      const report = await context
        .client(command)
        .upload<VexImportReport>(
          `/api/v1/releases/${encodeURIComponent(release)}/vex?${new URLSearchParams({ name: basename(file) }).toString()}`,
          bytes,
          'application/vnd.cyclonedx+json',
        );
      context.print(command, report, (value: VexImportReport) =>
        [
          ...value.applied.map(
            (change) =>
              `${change.findingId}  ${change.vulnerability}  ${change.componentRef}  ${change.from} -> ${change.to}${change.justification === undefined ? '' : ` (${change.justification})`}`,
          ),
          `${value.applied.length} applied, ${value.unchanged} unchanged, ${value.withoutFinding.length} without a finding, ${value.unresolved.length} unresolved`,
          ...value.unresolved.map((entry) => `  ${entry.vulnerability} ${entry.ref}: ${entry.reason}`),
        ].join('\n'),
      );
    });

  return [vulns];
}
