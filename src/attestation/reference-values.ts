import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger, LedgerEvent } from '../ledger/index.ts';
import { requireProduct } from '../products/index.ts';
import {
  isUniqueViolation,
  type AttestationPoliciesTable,
  type AttestationReferenceValuesTable,
  type Store,
  type Tx,
} from '../store/index.ts';
import type { AppraisalPolicy, ReferenceValueSet, ReferenceValues } from './appraisal.ts';
import { defaultPolicy } from './appraisal.ts';

export interface StoredReferenceValues extends ReferenceValueSet {
  productId: string;
  hardwareRevision: string;
  source: AttestationReferenceValuesTable['source'];
  createdAt: string;
}

/** Reference-value rows never change once written: each document is parsed once (bounded). */
const parsedValues = new Map<string, ReferenceValues>();

function valuesOf(row: AttestationReferenceValuesTable): ReferenceValues {
  let values = parsedValues.get(row.id);
  if (values === undefined) {
    values = JSON.parse(row.document) as ReferenceValues;
    if (parsedValues.size >= 10_000) parsedValues.clear();
    parsedValues.set(row.id, values);
  }
  return values;
}

function toStored(row: AttestationReferenceValuesTable): StoredReferenceValues {
  return {
    id: row.id,
    productId: row.product_id,
    hardwareRevision: row.hardware_revision,
    release: row.release === '' ? null : row.release,
    version: row.version,
    values: valuesOf(row),
    source: row.source,
    createdAt: row.created_at,
  };
}

/** Two writers numbering the same next version: one wins, the other is told to retry (no 500). */
async function versionRace<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (isUniqueViolation(error))
      throw new VigilError(
        'ATTESTATION_VERSION_CONFLICT',
        'conflict',
        'another version was added at the same moment; send it again',
      );
    throw error;
  }
}

/**
 * Reference values per product, hardware revision and release (RFC 9334 Reference Value Provider
 * input), versioned: an upload for the same key is a new version, the old one stays for records
 * that cite it. What applies at a time is the newest version of each release created by then.
 */
export interface ReferenceValuesInput {
  productId: string;
  hardwareRevision: string;
  release?: string | undefined;
  values: ReferenceValues;
  source: AttestationReferenceValuesTable['source'];
}

export class ReferenceValueStore {
  constructor(private readonly options: { store: Store; ledger: Ledger; clock: Clock }) {
    // Every appraisal runs this lookup: compiled once (Store.prepare).
    this.inForceRows = options.store.prepare<[string, string, string], AttestationReferenceValuesTable>(
      3,
      (db, productId, hardwareRevision, at) =>
        db
          .selectFrom('attestation_reference_values')
          .selectAll()
          .where('product_id', '=', productId as string)
          .where('hardware_revision', '=', hardwareRevision as string)
          .where('created_at', '<=', at as string)
          .orderBy('version', 'desc'),
    );
  }

  private readonly inForceRows: (
    productId: string,
    hardwareRevision: string,
    at: string,
  ) => Promise<AttestationReferenceValuesTable[]>;

  async add(actor: Actor, input: ReferenceValuesInput): Promise<StoredReferenceValues> {
    return versionRace(
      this.options.ledger.transact(actor, (tx, record) => this.addWithin(tx, record, input)),
    );
  }

  /** Adds reference values inside a caller's transaction (a release brings its own). */
  async addWithin(
    tx: Tx,
    record: (event: LedgerEvent) => void,
    input: ReferenceValuesInput,
  ): Promise<StoredReferenceValues> {
    await requireProduct(tx, input.productId);
    const release = input.release ?? '';
    const latest = await tx
      .selectFrom('attestation_reference_values')
      .select(({ fn }) => fn.max('version').as('version'))
      .where('product_id', '=', input.productId)
      .where('hardware_revision', '=', input.hardwareRevision)
      .where('release', '=', release)
      .executeTakeFirst();
    const row: AttestationReferenceValuesTable = {
      id: newId(),
      product_id: input.productId,
      hardware_revision: input.hardwareRevision,
      release,
      version: Number(latest?.version ?? 0) + 1,
      document: JSON.stringify(input.values),
      source: input.source,
      created_at: toRfc3339(this.options.clock.now()),
    };
    await tx.insertInto('attestation_reference_values').values(row).execute();
    record({
      type: 'attestation.reference-values-added',
      subject: row.id,
      details: {
        productId: row.product_id,
        hardwareRevision: row.hardware_revision,
        release: input.release ?? null,
        version: row.version,
        source: row.source,
        components: input.values.components.length,
      },
    });
    return toStored(row);
  }

  async list(filter: {
    productId: string;
    hardwareRevision?: string | undefined;
  }): Promise<StoredReferenceValues[]> {
    let query = this.options.store.db
      .selectFrom('attestation_reference_values')
      .selectAll()
      .where('product_id', '=', filter.productId);
    if (filter.hardwareRevision !== undefined)
      query = query.where('hardware_revision', '=', filter.hardwareRevision);
    const rows = await query.orderBy('id', 'desc').execute();
    return rows.map(toStored);
  }

