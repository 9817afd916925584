import type { Selectable } from 'kysely';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger } from '../ledger/index.ts';
import {
  isUniqueViolation,
  type ProductsTable as ProductsTableSchema,
  type Queryable,
  type Store,
} from '../store/index.ts';

type ProductsTable = Selectable<ProductsTableSchema>;

export const regimes = ['CRA', 'FDA-524B', 'MDR', 'IVDR'] as const;
export type Regime = (typeof regimes)[number];

/**
 * Where a product can be made available on the market under the CRA: the EU Member States and the
 * EEA states that apply it (ISO 3166-1 alpha-2; Greece is GR here, not the EU's EL). A CRA Art. 14
 * report names those the product is made available in.
 */
export const memberStates = [
  'AT',
  'BE',
  'BG',
  'CY',
  'CZ',
  'DE',
  'DK',
  'EE',
  'ES',
  'FI',
  'FR',
  'GR',
  'HR',
  'HU',
  'IE',
  'IS',
  'IT',
  'LI',
  'LT',
  'LU',
  'LV',
  'MT',
  'NL',
  'NO',
  'PL',
  'PT',
  'RO',
  'SE',
  'SI',
  'SK',
] as const;
export type MemberState = (typeof memberStates)[number];

/** The lifecycle stages each product needs one accountable owner for. */
export const ownershipStages = [
  'identity',
  'update-signing',
  'vulnerability-remediation',
  'decommissioning',
] as const;
export type OwnershipStage = (typeof ownershipStages)[number];

export interface Product {
  id: string;
  name: string;
  model: string;
  hardwareRevisions: string[];
  regimes: Regime[];
  supportStart: string;
  supportEnd: string;
  expectedUseJustification: string | null;
  /** Where the product is made available on the market. */
  memberStates: MemberState[];
  createdAt: string;
  updatedAt: string;
  /** Stages that have no accountable owner. */
  ownershipGaps: OwnershipStage[];
}

export interface ProductInput {
  name: string;
  model: string;
  hardwareRevisions: string[];
  regimes: Regime[];
  supportStart: string;
  supportEnd: string;
  expectedUseJustification?: string | null | undefined;
  memberStates?: MemberState[] | undefined;
}

export interface Ownership {
  productId: string;
  stages: {
    stage: OwnershipStage;
    owner: { id: string; name: string; kind: string } | null;
    assignedAt: string | null;
  }[];
  gaps: OwnershipStage[];
}

/**
 * The product's record, or PRODUCT_NOT_FOUND: for the modules above that check a product inside
 * their own transaction.
 */
export async function requireProduct(db: Queryable, id: string): Promise<ProductsTable> {
  const row = await db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) throw new VigilError('PRODUCT_NOT_FOUND', 'not_found', `no product ${id}`);
  return row;
}

/** CRA Art. 13(8): the support period is at least five years unless the expected use is shorter. */
const craMinimumSupportYears = 5;

function parseDay(value: string, field: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = new Date(`${value}T00:00:00Z`);
  if (match === null || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
    throw new VigilError('PRODUCT_DATE_INVALID', 'invalid', `${field} must be a calendar date YYYY-MM-DD`);
  }
  return date;
}

/** Checks a whole product definition; throws the first rule it breaks. */
function validateProduct(input: ProductInput): void {
  const start = parseDay(input.supportStart, 'supportStart');
  const end = parseDay(input.supportEnd, 'supportEnd');
  if (end.getTime() <= start.getTime()) {
    throw new VigilError(
      'PRODUCT_SUPPORT_PERIOD_INVALID',
      'invalid',
      'supportEnd must be after supportStart',
    );
  }
  const minimumEnd = new Date(start);
  minimumEnd.setUTCFullYear(minimumEnd.getUTCFullYear() + craMinimumSupportYears);
  const justification = input.expectedUseJustification?.trim() ?? '';
  if (input.regimes.includes('CRA') && end.getTime() < minimumEnd.getTime() && justification === '') {
    throw new VigilError(
      'PRODUCT_SUPPORT_PERIOD_TOO_SHORT',
      'invalid',
      `a CRA product needs a support period of at least ${craMinimumSupportYears} years (CRA Art. 13(8)) ` +
        'unless expectedUseJustification documents a shorter expected use',
    );
  }
  if (new Set(input.regimes).size !== input.regimes.length) {
    throw new VigilError('PRODUCT_REGIME_DUPLICATE', 'invalid', 'regimes must not repeat');
  }
  const markets = input.memberStates ?? [];
  if (new Set(markets).size !== markets.length) {
    throw new VigilError('PRODUCT_MEMBER_STATE_DUPLICATE', 'invalid', 'memberStates must not repeat');
  }
}

