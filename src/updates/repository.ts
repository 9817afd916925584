import type { Selectable } from 'kysely';
import { VigilError, toRfc3339, type Clock } from '../core/index.ts';
import type { Keystore } from '../identity/index.ts';
import type { Actor, Ledger, LedgerEvent } from '../ledger/index.ts';
import { requireProduct } from '../products/index.ts';
import {
  isUniqueViolation,
  type Store,
  type TufKeysTable,
  type TufMetadataTable,
  type Tx,
} from '../store/index.ts';
import {
  buildRoot,
  buildSnapshot,
  buildTargets,
  buildTimestamp,
  parseTargets,
  signMetadata,
  targetsOf,
  tufKeyFromSpki,
  tufRoles,
  type TargetDescription,
  type TufRole,
  type TufSigner,
} from './tuf/index.ts';

type KeyRow = Selectable<TufKeysTable>;
type MetadataRow = Selectable<TufMetadataTable>;

/** Lifetime of each role's metadata, in seconds. */
export type TufExpiries = Record<TufRole, number>;

/** The defaults: root 1 year, targets 90 days, snapshot 7 days, timestamp 1 day. */
export const defaultTufExpiries: TufExpiries = {
  root: 365 * 86_400,
  targets: 90 * 86_400,
  snapshot: 7 * 86_400,
  timestamp: 86_400,
};

export interface RepositoryInitOptions {
  /** Root keys to create (default 1) and how many must sign a root (default 1). */
  rootKeys?: number | undefined;
  rootThreshold?: number | undefined;
  /** One entry per release signer (targets key): the principal who may approve with it, or null for any release admin. */
  signers?: (string | null)[] | undefined;
  /** How many signers must approve a release (k of n; default 1). */
  targetsThreshold?: number | undefined;
}

export interface RepositoryStatus {
  productId: string;
  consistentSnapshot: true;
  roles: Record<
    TufRole,
    {
      version: number;
      expires: string;
      threshold: number;
      keys: { keyid: string; principalId: string | null; backend: string }[];
    }
  >;
}

interface RepositoryState {
  productId: string;
  rootThreshold: number;
  targetsThreshold: number;
  keys: Record<TufRole, KeyRow[]>;
  latest: Record<TufRole, MetadataRow>;
}

/** The metadata a change writes, role by role, and the keys it adds or retires. */
interface Change {
  metadata: MetadataRow[];
  addKeys?: KeyRow[];
  retireKeys?: KeyRow[];
  thresholds?: { root?: number; targets?: number };
}

const metadataFile = /^(?:(\d{1,9})\.)?(root|targets|snapshot|timestamp)\.json$/;

/**
 * One TUF repository per product (TUF specification 1.0): keys in the keystore (root and targets
 * keys in the installation's keystore, which may be PKCS#11; snapshot and timestamp as online
 * software keys), every version of every role kept and served. Each change signs outside the
 * database transaction (a keystore may be slow or use the store itself) and commits only if no
 * other change took the same versions meanwhile; a race is retried.
 */
export class TufRepositories {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly keystore: Keystore;
  private readonly onlineKeystore: Keystore;
  readonly expiries: TufExpiries;

