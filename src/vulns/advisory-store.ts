import { createHash } from 'node:crypto';
import { canonicalJson, toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger, LedgerEvent } from '../ledger/index.ts';
import type { Insertable } from 'kysely';
import type { AdvisoriesTable, KevEntriesTable, Store } from '../store/index.ts';
import {
  parseAdvisoryFile,
  preferredVulnerabilityId,
  type Advisory,
  type KevCatalogue,
} from './advisories/index.ts';
import type { Findings } from './findings.ts';

export interface ImportReport {
  format: string;
  added: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** The first refusals (per line or record), for the person importing. */
  errors: { where: string; message: string }[];
  /** Findings made or refreshed by what changed. */
  findings: number;
  /** KEV: findings now marked actively exploited. */
  exploited: number;
}

function emptyReport(format: string): ImportReport {
  return { format, added: 0, updated: 0, unchanged: 0, rejected: 0, errors: [], findings: 0, exploited: 0 };
}

/** Rows written per transaction, so a large feed never holds the store's write lock for long. */
const batchSize = 500;

/**
 * Advisory imports: OSV records and JSON-lines (gzip or not), CSAF 2.0 (advisories and VEX) and
 * the CISA KEV catalogue. Re-importing the same advisory changes nothing; a changed one replaces
 * its record and is matched again; a withdrawn one stops counting. One ledger event per import.
 */
export class AdvisoryStore {
  constructor(private readonly options: { store: Store; ledger: Ledger; clock: Clock; findings: Findings }) {}

  async import(actor: Actor, bytes: Uint8Array, fileName: string): Promise<ImportReport> {
    const file = parseAdvisoryFile(bytes, fileName);
    const fileDigest = createHash('sha256').update(bytes).digest('hex');
    if (file.format === 'kev') return this.importKev(actor, file.catalogue, fileDigest);
    const report = emptyReport(file.format);
    if (file.format === 'osv-jsonl') {
      report.rejected = file.report.errors.length;
      report.errors = file.report.errors
        .slice(0, 20)
        .map((error) => ({ where: `line ${error.line}`, message: error.message }));
    }
    // The import's ledger event, recorded with the last batch (or alone, for a file without advisories).
    const imported = (): LedgerEvent => ({
      type: 'advisories.imported',
      subject: fileDigest,
      details: {
        fileName,
        format: report.format,
        added: report.added,
        updated: report.updated,
        unchanged: report.unchanged,
        rejected: report.rejected,
        findings: report.findings,
      },
    });
    const keyOf = (advisory: Advisory) =>
      advisory.csaf === undefined ? advisory.id : `${advisory.csaf.trackingId}#${advisory.id}`;
    const now = toRfc3339(this.options.clock.now());
    for (let start = 0; start < file.advisories.length; start += batchSize) {
      const batch = file.advisories.slice(start, start + batchSize);
      await this.options.ledger.transact(actor, async (tx, record) => {
        const keys = batch.map(keyOf);
        const stored = new Map(
          (await tx.selectFrom('advisories').select(['id', 'digest']).where('id', 'in', keys).execute()).map(
            (row) => [row.id, row.digest],
          ),
        );
        const changed: Advisory[] = [];
        const withdrawn: string[] = [];
        const rows = new Map<string, Insertable<AdvisoriesTable>>();
        for (const advisory of batch) {
          const key = keyOf(advisory);
          const document = canonicalJson(advisory);
          const digest = createHash('sha256').update(document).digest('hex');
          const before = stored.get(key);
          if (before === digest) {
            report.unchanged += 1;
            continue;
          }
          const row = {
            id: key,
            vulnerability_id:
              preferredVulnerabilityId([advisory.id, ...advisory.aliases, ...advisory.cves]) ?? advisory.id,
            aliases: JSON.stringify(advisory.aliases),
            source: advisory.source,
            modified: advisory.modified ?? null,
            withdrawn: advisory.withdrawn === undefined ? 0 : 1,
            digest,
            document,
            imported_at: now,
          };
          rows.set(key, row);
          if (before === undefined) report.added += 1;
          else report.updated += 1;
          if (advisory.withdrawn === undefined) changed.push(advisory);
          else withdrawn.push(advisory.id);
        }
        await this.options.store.insertMany(tx, 'advisories', [...rows.values()], {
          columns: ['id'],
          update: [
            'vulnerability_id',
            'aliases',
            'source',
            'modified',
            'withdrawn',
            'digest',
            'document',
            'imported_at',
          ],
        });
        if (changed.length > 0 || withdrawn.length > 0) this.options.findings.forgetAdvisories();
        report.findings += await this.options.findings.matchAdvisories(tx, record, changed);
        await this.options.findings.withdraw(tx, withdrawn);
        if (start + batchSize >= file.advisories.length) {
          record(imported());
        }
      });
    }
    if (file.advisories.length === 0) {
      await this.options.ledger.transact(actor, async (_tx, record) => record(imported()));
    }
    return report;
  }

  private async importKev(actor: Actor, catalogue: KevCatalogue, fileDigest: string): Promise<ImportReport> {
    const report = emptyReport('kev');
    await this.options.ledger.transact(actor, async (tx, record) => {
      const stored = new Map(
        (await tx.selectFrom('kev_entries').selectAll().execute()).map((row) => [row.cve, row]),
      );
      const rows = new Map<string, Insertable<KevEntriesTable>>();
      for (const entry of catalogue.entries) {
        const row = {
          cve: entry.cveId,
          date_added: entry.dateAdded,
          due_date: entry.dueDate,
          ransomware: entry.knownRansomwareCampaignUse,
          vendor: entry.vendorProject,
          product: entry.product,
        };
        const before = stored.get(entry.cveId);
        if (before !== undefined && canonicalJson(before) === canonicalJson(row)) {
          report.unchanged += 1;
          continue;
        }
        rows.set(row.cve, row);
        if (before === undefined) report.added += 1;
        else report.updated += 1;
      }
      await this.options.store.insertMany(tx, 'kev_entries', [...rows.values()], {
        columns: ['cve'],
        update: ['date_added', 'due_date', 'ransomware', 'vendor', 'product'],
      });
      report.exploited = await this.options.findings.markExploited(
        tx,
        new Set(catalogue.entries.map((entry) => entry.cveId)),
      );
      record({
        type: 'advisories.imported',
        subject: fileDigest,
        details: {
          format: 'kev',
          catalogVersion: catalogue.catalogVersion,
          added: report.added,
          updated: report.updated,
          unchanged: report.unchanged,
          exploited: report.exploited,
        },
      });
    });
    return report;
  }
}
