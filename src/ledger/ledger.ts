import { sql } from 'kysely';
import { VigilError, canonicalJsonBytes, toRfc3339, type Clock, type Ed25519Signer } from '../core/index.ts';
import type { Queryable, Store, Tx } from '../store/index.ts';
import {
  TreeBuilder,
  consistencyProofPlan,
  encodeEntryBundle,
  formatCheckpoint,
  formatProofFile,
  formatVerifierKey,
  frontierRefs,
  inclusionProofPlan,
  leafHash,
  rootPlan,
  signNote,
  type NodeRef,
} from './verify/index.ts';

/** What a domain service records: `<noun>.<past-verb>`, the record it is about, and facts (never secrets). */
export interface LedgerEvent {
  type: string;
  subject?: string | null;
  details?: Record<string, unknown>;
}

/** Who caused a change: a principal, and the token it used if it came through the API. */
export interface Actor {
  principal: string;
  token?: string | undefined;
}

export const systemActor: Actor = { principal: 'system' };

export interface StoredCheckpoint {
  size: number;
  rootHash: Buffer;
  note: string;
  createdAt: string;
}

interface GroupedWork {
  actor: Actor;
  work: (tx: Tx, record: (event: LedgerEvent) => void) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Callers sharing one grouped transaction at most. */
const maxGroup = 256;

/** Hashes at Merkle level 8·L make up a tile of level L (C2SP tlog-tiles, tile height 8). */
const tileHeight = 8;
const tileWidth = 1 << tileHeight;
const integrateChunk = 50_000;

/**
 * The tamper-evident record. Appends are sequenced inside the caller's transaction (so a domain
 * change and its event commit together or not at all); integration later folds sequenced entries
 * into the Merkle tree and signs a checkpoint, as Tessera separates sequencing from integration.
 */
export class Ledger {
  readonly origin: string;
  readonly verifierKey: string;
  private readonly store: Store;
  private readonly signer: Ed25519Signer;
  private readonly clock: Clock;

  constructor(options: { store: Store; signer: Ed25519Signer; origin: string; clock: Clock }) {
    this.store = options.store;
    this.signer = options.signer;
    this.origin = options.origin;
    this.clock = options.clock;
    this.verifierKey = formatVerifierKey(options.origin, options.signer.publicKey);
    // Every append and every grouped caller runs these: compiled once (Store.statement).
    this.advanceSequence = this.store.statement<[number], { value: number | bigint }>(1, (db, count) =>
      db
        .updateTable('ledger_sequence')
        .set({ value: sql`value + ${count}` })
        .where('name', '=', 'append')
        .returning('value'),
    );
    // Each grouped caller's savepoint is released before the next one's opens, so one name serves.
    this.savepoint = this.store.statement(0, () => sql`savepoint grouped_call`);
    this.releaseSavepoint = this.store.statement(0, () => sql`release savepoint grouped_call`);
    this.rollbackSavepoint = this.store.statement(0, () => sql`rollback to savepoint grouped_call`);
  }

  private readonly advanceSequence: (
    tx: Tx,
    count: number,
  ) => Promise<{ rows: { value: number | bigint }[] }>;
  private readonly savepoint: (tx: Tx) => Promise<unknown>;
  private readonly releaseSavepoint: (tx: Tx) => Promise<unknown>;
  private readonly rollbackSavepoint: (tx: Tx) => Promise<unknown>;

  /**
   * Runs `work` in one transaction; the events it records are appended last, in the same
   * transaction. Appending last keeps the ledger's lock held only for the final statements.
   */
  async transact<T>(
    actor: Actor,
    work: (tx: Tx, record: (event: LedgerEvent) => void) => Promise<T>,
  ): Promise<T> {
    return this.store.transaction(async (tx) => {
      const events: LedgerEvent[] = [];
      const result = await work(tx, (event) => events.push(event));
      if (events.length > 0) await this.append(tx, actor, events);
      return result;
    });
  }

