import { toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger } from '../ledger/index.ts';
import { requireProduct } from '../products/index.ts';
import type { Queryable, Store } from '../store/index.ts';
import { defaultProfile, validateProfile, type CertificateProfile } from './profiles.ts';

/** Certificate profiles per product, versioned; a product without one uses the default. */
export class IdentityProfiles {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;

  constructor(options: { store: Store; ledger: Ledger; clock: Clock }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
  }

  /** Profiles read outside a transaction are cached for a second (enrollment reads one per request). */
  private readonly cache = new Map<
    string,
    { profile: CertificateProfile & { version: number }; until: number }
  >();

  async get(productId: string, db?: Queryable): Promise<CertificateProfile & { version: number }> {
    if (db === undefined) {
      const cached = this.cache.get(productId);
      if (cached !== undefined && cached.until > Date.now()) return cached.profile;
      const profile = await this.read(productId, this.store.db);
      this.cache.set(productId, { profile, until: Date.now() + 1000 });
      return profile;
    }
    return this.read(productId, db);
  }

  private async read(productId: string, db: Queryable): Promise<CertificateProfile & { version: number }> {
    const row = await db
      .selectFrom('certificate_profiles')
      .select(['profile', 'version'])
      .where('product_id', '=', productId)
      .executeTakeFirst();
    if (row === undefined) return { ...defaultProfile, version: 0 };
    return { ...(JSON.parse(row.profile) as CertificateProfile), version: row.version };
  }

  async set(
    actor: Actor,
    productId: string,
    changes: Partial<CertificateProfile>,
  ): Promise<CertificateProfile & { version: number }> {
    const updated = await this.ledger.transact(actor, async (tx, record) => {
      await requireProduct(tx, productId);
      const current = await this.get(productId, tx);
      const { version, ...base } = current;
      const next = validateProfile({
        ...base,
        ...Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)),
      });
      const row = {
        product_id: productId,
        profile: JSON.stringify(next),
        version: version + 1,
        updated_at: toRfc3339(this.clock.now()),
      };
      await tx
        .insertInto('certificate_profiles')
        .values(row)
        .onConflict((conflict) =>
          conflict
            .column('product_id')
            .doUpdateSet({ profile: row.profile, version: row.version, updated_at: row.updated_at }),
        )
        .execute();
      record({
        type: 'certificate-profile.updated',
        subject: productId,
        details: { ...next, version: row.version },
      });
      return { ...next, version: row.version };
    });
    // Only after the commit: a concurrent read must not cache the old profile again.
    this.cache.delete(productId);
    return updated;
  }
}
