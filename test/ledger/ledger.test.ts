import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock, ed25519SignerFromPem, generateEd25519PrivateKeyPem } from '../../src/core/index.ts';
import {
  Ledger,
  leafHash,
  systemActor,
  verifyConsistencyProof,
  verifyInclusionProof,
  verifyProofFile,
  verifyStoredLog,
  openCheckpoint,
} from '../../src/ledger/index.ts';
import { decodeEntryBundle } from '../../src/ledger/verify/index.ts';
import type { Store } from '../../src/store/index.ts';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/stores.ts';

const kinds = await storeKinds();

for (const kind of kinds) {
  describe(`ledger on ${kind}`, () => {
    let database: TestDatabase;
    let store: Store;
    let ledger: Ledger;
    const clock = new ManualClock('2026-11-26T00:00:00Z');

    before(async () => {
      database = await createTestDatabase(kind);
      store = database.open();
      await store.migrate();
      ledger = new Ledger({
        store,
        signer: ed25519SignerFromPem(generateEd25519PrivateKeyPem()),
        origin: 'vigil.test/ledger',
        clock,
      });
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    test('appends events in one transaction with the domain change, or not at all', async () => {
      await assert.rejects(
        ledger.transact(systemActor, async (tx, record) => {
          await tx.insertInto('meta').values({ key: 'half', value: 'x' }).execute();
          record({ type: 'test.failed', subject: 'half' });
          throw new Error('domain failure after the write');
        }),
      );
      const meta = await store.db.selectFrom('meta').selectAll().where('key', '=', 'half').execute();
      assert.equal(meta.length, 0);
      assert.deepEqual(await ledger.entries(0, 10), []);

      await ledger.transact({ principal: 'p1', token: 't1' }, async (tx, record) => {
        await tx.insertInto('meta').values({ key: 'whole', value: 'x' }).execute();
        record({ type: 'test.done', subject: 'whole', details: { n: 1 } });
      });
      const [entry] = await ledger.entries(0, 1);
      assert.ok(entry);
      assert.deepEqual(JSON.parse(entry.leaf.toString('utf8')), {
        index: 0,
        type: 'test.done',
        subject: 'whole',
        actor: 'p1',
        token: 't1',
        at: '2026-11-26T00:00:00Z',
        details: { n: 1 },
      });
    });

    test('integrates sequenced entries into a signed checkpoint with correct proofs', async () => {
      for (let batch = 0; batch < 7; batch++) {
        await ledger.transact(systemActor, async (_tx, record) => {
          for (let i = 0; i < 100; i++) record({ type: 'test.bulk', subject: `s${batch}-${i}` });
        });
        if (batch === 0 || batch === 3) await ledger.integrate();
      }
      const checkpoint = await ledger.integrate();
      assert.ok(checkpoint);
      assert.equal(checkpoint.size, 701);
      const opened = openCheckpoint(checkpoint.note, ledger.verifierKey);
      assert.equal(opened.size, 701);
      assert.deepEqual(opened.rootHash, checkpoint.rootHash);
      assert.equal(await ledger.integrate(), undefined, 'nothing new, no new checkpoint');

      const entries = await ledger.entries(0, 701);
      for (const index of [0, 1, 255, 256, 257, 511, 700]) {
        const proof = await ledger.inclusionProof(index, 701);
        verifyInclusionProof({
          leafHash: leafHash(entries[index]!.leaf),
          index,
          size: 701,
          proof,
          root: checkpoint.rootHash,
        });
      }
      const checkpoints = await ledger.checkpoints();
      assert.ok(checkpoints.length >= 3);
      for (const older of checkpoints.slice(0, -1)) {
        if (older.size === 0) continue;
        const proof = await ledger.consistencyProof(older.size, 701);
        verifyConsistencyProof({
          size1: older.size,
          size2: 701,
          proof,
          root1: older.rootHash,
          root2: checkpoint.rootHash,
        });
      }
      assert.deepEqual(await ledger.rootHash(701), checkpoint.rootHash);
    });

    test('serves tlog-tiles hash tiles and entry bundles that match the entries', async () => {
      const size = await ledger.integratedSize();
      const entries = await ledger.entries(0, size);
      const tile = await ledger.tile(0, 0, 256);
      assert.equal(tile.length, 256 * 32);
      assert.deepEqual(tile.subarray(32 * 5, 32 * 6), leafHash(entries[5]!.leaf));
      const partial = await ledger.tile(0, 2, size - 512);
      assert.equal(partial.length, (size - 512) * 32);
      const bundle = decodeEntryBundle(await ledger.entryBundle(1, 256));
      assert.deepEqual(bundle[0], entries[256]!.leaf);
      const level1 = await ledger.tile(1, 0, 2);
      assert.equal(level1.length, 64);
      await assert.rejects(ledger.tile(0, 2, 256), { code: 'LEDGER_TILE_NOT_FOUND' });
      await assert.rejects(ledger.tile(1, 0, 3), { code: 'LEDGER_TILE_NOT_FOUND' });
    });

    test('refuses proofs beyond the latest checkpoint', async () => {
      await ledger.transact(systemActor, async (_tx, record) => record({ type: 'test.pending' }));
      const size = await ledger.integratedSize();
      await assert.rejects(ledger.inclusionProof(0, size + 1), { code: 'LEDGER_SIZE_UNKNOWN' });
      await assert.rejects(ledger.consistencyProof(1, size + 1), { code: 'LEDGER_SIZE_UNKNOWN' });
      await assert.rejects(ledger.proofFile(size), { code: 'LEDGER_ENTRY_NOT_INTEGRATED' });
      await ledger.integrate();
    });

    test('writes a tlog-proof evidence file that verifies offline and carries its entry', async () => {
      const file = await ledger.proofFile(42);
      const [entry] = await ledger.entries(42, 43);
      const verified = verifyProofFile(file, entry!.leaf, ledger.verifierKey);
      assert.equal(verified.index, 42);
      const other = await ledger.entries(43, 44);
      assert.throws(() => verifyProofFile(file, other[0]!.leaf, ledger.verifierKey), {
        code: 'LEDGER_PROOF_INVALID',
      });
    });

    test('the stored log verifies, and tampering is named at its first bad index', async () => {
      const clean = await verifyStoredLog(store, ledger.verifierKey);
      assert.equal(clean.ok, true);

      // Alter an entry's content (and its stored hash, as a careful attacker would).
      const [victim] = await ledger.entries(300, 301);
      const forged = Buffer.from(victim!.leaf.toString('utf8').replace('test.bulk', 'test.bulx'));
      await store.db
        .updateTable('ledger_entries')
        .set({ leaf: forged, leaf_hash: leafHash(forged) })
        .where('idx', '=', 300)
        .execute();
      const altered = await verifyStoredLog(store, ledger.verifierKey);
      assert.equal(altered.ok, false);
      assert.ok(
        !altered.ok && altered.firstBadIndex <= 300 && altered.firstBadIndex > 0,
        JSON.stringify(altered),
      );
      await store.db
        .updateTable('ledger_entries')
        .set({ leaf: victim!.leaf, leaf_hash: leafHash(victim!.leaf) })
        .where('idx', '=', 300)
        .execute();

      // Reorder two entries.
      const [a, b] = await ledger.entries(120, 122);
      await store.db
        .updateTable('ledger_entries')
        .set({ leaf: b!.leaf, leaf_hash: leafHash(b!.leaf) })
        .where('idx', '=', 120)
        .execute();
      await store.db
        .updateTable('ledger_entries')
        .set({ leaf: a!.leaf, leaf_hash: leafHash(a!.leaf) })
        .where('idx', '=', 121)
        .execute();
      const reordered = await verifyStoredLog(store, ledger.verifierKey);
      assert.equal(!reordered.ok && reordered.firstBadIndex, 120);
      await store.db
        .updateTable('ledger_entries')
        .set({ leaf: a!.leaf, leaf_hash: leafHash(a!.leaf) })
        .where('idx', '=', 120)
        .execute();
      await store.db
        .updateTable('ledger_entries')
        .set({ leaf: b!.leaf, leaf_hash: leafHash(b!.leaf) })
        .where('idx', '=', 121)
        .execute();

      // Remove an entry.
      const [removed] = await ledger.entries(77, 78);
      await store.db.deleteFrom('ledger_entries').where('idx', '=', 77).execute();
      const gap = await verifyStoredLog(store, ledger.verifierKey);
      assert.equal(!gap.ok && gap.firstBadIndex, 77);
      await store.db
        .insertInto('ledger_entries')
        .values({
          idx: 77,
          leaf: removed!.leaf,
          leaf_hash: leafHash(removed!.leaf),
          type: 'test.bulk',
          subject: null,
          at: '2026-11-26T00:00:00Z',
        })
        .execute();

      // A checkpoint signed by someone else.
      const foreign = new Ledger({
        store,
        signer: ed25519SignerFromPem(generateEd25519PrivateKeyPem()),
        origin: 'vigil.test/ledger',
        clock,
      });
      const otherKey = await verifyStoredLog(store, foreign.verifierKey);
      assert.equal(otherKey.ok, false);

      assert.equal(
        (await verifyStoredLog(store, ledger.verifierKey)).ok,
        true,
        'restored log verifies again',
      );
    });
    test("grouped transactions commit together, and one caller's failure undoes only its own writes", async () => {
      const before = (await ledger.entries(0, 1_000_000)).length;
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          ledger.transactGrouped({ principal: `p${i}` }, async (tx, record) => {
            await tx
              .insertInto('meta')
              .values({ key: `grouped-${i}`, value: String(i) })
              .execute();
            record({ type: 'test.grouped', subject: `grouped-${i}` });
            if (i % 4 === 3) throw new Error(`caller ${i} fails after writing`);
            return i;
          }),
        ),
      );
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        Array.from({ length: 12 }, (_, i) => (i % 4 === 3 ? 'rejected' : 'fulfilled')),
      );
      const kept = await store.db
        .selectFrom('meta')
        .select('key')
        .where('key', 'like', 'grouped-%')
        .orderBy('key')
        .execute();
      assert.deepEqual(
        kept.map((row) => row.key).sort(),
        Array.from({ length: 12 }, (_, i) => i)
          .filter((i) => i % 4 !== 3)
          .map((i) => `grouped-${i}`)
          .sort(),
      );
      const entries = await ledger.entries(before, before + 100);
      assert.equal(entries.length, 9, 'one event per successful caller, none for the failed ones');
      assert.deepEqual(
        entries.map((entry) => JSON.parse(entry.leaf.toString('utf8')).index),
        Array.from({ length: 9 }, (_, i) => before + i),
        'indices stay gap-free',
      );
      await store.db.deleteFrom('meta').where('key', 'like', 'grouped-%').execute();
      await ledger.integrate();
    });
  });
}
