import type { Selectable } from 'kysely';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import { requireProduct } from '../products/index.ts';
import type { Actor, Ledger, LedgerEvent } from '../ledger/index.ts';
import type { CraClocksTable, Queryable, Store, Tx } from '../store/index.ts';

type ClockRow = Selectable<CraClocksTable>;

export const craReports = ['early-warning', 'notification', 'final-report'] as const;
export type CraReport = (typeof craReports)[number];

export interface CraReportState {
  report: CraReport;
  /** Null while its start is not known (the final report of a vulnerability waits for a corrective measure). */
  dueAt: string | null;
  sentAt: string | null;
  reference: string | null;
  overdue: boolean;
}

export interface CraClock {
  id: string;
  kind: CraClocksTable['kind'];
  productId: string;
  vulnerability: string | null;
  title: string;
  description: string;
  memberStates: string[];
  awareAt: string;
  correctiveMeasure: { at: string; description: string } | null;
  reports: CraReportState[];
  /** The earliest report still unsent and overdue, if any. */
  overdue: boolean;
}

const hour = 3_600_000;
const day = 24 * hour;

/**
 * CRA Art. 14 reporting clocks. For an actively exploited vulnerability (Art. 14(2)): an early
 * warning within 24 hours of awareness, a notification within 72 hours, a final report within 14
 * days after a corrective or mitigating measure is available. For a severe incident (Art. 14(4)):
 * 24 hours, 72 hours, and a final report within one month after the notification. Reports are
 * drafted from the record and marked sent by a person; overdue clocks come first.
 */
export class CraClocks {
  constructor(private readonly options: { store: Store; ledger: Ledger; clock: Clock }) {}

  /**
   * Starts the clock of an exploited vulnerability in a CRA product, inside the caller's transaction
   * (the KEV import, a triage marking it exploited); nothing when the product is not a CRA product or
   * the clock already runs. Awareness is now.
   */
  async startForExploited(
    tx: Tx,
    record: (event: LedgerEvent) => void,
    input: { productId: string; vulnerability: string; component: string },
  ): Promise<void> {
    const product = await tx
      .selectFrom('products')
      .select(['regimes', 'name', 'member_states'])
      .where('id', '=', input.productId)
      .executeTakeFirst();
    if (product === undefined || !(JSON.parse(product.regimes) as string[]).includes('CRA')) return;
    const exists = await tx
      .selectFrom('cra_clocks')
      .select('id')
      .where('product_id', '=', input.productId)
      .where('vulnerability_id', '=', input.vulnerability)
      .executeTakeFirst();
    if (exists !== undefined) return;
    const now = toRfc3339(this.options.clock.now());
    const id = newId();
    await tx
      .insertInto('cra_clocks')
      .values({
        ...emptyClock,
        id,
        kind: 'exploited-vulnerability',
        product_id: input.productId,
        vulnerability_id: input.vulnerability,
        title: `${input.vulnerability} actively exploited in ${product.name}`,
        description: `${input.vulnerability} affects ${input.component} and is actively exploited.`,
        member_states: product.member_states,
        aware_at: now,
        created_at: now,
      })
      .execute();
    record({
      type: 'cra-clock.started',
      subject: id,
      details: {
        kind: 'exploited-vulnerability',
        productId: input.productId,
        vulnerability: input.vulnerability,
        awareAt: now,
      },
    });
  }

