import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalJsonBytes,
  ed25519SignerFromPem,
  generateEd25519PrivateKeyPem,
  systemClock,
} from '../src/core/index.ts';
import { Ledger, systemActor, verifyStoredLog, type LedgerEvent } from '../src/ledger/index.ts';
import { Store, loadSqlite } from '../src/store/index.ts';
import type { Benchmark } from './run.ts';

const batchSize = 1000;

function events(batch: number): LedgerEvent[] {
  return Array.from({ length: batchSize }, (_, i) => ({
    type: 'device.registered',
    subject: `0199a0b0-0000-7000-8000-${String(batch * batchSize + i).padStart(12, '0')}`,
    details: { serial: `SN-${batch}-${i}`, product: 'infusion-pump', hardwareRevision: 'B' },
  }));
}

async function withLedger<T>(work: (ledger: Ledger, store: Store) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const store = Store.open({ sqlitePath: join(dir, 'vigil.db') });
  try {
    await store.migrate();
    const ledger = new Ledger({
      store,
      signer: ed25519SignerFromPem(generateEd25519PrivateKeyPem()),
      origin: 'bench.vigil/ledger',
      clock: systemClock,
    });
    return await work(ledger, store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function appendAll(ledger: Ledger, total: number): Promise<void> {
  for (let batch = 0; batch < total / batchSize; batch++) {
    await ledger.transact(systemActor, async (_tx, record) => events(batch).forEach(record));
  }
  await ledger.integrate();
}

/** Plain SQLite inserts of leaves of the same shape with their SHA-256, 1,000 rows a transaction. */
function baselineInserts(total: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-base-'));
  const Sqlite = loadSqlite();
  const db = new Sqlite(join(dir, 'base.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('create table leaves (idx integer primary key, leaf blob not null, hash blob not null)');
  const insert = db.prepare('insert into leaves (idx, leaf, hash) values (?, ?, ?)');
  const at = new Date().toISOString();
  // The same leaves, built before the clock starts: the baseline times only hashing and inserting.
  const batches = Array.from({ length: total / batchSize }, (_, batch) =>
    events(batch).map((event, i) =>
      canonicalJsonBytes({ index: batch * batchSize + i, ...event, actor: 'system', at }),
    ),
  );
  const started = process.hrtime.bigint();
  batches.forEach((leaves, batch) => {
    db.transaction(() => {
      leaves.forEach((leaf, i) =>
        insert.run(batch * batchSize + i, leaf, createHash('sha256').update(leaf).digest()),
      );
    })();
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return total / seconds;
}

const million = 1_000_000;
let shared: Promise<{ ledger: Ledger; store: Store; dir: string }> | undefined;

/** One million-entry log on SQLite, built once for the proof and full-verification benchmarks. */
function millionEntryLog() {
  shared ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-million-'));
    // Removed even when only the proof benchmark ran.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const store = Store.open({ sqlitePath: join(dir, 'vigil.db') });
    await store.migrate();
    const ledger = new Ledger({
      store,
      signer: ed25519SignerFromPem(generateEd25519PrivateKeyPem()),
      origin: 'bench.vigil/ledger',
      clock: systemClock,
    });
    await appendAll(ledger, million);
    return { ledger, store, dir };
  })();
  return shared;
}

async function closeMillionEntryLog(): Promise<void> {
  if (shared === undefined) return;
  const { store, dir } = await shared;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  shared = undefined;
}

export const ledgerBenchmarks: Benchmark[] = [
  {
    name: 'ledger.append',
    async run() {
      const total = 100_000;
      const baseline = baselineInserts(total);
      const value = await withLedger(async (ledger) => {
        const started = process.hrtime.bigint();
        await appendAll(ledger, total);
        return total / (Number(process.hrtime.bigint() - started) / 1e9);
      });
      return {
        value: Math.round(value),
        unit: 'entries/s',
        baseline: Math.round(baseline),
        ratio: Number((value / baseline).toFixed(3)),
      };
    },
  },
  {
    name: 'ledger.inclusion_proof',
    async run() {
      const { ledger } = await millionEntryLog();
      const samples = 2000;
      let seed = 12345;
      const started = process.hrtime.bigint();
      for (let i = 0; i < samples; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        await ledger.inclusionProof(seed % million, million);
      }
      const ms = Number(process.hrtime.bigint() - started) / 1e6 / samples;
      return { value: Number(ms.toFixed(4)), unit: 'ms', treeSize: million };
    },
  },
  {
    name: 'ledger.verify',
    async run() {
      const { ledger, store } = await millionEntryLog();
      const started = process.hrtime.bigint();
      const result = await verifyStoredLog(store, ledger.verifierKey);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (!result.ok) throw new Error(`the benchmark log does not verify: ${result.reason}`);
      await closeMillionEntryLog();
      return { value: Math.round(million / seconds), unit: 'entries/s', entries: million };
    },
  },
];