  constructor(options: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    keystore: Keystore;
    onlineKeystore: Keystore;
    expiries?: Partial<TufExpiries> | undefined;
  }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.keystore = options.keystore;
    this.onlineKeystore = options.onlineKeystore;
    this.expiries = { ...defaultTufExpiries, ...options.expiries };
  }

  async initialize(
    actor: Actor,
    productId: string,
    options: RepositoryInitOptions = {},
  ): Promise<RepositoryStatus> {
    const rootKeys = options.rootKeys ?? 1;
    const rootThreshold = options.rootThreshold ?? 1;
    const signers = options.signers ?? [null];
    const targetsThreshold = options.targetsThreshold ?? 1;
    checkThreshold('root', rootThreshold, rootKeys);
    checkThreshold('targets', targetsThreshold, signers.length);
    await requireProduct(this.store.db, productId);
    if (signers.some((principal) => principal !== null)) {
      const known = await this.store.db
        .selectFrom('principals')
        .select('id')
        .where(
          'id',
          'in',
          signers.filter((principal): principal is string => principal !== null),
        )
        .execute();
      const missing = signers.filter(
        (principal) => principal !== null && !known.some((row) => row.id === principal),
      );
      if (missing.length > 0) {
        throw new VigilError('TUF_SIGNER_UNKNOWN', 'invalid', `no principal ${missing.join(', ')}`);
      }
    }
    if ((await this.loadState(productId)) !== null) {
      throw new VigilError(
        'TUF_REPOSITORY_EXISTS',
        'conflict',
        `product ${productId} already has a TUF repository`,
      );
    }
    const keys: Record<TufRole, KeyRow[]> = {
      root: await this.createKeys(
        productId,
        'root',
        Array.from({ length: rootKeys }, () => null),
      ),
      targets: await this.createKeys(productId, 'targets', signers),
      snapshot: await this.createKeys(productId, 'snapshot', [null]),
      timestamp: await this.createKeys(productId, 'timestamp', [null]),
    };
    const now = this.clock.now();
    const rootDocument = await signMetadata(
      buildRoot({
        version: 1,
        expires: this.expiryFrom(now, 'root'),
        keys: tufKeysOf(keys),
        thresholds: { root: rootThreshold, targets: targetsThreshold, snapshot: 1, timestamp: 1 },
      }),
      keys.root.map((row) => this.signerOf(row)),
    );
    const rows = [this.metadataRow(productId, 'root', 1, rootDocument, now)];
    rows.push(
      ...(await this.chainFromTargets(
        { productId, keys, targetsThreshold },
        {
          targets: { version: 1, targets: [], signers: keys.targets.slice(0, targetsThreshold) },
          snapshotVersion: 1,
          timestampVersion: 1,
        },
        now,
      )),
    );
    try {
      await this.ledger.transact(actor, async (tx, record) => {
        await tx
          .insertInto('tuf_repositories')
          .values({
            product_id: productId,
            root_threshold: rootThreshold,
            targets_threshold: targetsThreshold,
            created_at: toRfc3339(now),
          })
          .execute();
        await tx
          .insertInto('tuf_keys')
          .values(tufRoles.flatMap((role) => keys[role]))
          .execute();
        await tx.insertInto('tuf_metadata').values(rows).execute();
        record({
          type: 'tuf.repository-initialized',
          subject: productId,
          details: {
            thresholds: { root: rootThreshold, targets: targetsThreshold, snapshot: 1, timestamp: 1 },
            keys: Object.fromEntries(tufRoles.map((role) => [role, keys[role].map((row) => row.keyid)])),
          },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new VigilError(
          'TUF_REPOSITORY_EXISTS',
          'conflict',
          `product ${productId} already has a TUF repository`,
        );
      }
      throw error;
    }
    return this.status(productId);
  }

  /** The product's repository, created with the defaults (1 of 1 everywhere) on first use. */
  async ensure(actor: Actor, productId: string): Promise<void> {
    if ((await this.loadState(productId)) !== null) return;
    try {
      await this.initialize(actor, productId);
    } catch (error) {
      if (!(error instanceof VigilError && error.code === 'TUF_REPOSITORY_EXISTS')) throw error;
    }
  }

  async status(productId: string): Promise<RepositoryStatus> {
    const state = await this.requireState(productId);
    const thresholds = this.thresholdsOf(state);
    const roles = Object.fromEntries(
      tufRoles.map((role) => [
        role,
        {
          version: state.latest[role].version,
          expires: state.latest[role].expires_at,
          threshold: thresholds[role],
          keys: state.keys[role].map((row) => ({
            keyid: row.keyid,
            principalId: row.principal_id,
            backend: row.keystore_backend,
          })),
        },
      ]),
    ) as RepositoryStatus['roles'];
    return { productId, consistentSnapshot: true, roles };
  }

  /** Active targets keys (release signers) of a product. */
  async signers(productId: string): Promise<{ keyid: string; principalId: string | null }[]> {
    const state = await this.requireState(productId);
    return state.keys.targets.map((row) => ({ keyid: row.keyid, principalId: row.principal_id }));
  }

  async targetsThreshold(productId: string): Promise<number> {
    return (await this.requireState(productId)).targetsThreshold;
  }

  /**
   * A served metadata file (`N.root.json`, `N.targets.json`, `N.snapshot.json`, `timestamp.json`,
   * and the newest `root.json`, `targets.json`, `snapshot.json`); null when there is none.
   */
  async file(productId: string, name: string): Promise<{ document: string; versioned: boolean } | null> {
    const match = metadataFile.exec(name);
    if (match === null) return null;
    const role = match[2] as TufRole;
    const version = match[1] === undefined ? undefined : Number(match[1]);
    // §5.2: the timestamp is only ever fetched unversioned.
    if (role === 'timestamp' && version !== undefined) return null;
    let query = this.store.db
      .selectFrom('tuf_metadata')
      .select('document')
      .where('product_id', '=', productId)
      .where('role', '=', role);
    query =
      version === undefined
        ? query.orderBy('version', 'desc').limit(1)
        : query.where('version', '=', version);
    const row = await query.executeTakeFirst();
    return row === undefined ? null : { document: row.document, versioned: version !== undefined };
  }

  /**
   * Adds targets in a new targets version signed by `signerKeyids` (which must reach the
   * threshold), with the snapshot and timestamp that name it. `within` runs in the same
   * transaction, told the new targets version, for the caller's own writes and events.
   */
  async addTargets(
    actor: Actor,
    productId: string,
    targets: TargetDescription[],
    signerKeyids: readonly string[],
    within: (tx: Tx, record: (event: LedgerEvent) => void, targetsVersion: number) => Promise<void>,
  ): Promise<number> {
    return this.retrying(async () => {
      const state = await this.requireState(productId);
      const signers = state.keys.targets.filter((row) => signerKeyids.includes(row.keyid));
      if (signers.length < state.targetsThreshold) {
        throw new VigilError(
          'TUF_THRESHOLD_NOT_MET',
          'conflict',
          `targets need ${state.targetsThreshold} signers, ${signers.length} approved`,
        );
      }
      const current = targetsOf(parseTargets(state.latest.targets.document).signed);
      const paths = new Set(targets.map((target) => target.path));
      const next = [...current.filter((target) => !paths.has(target.path)), ...targets];
      const now = this.clock.now();
      const targetsVersion = state.latest.targets.version + 1;
      const rows = await this.chainFromTargets(
        state,
        {
          targets: { version: targetsVersion, targets: next, signers },
          snapshotVersion: state.latest.snapshot.version + 1,
          timestampVersion: state.latest.timestamp.version + 1,
        },
        now,
      );
      await this.commit(actor, productId, { metadata: rows }, [], (tx, record) =>
        within(tx, record, targetsVersion),
      );
      return targetsVersion;
    });
  }

  /**
   * Root key rotation (§6.1): root N+1 lists `keys` new root keys with `threshold`, signed by the
   * old root keys and by the new ones, so a client holding root N accepts it and can check N+2.
   */
  async rotateRoot(
    actor: Actor,
    productId: string,
    options: { keys?: number; threshold?: number } = {},
  ): Promise<RepositoryStatus> {
    const count = options.keys ?? 1;
    const threshold = options.threshold ?? 1;
    checkThreshold('root', threshold, count);
    await this.requireState(productId);
    const fresh = await this.createKeys(
      productId,
      'root',
      Array.from({ length: count }, () => null),
    );
    await this.retrying(async () => {
      const state = await this.requireState(productId);
      const keys = { ...state.keys, root: fresh };
      const now = this.clock.now();
      const version = state.latest.root.version + 1;
      const document = await signMetadata(
        buildRoot({
          version,
          expires: this.expiryFrom(now, 'root'),
          keys: tufKeysOf(keys),
          thresholds: { ...this.thresholdsOf(state), root: threshold },
        }),
        [...state.keys.root, ...fresh].map((row) => this.signerOf(row)),
      );
      await this.commit(
        actor,
        productId,
        {
          metadata: [this.metadataRow(productId, 'root', version, document, now)],
          addKeys: fresh,
          retireKeys: state.keys.root,
          thresholds: { root: threshold },
        },
        [
          {
            type: 'tuf.root-rotated',
            subject: productId,
            details: {
              version,
              threshold,
              keys: fresh.map((row) => row.keyid),
              retired: state.keys.root.map((row) => row.keyid),
            },
          },
        ],
      );
    });
    return this.status(productId);
  }

  /**
   * Online-key rotation: new snapshot and timestamp keys in root N+1 (signed by the root keys),
   * then snapshot and timestamp re-signed with them. A client that updates root drops the old
   * timestamp and snapshot keys (§5.3.11) and takes the new versions.
   */
  async rotateOnlineKeys(actor: Actor, productId: string): Promise<RepositoryStatus> {
    await this.requireState(productId);
    const snapshotKeys = await this.createKeys(productId, 'snapshot', [null]);
    const timestampKeys = await this.createKeys(productId, 'timestamp', [null]);
    await this.retrying(async () => {
      const state = await this.requireState(productId);
      const keys = { ...state.keys, snapshot: snapshotKeys, timestamp: timestampKeys };
      const now = this.clock.now();
      const rootVersion = state.latest.root.version + 1;
      const rootDocument = await signMetadata(
        buildRoot({
          version: rootVersion,
          expires: this.expiryFrom(now, 'root'),
          keys: tufKeysOf(keys),
          thresholds: this.thresholdsOf(state),
        }),
        state.keys.root.map((row) => this.signerOf(row)),
      );
      const rows = [
        this.metadataRow(productId, 'root', rootVersion, rootDocument, now),
        ...(await this.chainFromSnapshot(
          { ...state, keys },
          state.latest.targets.version,
          state.latest.snapshot.version + 1,
          state.latest.timestamp.version + 1,
          now,
        )),
      ];
      await this.commit(
        actor,
        productId,
        {
          metadata: rows,
          addKeys: [...snapshotKeys, ...timestampKeys],
          retireKeys: [...state.keys.snapshot, ...state.keys.timestamp],
        },
        [
          {
            type: 'tuf.online-keys-rotated',
            subject: productId,
            details: {
              rootVersion,
              snapshot: snapshotKeys.map((row) => row.keyid),
              timestamp: timestampKeys.map((row) => row.keyid),
            },
          },
        ],
      );
    });
    return this.status(productId);
  }

  /**
   * Re-signs every role whose metadata has less than half its lifetime left (same content, next
   * version), so devices never meet expired metadata (§5.4.x freeze protection stays meaningful).
   * Returns what it refreshed.
   */
  async refreshExpiring(actor: Actor): Promise<{ productId: string; roles: TufRole[] }[]> {
    const products = await this.store.db.selectFrom('tuf_repositories').select('product_id').execute();
    const refreshed: { productId: string; roles: TufRole[] }[] = [];
    for (const { product_id: productId } of products) {
      const roles = await this.retrying(async () => {
        const state = await this.requireState(productId);
        const now = this.clock.now();
        const due = tufRoles.filter(
          (role) =>
            Date.parse(state.latest[role].expires_at) - now.getTime() < (this.expiries[role] * 1000) / 2,
        );
        if (due.length === 0) return [];
        const rows: MetadataRow[] = [];
        if (due.includes('root')) {
          const version = state.latest.root.version + 1;
          const document = await signMetadata(
            buildRoot({
              version,
              expires: this.expiryFrom(now, 'root'),
              keys: tufKeysOf(state.keys),
              thresholds: this.thresholdsOf(state),
            }),
            state.keys.root.map((row) => this.signerOf(row)),
          );
          rows.push(this.metadataRow(productId, 'root', version, document, now));
        }
        const next = {
          snapshotVersion: state.latest.snapshot.version + 1,
          timestampVersion: state.latest.timestamp.version + 1,
        };
        if (due.includes('targets')) {
          // Same targets, re-signed by the threshold of release signers the server holds.
          rows.push(
            ...(await this.chainFromTargets(
              state,
              {
                targets: {
                  version: state.latest.targets.version + 1,
                  targets: targetsOf(parseTargets(state.latest.targets.document).signed),
                  signers: state.keys.targets.slice(0, state.targetsThreshold),
                },
                ...next,
              },
              now,
            )),
          );
        } else if (due.includes('snapshot')) {
          rows.push(
            ...(await this.chainFromSnapshot(
              state,
              state.latest.targets.version,
              next.snapshotVersion,
              next.timestampVersion,
              now,
            )),
          );
        } else if (due.includes('timestamp')) {
          const document = await signMetadata(
            buildTimestamp({
              version: next.timestampVersion,
              expires: this.expiryFrom(now, 'timestamp'),
              snapshotVersion: state.latest.snapshot.version,
              snapshotDocument: state.latest.snapshot.document,
            }),
            state.keys.timestamp.map((row) => this.signerOf(row)),
          );
          rows.push(this.metadataRow(productId, 'timestamp', next.timestampVersion, document, now));
        }
        const written = [...new Set(rows.map((row) => row.role))];
        await this.commit(actor, productId, { metadata: rows }, [
          {
            type: 'tuf.metadata-refreshed',
            subject: productId,
            details: Object.fromEntries(rows.map((row) => [row.role, row.version])),
          },
        ]);
        return written;
      });
      if (roles.length > 0) refreshed.push({ productId, roles });
    }
    return refreshed;
  }

  private async chainFromTargets(
    state: Pick<RepositoryState, 'productId' | 'keys' | 'targetsThreshold'>,
    next: {
      targets: { version: number; targets: TargetDescription[]; signers: KeyRow[] };
      snapshotVersion: number;
      timestampVersion: number;
    },
    now: Date,
  ): Promise<MetadataRow[]> {
    const document = await signMetadata(
      buildTargets({
        version: next.targets.version,
        expires: this.expiryFrom(now, 'targets'),
        targets: next.targets.targets,
      }),
      next.targets.signers.map((row) => this.signerOf(row)),
    );
    return [
      this.metadataRow(state.productId, 'targets', next.targets.version, document, now),
      ...(await this.chainFromSnapshot(
        state,
        next.targets.version,
        next.snapshotVersion,
        next.timestampVersion,
        now,
      )),
    ];
  }

  private async chainFromSnapshot(
    state: Pick<RepositoryState, 'productId' | 'keys'>,
    targetsVersion: number,
    snapshotVersion: number,
    timestampVersion: number,
    now: Date,
  ): Promise<MetadataRow[]> {
    const snapshot = await signMetadata(
      buildSnapshot({ version: snapshotVersion, expires: this.expiryFrom(now, 'snapshot'), targetsVersion }),
      state.keys.snapshot.map((row) => this.signerOf(row)),
    );
    const timestamp = await signMetadata(
      buildTimestamp({
        version: timestampVersion,
        expires: this.expiryFrom(now, 'timestamp'),
        snapshotVersion,
        snapshotDocument: snapshot,
      }),
      state.keys.timestamp.map((row) => this.signerOf(row)),
    );
    return [
      this.metadataRow(state.productId, 'snapshot', snapshotVersion, snapshot, now),
      this.metadataRow(state.productId, 'timestamp', timestampVersion, timestamp, now),
    ];
  }

  private async commit(
    actor: Actor,
    productId: string,
    change: Change,
    events: LedgerEvent[],
    within?: (tx: Tx, record: (event: LedgerEvent) => void) => Promise<void>,
  ): Promise<void> {
    const now = toRfc3339(this.clock.now());
    try {
      await this.ledger.transact(actor, async (tx, record) => {
        for (const row of change.retireKeys ?? []) {
          await tx
            .updateTable('tuf_keys')
            .set({ retired_at: now })
            .where('product_id', '=', productId)
            .where('role', '=', row.role)
            .where('keyid', '=', row.keyid)
            .execute();
        }
        if (change.addKeys !== undefined && change.addKeys.length > 0)
          await tx.insertInto('tuf_keys').values(change.addKeys).execute();
        if (change.thresholds?.root !== undefined) {
          await tx
            .updateTable('tuf_repositories')
            .set({ root_threshold: change.thresholds.root })
            .where('product_id', '=', productId)
            .execute();
        }
        // The primary key (product, role, version) makes a concurrent change that took the
        // same version fail here; `retrying` then rebuilds on the newer state.
        await tx.insertInto('tuf_metadata').values(change.metadata).execute();
        if (within !== undefined) await within(tx, record);
        for (const event of events) record(event);
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new VigilError(
          'TUF_REPOSITORY_BUSY',
          'conflict',
          'another change to the repository won the race',
        );
      throw error;
    }
  }

  private async retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof VigilError && error.code === 'TUF_REPOSITORY_BUSY') || attempt >= 5)
          throw error;
      }
    }
  }

  private async loadState(productId: string): Promise<RepositoryState | null> {
    const repository = await this.store.db
      .selectFrom('tuf_repositories')
      .selectAll()
      .where('product_id', '=', productId)
      .executeTakeFirst();
    if (repository === undefined) return null;
    const keyRows = await this.store.db
      .selectFrom('tuf_keys')
      .selectAll()
      .where('product_id', '=', productId)
      .where('retired_at', 'is', null)
      .orderBy('added_at')
      .orderBy('keyid')
      .execute();
    const latest = {} as Record<TufRole, MetadataRow>;
    for (const role of tufRoles) {
      const row = await this.store.db
        .selectFrom('tuf_metadata')
        .selectAll()
        .where('product_id', '=', productId)
        .where('role', '=', role)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (row === undefined)
        throw new VigilError(
          'TUF_REPOSITORY_BROKEN',
          'internal',
          `product ${productId} has no ${role} metadata`,
        );
      latest[role] = row;
    }
    const keys = Object.fromEntries(
      tufRoles.map((role) => [role, keyRows.filter((row) => row.role === role)]),
    ) as Record<TufRole, KeyRow[]>;
    return {
      productId,
      rootThreshold: repository.root_threshold,
      targetsThreshold: repository.targets_threshold,
      keys,
      latest,
    };
  }

  private async requireState(productId: string): Promise<RepositoryState> {
    const state = await this.loadState(productId);
    if (state === null) {
      throw new VigilError(
        'TUF_REPOSITORY_NOT_FOUND',
        'not_found',
        `product ${productId} has no TUF repository yet`,
      );
    }
    return state;
  }

  private thresholdsOf(state: RepositoryState): Record<TufRole, number> {
    return { root: state.rootThreshold, targets: state.targetsThreshold, snapshot: 1, timestamp: 1 };
  }

  private async createKeys(
    productId: string,
    role: TufRole,
    principals: (string | null)[],
  ): Promise<KeyRow[]> {
    // Root and targets keys are the offline-capable ones: they go where the installation keeps
    // its CA keys (PKCS#11 when configured). Snapshot and timestamp sign unattended.
    const keystore = role === 'root' || role === 'targets' ? this.keystore : this.onlineKeystore;
    const rows: KeyRow[] = [];
    for (const principal of principals) {
      const { ref, publicKey } = await keystore.generateKey('ecdsa-p256', `tuf ${role} ${productId}`);
      const key = tufKeyFromSpki(publicKey);
      rows.push({
        product_id: productId,
        role,
        keyid: key.keyid,
        keystore_key_id: ref.id,
        keystore_backend: ref.backend,
        public_key: key.public,
        principal_id: principal,
        added_at: toRfc3339(this.clock.now()),
        retired_at: null,
      });
    }
    return rows;
  }

  private signerOf(row: KeyRow): TufSigner {
    const keystore = row.keystore_backend === this.keystore.backend ? this.keystore : this.onlineKeystore;
    const ref = { id: row.keystore_key_id, backend: row.keystore_backend, algorithm: 'ecdsa-p256' as const };
    return { keyid: row.keyid, sign: (data) => keystore.sign(ref, data, 'sha256') };
  }

  private expiryFrom(now: Date, role: TufRole): Date {
    return new Date(Math.floor(now.getTime() / 1000) * 1000 + this.expiries[role] * 1000);
  }

  private metadataRow(
    productId: string,
    role: TufRole,
    version: number,
    document: string,
    now: Date,
  ): MetadataRow {
    const expires = (JSON.parse(document) as { signed: { expires: string } }).signed.expires;
    return {
      product_id: productId,
      role,
      version,
      document,
      expires_at: expires,
      created_at: toRfc3339(now),
    };
  }
}

function tufKeysOf(keys: Record<TufRole, KeyRow[]>) {
  return Object.fromEntries(
    tufRoles.map((role) => [
      role,
      keys[role].map((row) => ({
        keyid: row.keyid,
        keytype: 'ecdsa' as const,
        scheme: 'ecdsa-sha2-nistp256' as const,
        public: row.public_key,
      })),
    ]),
  ) as Record<TufRole, { keyid: string; keytype: 'ecdsa'; scheme: 'ecdsa-sha2-nistp256'; public: string }[]>;
}

function checkThreshold(role: TufRole, threshold: number, keys: number): void {
  if (!Number.isInteger(keys) || keys < 1 || keys > 16) {
    throw new VigilError(
      'TUF_THRESHOLD_INVALID',
      'invalid',
      `a ${role} role needs between 1 and 16 keys, not ${keys}`,
    );
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > keys) {
    throw new VigilError(
      'TUF_THRESHOLD_INVALID',
      'invalid',
      `the ${role} threshold must be between 1 and ${keys}, not ${threshold}`,
    );
  }
}