  /** Opens the clock of a severe incident having an impact on the product's security (Art. 14(3)). */
  async reportIncident(
    actor: Actor,
    input: {
      productId: string;
      title: string;
      description: string;
      awareAt?: string | undefined;
      memberStates?: string[] | undefined;
    },
  ): Promise<CraClock> {
    const id = newId();
    const now = toRfc3339(this.options.clock.now());
    const awareAt = input.awareAt ?? now;
    if (Date.parse(awareAt) > this.options.clock.now().getTime()) {
      throw new VigilError('CRA_AWARENESS_IN_FUTURE', 'invalid', 'awareness cannot lie in the future');
    }
    await this.options.ledger.transact(actor, async (tx, record) => {
      const product = await requireProduct(tx, input.productId);
      await tx
        .insertInto('cra_clocks')
        .values({
          ...emptyClock,
          id,
          kind: 'severe-incident',
          product_id: input.productId,
          vulnerability_id: null,
          title: input.title,
          description: input.description,
          // Unless the report names them, the Member States the product is made available in.
          member_states:
            input.memberStates === undefined ? product.member_states : JSON.stringify(input.memberStates),
          aware_at: toRfc3339(new Date(awareAt)),
          created_at: now,
        })
        .execute();
      record({
        type: 'cra-clock.started',
        subject: id,
        details: { kind: 'severe-incident', productId: input.productId, title: input.title, awareAt },
      });
    });
    return this.get(id);
  }

  async list(): Promise<{ clocks: CraClock[] }> {
    const rows = await this.options.store.db
      .selectFrom('cra_clocks')
      .selectAll()
      .orderBy('aware_at')
      .execute();
    const now = this.options.clock.now();
    const clocks = rows.map((row) => toClock(row, now));
    // Overdue first, then by the next report due.
    const nextDue = (clock: CraClock) =>
      Math.min(
        ...clock.reports
          .filter((report) => report.sentAt === null && report.dueAt !== null)
          .map((report) => Date.parse(report.dueAt!)),
        Infinity,
      );
    clocks.sort((a, b) => Number(b.overdue) - Number(a.overdue) || nextDue(a) - nextDue(b));
    return { clocks };
  }

  async get(id: string, db: Queryable = this.options.store.db): Promise<CraClock> {
    return toClock(await this.requireRow(db, id), this.options.clock.now());
  }

  /** The report drafted from the record: product, Member States, nature, measures, timeline. */
  async draft(id: string, report: CraReport): Promise<Record<string, unknown>> {
    const row = await this.requireRow(this.options.store.db, id);
    const product = await this.options.store.db
      .selectFrom('products')
      .selectAll()
      .where('id', '=', row.product_id)
      .executeTakeFirstOrThrow();
    const clock = toClock(row, this.options.clock.now());
    return {
      report,
      legalBasis:
        row.kind === 'exploited-vulnerability'
          ? 'Regulation (EU) 2024/2847 Art. 14(2)'
          : 'Regulation (EU) 2024/2847 Art. 14(4)',
      dueAt: clock.reports.find((entry) => entry.report === report)?.dueAt ?? null,
      manufacturer: { product: product.name, model: product.model, supportEnd: product.support_end },
      memberStates: clock.memberStates,
      subject:
        row.kind === 'exploited-vulnerability'
          ? { vulnerability: row.vulnerability_id }
          : { incident: row.title },
      nature: row.description,
      awareAt: row.aware_at,
      correctiveMeasures: clock.correctiveMeasure,
      previousReports: clock.reports
        .filter((entry) => entry.sentAt !== null)
        .map((entry) => ({ report: entry.report, sentAt: entry.sentAt, reference: entry.reference })),
    };
  }

  async markSent(
    actor: Actor,
    id: string,
    report: CraReport,
    reference?: string | undefined,
  ): Promise<CraClock> {
    await this.options.ledger.transact(actor, async (tx, record) => {
      const row = await this.requireRow(tx, id);
      const order = craReports.indexOf(report);
      for (const earlier of craReports.slice(0, order)) {
        if (sentAt(row, earlier) === null) {
          throw new VigilError('CRA_REPORT_OUT_OF_ORDER', 'conflict', `the ${earlier} has not been sent yet`);
        }
      }
      if (sentAt(row, report) !== null)
        throw new VigilError('CRA_REPORT_ALREADY_SENT', 'conflict', `the ${report} was already sent`);
      if (
        report === 'final-report' &&
        row.kind === 'exploited-vulnerability' &&
        row.corrective_measure_at === null
      ) {
        throw new VigilError(
          'CRA_CORRECTIVE_MEASURE_MISSING',
          'conflict',
          'a final report follows a corrective or mitigating measure (Art. 14(2)(c))',
        );
      }
      const now = toRfc3339(this.options.clock.now());
      const column = {
        'early-warning': 'early_warning',
        notification: 'notification',
        'final-report': 'final_report',
      }[report];
      await tx
        .updateTable('cra_clocks')
        .set({ [`${column}_sent_at`]: now, [`${column}_reference`]: reference ?? null })
        .where('id', '=', id)
        .execute();
      record({
        type: 'cra-report.sent',
        subject: id,
        details: { report, reference: reference ?? null, sentAt: now },
      });
    });
    return this.get(id);
  }