  /**
   * Like `transact`, but concurrent callers share one database transaction (group commit). Each
   * caller's work runs inside its own savepoint, so a failure undoes only that caller's writes;
   * every caller is answered after the one commit. For hot paths such as enrollment, where a
   * commit (and fsync) per call would bound throughput by the disk instead of the CPU.
   */
  transactGrouped<T>(
    actor: Actor,
    work: (tx: Tx, record: (event: LedgerEvent) => void) => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.groupQueue.push({ actor, work, resolve, reject } as GroupedWork);
      if (!this.groupDraining) void this.drainGroups();
    });
  }

  private readonly groupQueue: GroupedWork[] = [];
  private groupDraining = false;

  private async drainGroups(): Promise<void> {
    this.groupDraining = true;
    try {
      while (this.groupQueue.length > 0) {
        // Let pending I/O run first: requests already received then join this group instead of
        // each paying for a commit of its own.
        await new Promise((resolve) => setImmediate(resolve));
        const batch = this.groupQueue.splice(0, maxGroup);
        const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        try {
          await this.store.transaction(async (tx) => {
            for (const item of batch) {
              await this.savepoint(tx);
              try {
                const events: LedgerEvent[] = [];
                const value = await item.work(tx, (event) => events.push(event));
                if (events.length > 0) await this.append(tx, item.actor, events);
                await this.releaseSavepoint(tx);
                outcomes.push({ ok: true, value });
              } catch (error) {
                await this.rollbackSavepoint(tx);
                await this.releaseSavepoint(tx);
                outcomes.push({ ok: false, error });
              }
            }
          });
        } catch (error) {
          for (const item of batch) item.reject(error);
          continue;
        }
        batch.forEach((item, position) => {
          const outcome = outcomes[position]!;
          if (outcome.ok) item.resolve(outcome.value);
          else item.reject(outcome.error);
        });
      }
    } finally {
      this.groupDraining = false;
    }
  }

  /**
   * Sequences events inside `tx`. The UPDATE ... RETURNING takes the row lock on the sequence, so
   * concurrent appenders on any number of processes commit in index order with no gaps.
   */
  async append(tx: Tx, actor: Actor, events: readonly LedgerEvent[]): Promise<{ firstIndex: number }> {
    if (events.length === 0) return { firstIndex: -1 };
    const [sequence] = (await this.advanceSequence(tx, events.length)).rows;
    if (sequence === undefined)
      throw new VigilError('LEDGER_SEQUENCE_GAP', 'internal', 'the ledger has no append sequence');
    const firstIndex = Number(sequence.value) - events.length;
    const at = toRfc3339(this.clock.now());
    const rows = events.map((event, offset) => {
      const index = firstIndex + offset;
      const document: Record<string, unknown> = {
        index,
        type: event.type,
        subject: event.subject ?? null,
        actor: actor.principal,
        at,
        details: event.details ?? {},
      };
      if (actor.token !== undefined) document.token = actor.token;
      const leaf = canonicalJsonBytes(document);
      return {
        idx: index,
        leaf,
        leaf_hash: leafHash(leaf),
        type: event.type,
        subject: event.subject ?? null,
        at,
      };
    });
    await this.store.insertMany(tx as Tx, 'ledger_entries', rows);
    return { firstIndex };
  }

  /**
   * Folds every sequenced entry into the tree and signs a checkpoint over it. Runs under the
   * 'integrate' row lock, so across processes there is one chain of checkpoints. Returns the new
   * checkpoint, or undefined when there was nothing new.
   */
  async integrate(): Promise<StoredCheckpoint | undefined> {
    let latest: StoredCheckpoint | undefined;
    for (;;) {
      const result = await this.store.transaction((tx) => this.integrateChunk(tx));
      if (result === undefined) return latest;
      latest = result.checkpoint;
      if (!result.more) return latest;
    }
  }

  private async integrateChunk(tx: Tx): Promise<{ checkpoint: StoredCheckpoint; more: boolean } | undefined> {
    let lock = tx.selectFrom('ledger_sequence').select('value').where('name', '=', 'integrate');
    if (this.store.dialect === 'postgres') lock = lock.forUpdate();
    const integrated = Number((await lock.executeTakeFirstOrThrow()).value);

    const fresh = await tx
      .selectFrom('ledger_entries')
      .select(['idx', 'leaf_hash'])
      .where('idx', '>=', integrated)
      .orderBy('idx')
      .limit(integrateChunk)
      .execute();
    const hasCheckpoint =
      (await tx.selectFrom('ledger_checkpoints').select('size').limit(1).executeTakeFirst()) !== undefined;
    if (fresh.length === 0 && hasCheckpoint) return undefined;

    const frontier = await this.readNodes(tx, frontierRefs(integrated));
    const tree = TreeBuilder.fromFrontier(
      integrated,
      frontierRefs(integrated).map((ref) => frontier(ref)),
    );
    const nodes: { level: number; idx: number; hash: Buffer }[] = [];
    for (const entry of fresh) {
      if (Number(entry.idx) !== tree.size) {
        throw new VigilError('LEDGER_SEQUENCE_GAP', 'internal', `ledger entry ${tree.size} is missing`);
      }
      for (const node of tree.append(entry.leaf_hash)) {
        if (node.level > 0) nodes.push({ level: node.level, idx: node.index, hash: node.hash });
      }
    }
    await this.store.insertMany(tx, 'ledger_nodes', nodes);
    const checkpoint = this.signCheckpoint(tree.size, tree.root());
    await tx
      .insertInto('ledger_checkpoints')
      .values({
        size: checkpoint.size,
        root_hash: checkpoint.rootHash,
        note: checkpoint.note,
        created_at: checkpoint.createdAt,
      })
      .onConflict((conflict) => conflict.column('size').doNothing())
      .execute();
    await tx
      .updateTable('ledger_sequence')
      .set({ value: tree.size })
      .where('name', '=', 'integrate')
      .execute();
    return { checkpoint, more: fresh.length === integrateChunk };
  }

  private signCheckpoint(size: number, rootHash: Buffer): StoredCheckpoint {
    const text = formatCheckpoint({ origin: this.origin, size, rootHash });
    return {
      size,
      rootHash,
      note: signNote(text, this.origin, this.signer),
      createdAt: toRfc3339(this.clock.now()),
    };
  }

  /**
   * Integrates every `intervalMs` while entries arrive (C2SP checkpoints at least once a second).
   * Returns a function that stops the loop and waits for a running round to finish.
   */
  startIntegrator(
    intervalMs = 250,
    onError: (error: unknown) => void = () => undefined,
  ): () => Promise<void> {
    let running: Promise<unknown> = Promise.resolve();
    let stopped = false;
    const timer = setInterval(() => {
      running = running.then(() => (stopped ? undefined : this.integrate().catch(onError)));
    }, intervalMs);
    return async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    };
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const row = await this.store.db
      .selectFrom('ledger_checkpoints')
      .selectAll()
      .orderBy('size', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : toCheckpoint(row);
  }

  async checkpoints(): Promise<StoredCheckpoint[]> {
    const rows = await this.store.db.selectFrom('ledger_checkpoints').selectAll().orderBy('size').execute();
    return rows.map(toCheckpoint);
  }

  /** Size covered by the latest checkpoint: what proofs and tiles may be asked about. */
  async integratedSize(): Promise<number> {
    return (await this.latestCheckpoint())?.size ?? 0;
  }

  async entries(start: number, end: number): Promise<{ index: number; leaf: Buffer }[]> {
    const rows = await this.store.db
      .selectFrom('ledger_entries')
      .select(['idx', 'leaf'])
      .where('idx', '>=', start)
      .where('idx', '<', end)
      .orderBy('idx')
      .execute();
    return rows.map((row) => ({ index: Number(row.idx), leaf: row.leaf }));
  }

  async entriesOfSubject(subject: string): Promise<{ index: number; leaf: Buffer }[]> {
    const rows = await this.store.db
      .selectFrom('ledger_entries')
      .select(['idx', 'leaf'])
      .where('subject', '=', subject)
      .orderBy('idx')
      .execute();
    return rows.map((row) => ({ index: Number(row.idx), leaf: row.leaf }));
  }

  /** RFC 9162 §2.1.3.1 inclusion proof of entry `index` in the tree of `size`. */
  async inclusionProof(index: number, size: number): Promise<Buffer[]> {
    await this.requireIntegrated(size);
    const plan = inclusionProofPlan(index, size);
    return plan.build(await this.readNodes(this.store.db, plan.nodes));
  }

  /** RFC 9162 §2.1.4.1 consistency proof between the trees of size `from` and `to`. */
  async consistencyProof(from: number, to: number): Promise<Buffer[]> {
    await this.requireIntegrated(to);
    const plan = consistencyProofPlan(from, to);
    return plan.build(await this.readNodes(this.store.db, plan.nodes));
  }

  async rootHash(size: number): Promise<Buffer> {
    await this.requireIntegrated(size);
    const plan = rootPlan(size);
    const [root] = plan.build(await this.readNodes(this.store.db, plan.nodes));
    if (root === undefined)
      throw new VigilError('LEDGER_NODE_MISSING', 'internal', 'root could not be computed');
    return root;
  }

  /** The C2SP tlog-proof evidence file for one entry, against the latest checkpoint, carrying the entry. */
  async proofFile(index: number): Promise<string> {
    const checkpoint = await this.latestCheckpoint();
    if (checkpoint === undefined || index >= checkpoint.size) {
      throw new VigilError(
        'LEDGER_ENTRY_NOT_INTEGRATED',
        'not_found',
        `entry ${index} is not yet in a checkpoint`,
      );
    }
    const proof = await this.inclusionProof(index, checkpoint.size);
    const [entry] = await this.entries(index, index + 1);
    if (entry === undefined)
      throw new VigilError('LEDGER_NODE_MISSING', 'internal', `entry ${index} is missing`);
    // The entry rides along as `extra`: unauthenticated by the format, but bound by the proof itself.
    return formatProofFile({ index, proof, checkpointNote: checkpoint.note, extra: entry.leaf });
  }

  /** Hashes of one C2SP tlog-tiles tile: Merkle level 8·`level`, positions 256·`index` + [0, width). */
  async tile(level: number, index: number, width: number): Promise<Buffer> {
    const size = await this.integratedSize();
    const available = Math.floor(size / 2 ** (tileHeight * level));
    const first = index * tileWidth;
    if (width < 1 || width > tileWidth || first + width > available) {
      throw new VigilError('LEDGER_TILE_NOT_FOUND', 'not_found', 'no such tile in the integrated tree');
    }
    let hashes: Buffer[];
    if (level === 0) {
      const rows = await this.store.db
        .selectFrom('ledger_entries')
        .select('leaf_hash')
        .where('idx', '>=', first)
        .where('idx', '<', first + width)
        .orderBy('idx')
        .execute();
      hashes = rows.map((row) => row.leaf_hash);
    } else {
      const rows = await this.store.db
        .selectFrom('ledger_nodes')
        .select('hash')
        .where('level', '=', tileHeight * level)
        .where('idx', '>=', first)
        .where('idx', '<', first + width)
        .orderBy('idx')
        .execute();
      hashes = rows.map((row) => row.hash);
    }
    if (hashes.length !== width)
      throw new VigilError('LEDGER_NODE_MISSING', 'internal', 'tile hashes are missing');
    return Buffer.concat(hashes);
  }

  /** One C2SP tlog-tiles entry bundle: entries 256·`index` + [0, width). */
  async entryBundle(index: number, width: number): Promise<Buffer> {
    const size = await this.integratedSize();
    const first = index * tileWidth;
    if (width < 1 || width > tileWidth || first + width > size) {
      throw new VigilError(
        'LEDGER_TILE_NOT_FOUND',
        'not_found',
        'no such entry bundle in the integrated tree',
      );
    }
    const entries = await this.entries(first, first + width);
    return encodeEntryBundle(entries.map((entry) => entry.leaf));
  }

  private async requireIntegrated(size: number): Promise<void> {
    const integrated = await this.integratedSize();
    if (size > integrated) {
      throw new VigilError(
        'LEDGER_SIZE_UNKNOWN',
        'invalid',
        `tree size ${size} is beyond the latest checkpoint (${integrated})`,
        { facts: { checkpointSize: integrated } },
      );
    }
  }

  /** Fetches complete-subtree hashes in at most two queries; the getter throws for a missing one. */
  private async readNodes(db: Queryable, refs: readonly NodeRef[]): Promise<(ref: NodeRef) => Buffer> {
    const found = new Map<string, Buffer>();
    const leaves = refs.filter((ref) => ref.level === 0).map((ref) => ref.index);
    const inner = refs.filter((ref) => ref.level > 0);
    if (leaves.length > 0) {
      const rows = await db
        .selectFrom('ledger_entries')
        .select(['idx', 'leaf_hash'])
        .where('idx', 'in', leaves)
        .execute();
      for (const row of rows) found.set(`0/${row.idx}`, row.leaf_hash);
    }
    if (inner.length > 0) {
      const rows = await db
        .selectFrom('ledger_nodes')
        .select(['level', 'idx', 'hash'])
        .where((eb) =>
          eb.or(inner.map((ref) => eb.and([eb('level', '=', ref.level), eb('idx', '=', ref.index)]))),
        )
        .execute();
      for (const row of rows) found.set(`${row.level}/${row.idx}`, row.hash);
    }
    return (ref) => {
      const hash = found.get(`${ref.level}/${ref.index}`);
      if (hash === undefined) {
        throw new VigilError(
          'LEDGER_NODE_MISSING',
          'internal',
          `tree node ${ref.level}/${ref.index} is missing`,
        );
      }
      return hash;
    };
  }
}

function toCheckpoint(row: {
  size: number;
  root_hash: Buffer;
  note: string;
  created_at: string;
}): StoredCheckpoint {
  return { size: Number(row.size), rootHash: row.root_hash, note: row.note, createdAt: row.created_at };
}