export class ProductService {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;

  constructor(options: { store: Store; ledger: Ledger; clock: Clock }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
  }

  async create(actor: Actor, input: ProductInput): Promise<Product> {
    validateProduct(input);
    const id = newId();
    const now = toRfc3339(this.clock.now());
    await this.withNameConflict(input.name, () =>
      this.ledger.transact(actor, async (tx, record) => {
        await tx
          .insertInto('products')
          .values({
            id,
            name: input.name,
            model: input.model,
            hardware_revisions: JSON.stringify(input.hardwareRevisions),
            regimes: JSON.stringify(input.regimes),
            support_start: input.supportStart,
            support_end: input.supportEnd,
            expected_use_justification: input.expectedUseJustification ?? null,
            member_states: JSON.stringify(input.memberStates ?? []),
            created_at: now,
            updated_at: now,
          })
          .execute();
        record({ type: 'product.created', subject: id, details: { ...input } });
      }),
    );
    return this.get(id);
  }

  async update(actor: Actor, id: string, changes: Partial<ProductInput>): Promise<Product> {
    await this.withNameConflict(changes.name, () =>
      this.ledger.transact(actor, async (tx, record) => {
        const current = toProduct(await this.requireRow(tx, id), []);
        const next: ProductInput = { ...current, ...stripUndefined(changes) };
        validateProduct(next);
        const changed = Object.keys(stripUndefined(changes));
        if (changed.length === 0) return;
        await tx
          .updateTable('products')
          .set({
            name: next.name,
            model: next.model,
            hardware_revisions: JSON.stringify(next.hardwareRevisions),
            regimes: JSON.stringify(next.regimes),
            support_start: next.supportStart,
            support_end: next.supportEnd,
            expected_use_justification: next.expectedUseJustification ?? null,
            member_states: JSON.stringify(next.memberStates ?? []),
            updated_at: toRfc3339(this.clock.now()),
            version: (eb) => eb('version', '+', 1),
          })
          .where('id', '=', id)
          .execute();
        record({ type: 'product.updated', subject: id, details: { changes: stripUndefined(changes) } });
      }),
    );
    return this.get(id);
  }

  async get(id: string): Promise<Product> {
    const row = await this.requireRow(this.store.db, id);
    return toProduct(row, await this.gapsOf(this.store.db, [id]).then((gaps) => gaps.get(id) ?? []));
  }