  async recordCorrectiveMeasure(actor: Actor, id: string, description: string): Promise<CraClock> {
    await this.options.ledger.transact(actor, async (tx, record) => {
      const row = await this.requireRow(tx, id);
      if (row.corrective_measure_at !== null) {
        throw new VigilError(
          'CRA_CORRECTIVE_MEASURE_RECORDED',
          'conflict',
          'a corrective measure is already recorded',
        );
      }
      const now = toRfc3339(this.options.clock.now());
      await tx
        .updateTable('cra_clocks')
        .set({ corrective_measure_at: now, corrective_measure: description })
        .where('id', '=', id)
        .execute();
      record({ type: 'cra-clock.corrective-measure', subject: id, details: { description, at: now } });
    });
    return this.get(id);
  }

  private async requireRow(db: Queryable, id: string): Promise<ClockRow> {
    const row = await db.selectFrom('cra_clocks').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined)
      throw new VigilError('CRA_CLOCK_NOT_FOUND', 'not_found', `no CRA reporting clock ${id}`);
    return row;
  }
}

const emptyClock = {
  corrective_measure_at: null,
  corrective_measure: null,
  early_warning_sent_at: null,
  early_warning_reference: null,
  notification_sent_at: null,
  notification_reference: null,
  final_report_sent_at: null,
  final_report_reference: null,
};

function sentAt(row: ClockRow, report: CraReport): string | null {
  return report === 'early-warning'
    ? row.early_warning_sent_at
    : report === 'notification'
      ? row.notification_sent_at
      : row.final_report_sent_at;
}

function referenceOf(row: ClockRow, report: CraReport): string | null {
  return report === 'early-warning'
    ? row.early_warning_reference
    : report === 'notification'
      ? row.notification_reference
      : row.final_report_reference;
}

/** When each report falls due (CRA Art. 14(2) and (4)). */
function dueAt(row: ClockRow, report: CraReport): string | null {
  const aware = Date.parse(row.aware_at);
  if (report === 'early-warning') return toRfc3339(new Date(aware + 24 * hour));
  if (report === 'notification') return toRfc3339(new Date(aware + 72 * hour));
  if (row.kind === 'exploited-vulnerability') {
    return row.corrective_measure_at === null
      ? null
      : toRfc3339(new Date(Date.parse(row.corrective_measure_at) + 14 * day));
  }
  if (row.notification_sent_at === null) return null;
  const month = new Date(row.notification_sent_at);
  month.setUTCMonth(month.getUTCMonth() + 1);
  return toRfc3339(month);
}

function toClock(row: ClockRow, now: Date): CraClock {
  const reports = craReports.map((report) => {
    const due = dueAt(row, report);
    const sent = sentAt(row, report);
    return {
      report,
      dueAt: due,
      sentAt: sent,
      reference: referenceOf(row, report),
      overdue: sent === null && due !== null && Date.parse(due) < now.getTime(),
    };
  });
  return {
    id: row.id,
    kind: row.kind,
    productId: row.product_id,
    vulnerability: row.vulnerability_id,
    title: row.title,
    description: row.description,
    memberStates: JSON.parse(row.member_states) as string[],
    awareAt: row.aware_at,
    correctiveMeasure:
      row.corrective_measure_at === null
        ? null
        : { at: row.corrective_measure_at, description: row.corrective_measure ?? '' },
    reports,
    overdue: reports.some((report) => report.overdue),
  };
}