  /** Exactly these sets (the ones an archived record cites). */
  async byIds(ids: readonly string[]): Promise<ReferenceValueSet[]> {
    if (ids.length === 0) return [];
    const rows = await this.options.store.db
      .selectFrom('attestation_reference_values')
      .selectAll()
      .where('id', 'in', ids)
      .execute();
    const byId = new Map(rows.map((row) => [row.id, toStored(row)]));
    return ids.map((id) => {
      const set = byId.get(id);
      if (set === undefined)
        throw new VigilError(
          'ATTESTATION_REFERENCE_VALUES_NOT_FOUND',
          'not_found',
          `no reference values ${id}`,
        );
      return { id: set.id, release: set.release, version: set.version, values: set.values };
    });
  }

  /** The sets in force at `at`: per release, the newest version created by then. */
  async inForce(productId: string, hardwareRevision: string, at: string): Promise<ReferenceValueSet[]> {
    const rows = await this.inForceRows(productId, hardwareRevision, at);
    const newest = new Map<string, AttestationReferenceValuesTable>();
    for (const row of rows) if (!newest.has(row.release)) newest.set(row.release, row);
    return [...newest.values()]
      .map(toStored)
      .map(({ id, release, version, values }) => ({ id, release, version, values }));
  }
}

export interface StoredPolicy {
  /** URI naming this policy version in results (EAR ear_appraisal_policy_ids). */
  id: string;
  productId: string | null;
  version: number;
  policy: AppraisalPolicy;
  createdAt: string | null;
}

export const defaultPolicyId = 'urn:vigil:attestation-policy:default:1';

export function policyId(productId: string, version: number): string {
  return `urn:vigil:attestation-policy:${productId}:${version}`;
}

/** Appraisal policies per product, versioned; a product without one is appraised under the default. */
export class PolicyStore {
  constructor(private readonly options: { store: Store; ledger: Ledger; clock: Clock }) {
    // Every appraisal runs this lookup: compiled once (Store.prepare).
    this.inForceRow = options.store.prepare<[string, string], AttestationPoliciesTable>(
      2,
      (db, productId, at) =>
        db
          .selectFrom('attestation_policies')
          .selectAll()
          .where('product_id', '=', productId as string)
          .where('created_at', '<=', at as string)
          .orderBy('version', 'desc')
          .limit(1),
    );
  }

  private readonly inForceRow: (productId: string, at: string) => Promise<AttestationPoliciesTable[]>;

  async set(actor: Actor, productId: string, policy: AppraisalPolicy): Promise<StoredPolicy> {
    const { ledger, clock } = this.options;
    return versionRace(
      ledger.transact(actor, async (tx, record) => {
        await requireProduct(tx, productId);
        const latest = await tx
          .selectFrom('attestation_policies')
          .select(({ fn }) => fn.max('version').as('version'))
          .where('product_id', '=', productId)
          .executeTakeFirst();
        const version = Number(latest?.version ?? 0) + 1;
        const createdAt = toRfc3339(clock.now());
        await tx
          .insertInto('attestation_policies')
          .values({ product_id: productId, version, document: JSON.stringify(policy), created_at: createdAt })
          .execute();
        const stored = { id: policyId(productId, version), productId, version, policy, createdAt };
        record({
          type: 'attestation.policy-set',
          subject: productId,
          details: { policyId: stored.id, version, policy },
        });
        return stored;
      }),
    );
  }

  /** The policy in force for a product at `at` (the default when none was set by then). */
  async inForce(productId: string, at: string): Promise<StoredPolicy> {
    const [row] = await this.inForceRow(productId, at);
    if (row === undefined)
      return { id: defaultPolicyId, productId: null, version: 0, policy: defaultPolicy, createdAt: null };
    return {
      id: policyId(productId, row.version),
      productId,
      version: row.version,
      policy: JSON.parse(row.document) as AppraisalPolicy,
      createdAt: row.created_at,
    };
  }

  /** A recorded policy version (the default is version 0). */
  async version(productId: string, version: number): Promise<StoredPolicy> {
    if (version === 0)
      return { id: defaultPolicyId, productId: null, version: 0, policy: defaultPolicy, createdAt: null };
    const row = await this.options.store.db
      .selectFrom('attestation_policies')
      .selectAll()
      .where('product_id', '=', productId)
      .where('version', '=', version)
      .executeTakeFirst();
    if (row === undefined)
      throw new VigilError(
        'ATTESTATION_POLICY_NOT_FOUND',
        'not_found',
        `no policy version ${version} for product ${productId}`,
      );
    return {
      id: policyId(productId, version),
      productId,
      version,
      policy: JSON.parse(row.document) as AppraisalPolicy,
      createdAt: row.created_at,
    };
  }

  async history(productId: string): Promise<StoredPolicy[]> {
    await requireProduct(this.options.store.db, productId);
    const rows = await this.options.store.db
      .selectFrom('attestation_policies')
      .selectAll()
      .where('product_id', '=', productId)
      .orderBy('version', 'desc')
      .execute();
    return rows.map((row) => ({
      id: policyId(productId, row.version),
      productId,
      version: row.version,
      policy: JSON.parse(row.document) as AppraisalPolicy,
      createdAt: row.created_at,
    }));
  }
}