  async list(options: {
    limit: number;
    cursor?: string | undefined;
  }): Promise<{ products: Product[]; nextCursor: string | null }> {
    let query = this.store.db
      .selectFrom('products')
      .selectAll()
      .orderBy('id')
      .limit(options.limit + 1);
    if (options.cursor !== undefined) query = query.where('id', '>', options.cursor);
    const rows = await query.execute();
    const page = rows.slice(0, options.limit);
    const gaps = await this.gapsOf(
      this.store.db,
      page.map((row) => row.id),
    );
    return {
      products: page.map((row) => toProduct(row, gaps.get(row.id) ?? [])),
      nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async ownership(id: string): Promise<Ownership> {
    await this.requireRow(this.store.db, id);
    const owners = await this.store.db
      .selectFrom('product_owners')
      .innerJoin('principals', 'principals.id', 'product_owners.principal_id')
      .select([
        'product_owners.stage',
        'product_owners.assigned_at',
        'principals.id',
        'principals.name',
        'principals.kind',
      ])
      .where('product_owners.product_id', '=', id)
      .execute();
    const stages = ownershipStages.map((stage) => {
      const owner = owners.find((row) => row.stage === stage);
      return {
        stage,
        owner: owner === undefined ? null : { id: owner.id, name: owner.name, kind: owner.kind },
        assignedAt: owner?.assigned_at ?? null,
      };
    });
    return {
      productId: id,
      stages,
      gaps: stages.filter((entry) => entry.owner === null).map((entry) => entry.stage),
    };
  }

  /** Names the accountable owner of one lifecycle stage (replacing any previous owner). */
  async assignOwner(
    actor: Actor,
    id: string,
    stage: OwnershipStage,
    principalId: string,
  ): Promise<Ownership> {
    await this.ledger.transact(actor, async (tx, record) => {
      await this.requireRow(tx, id);
      const principal = await tx
        .selectFrom('principals')
        .select(['id', 'disabled_at'])
        .where('id', '=', principalId)
        .executeTakeFirst();
      if (principal === undefined || principal.disabled_at !== null) {
        throw new VigilError('PRODUCT_OWNER_UNKNOWN', 'invalid', `no active principal ${principalId}`);
      }
      const previous = await tx
        .selectFrom('product_owners')
        .select('principal_id')
        .where('product_id', '=', id)
        .where('stage', '=', stage)
        .executeTakeFirst();
      if (previous?.principal_id === principalId) return;
      const now = toRfc3339(this.clock.now());
      await tx
        .insertInto('product_owners')
        .values({ product_id: id, stage, principal_id: principalId, assigned_at: now })
        .onConflict((conflict) =>
          conflict
            .columns(['product_id', 'stage'])
            .doUpdateSet({ principal_id: principalId, assigned_at: now }),
        )
        .execute();
      record({
        type: 'product.owner-assigned',
        subject: id,
        details: { stage, owner: principalId, previousOwner: previous?.principal_id ?? null },
      });
    });
    return this.ownership(id);
  }

  async unassignOwner(actor: Actor, id: string, stage: OwnershipStage): Promise<Ownership> {
    await this.ledger.transact(actor, async (tx, record) => {
      await this.requireRow(tx, id);
      const result = await tx
        .deleteFrom('product_owners')
        .where('product_id', '=', id)
        .where('stage', '=', stage)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) > 0)
        record({ type: 'product.owner-unassigned', subject: id, details: { stage } });
    });
    return this.ownership(id);
  }

  private requireRow(db: Queryable, id: string): Promise<ProductsTable> {
    return requireProduct(db, id);
  }

  private async gapsOf(db: Queryable, ids: string[]): Promise<Map<string, OwnershipStage[]>> {
    const gaps = new Map<string, OwnershipStage[]>();
    if (ids.length === 0) return gaps;
    const owners = await db
      .selectFrom('product_owners')
      .select(['product_id', 'stage'])
      .where('product_id', 'in', ids)
      .execute();
    for (const id of ids) {
      const owned = new Set(owners.filter((row) => row.product_id === id).map((row) => row.stage));
      gaps.set(
        id,
        ownershipStages.filter((stage) => !owned.has(stage)),
      );
    }
    return gaps;
  }

  private async withNameConflict<T>(name: string | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new VigilError(
          'PRODUCT_NAME_TAKEN',
          'conflict',
          `a product named "${name ?? ''}" already exists`,
        );
      }
      throw error;
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

function toProduct(row: ProductsTable, gaps: OwnershipStage[]): Product {
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    hardwareRevisions: JSON.parse(row.hardware_revisions) as string[],
    regimes: JSON.parse(row.regimes) as Regime[],
    supportStart: row.support_start,
    supportEnd: row.support_end,
    expectedUseJustification: row.expected_use_justification,
    memberStates: JSON.parse(row.member_states) as MemberState[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ownershipGaps: gaps,
  };
}
