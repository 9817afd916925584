import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isVigilError } from '../../src/core/index.ts';
import type { Store, Tx } from '../../src/store/index.ts';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/stores.ts';

// Store.statement: a hot path's writes and in-transaction reads, compiled once and run on the
// transaction's own connection. What they do must be exactly what the same Kysely query would do:
// inside the transaction, undone with it, and with the rows and change counts Kysely reports.

for (const kind of await storeKinds()) {
  describe(`Store.statement (${kind})`, () => {
    let database: TestDatabase;
    let store: Store;
    let insert: (tx: Tx, name: string, value: number) => Promise<{ changes: number }>;
    let advance: (
      tx: Tx,
      by: number,
      name: string,
    ) => Promise<{ rows: { value: number }[]; changes: number }>;
    let read: (tx: Tx, name: string) => Promise<{ rows: { value: number }[] }>;

    before(async () => {
      database = await createTestDatabase(kind);
      store = database.open();
      await store.migrate();
      insert = store.statement<[string, number]>(2, (db, name, value) =>
        db
          .insertInto('ledger_sequence')
          .values({ name: name as string, value: value as number })
          .onConflict((conflict) => conflict.column('name').doNothing()),
      );
      advance = store.statement<[number, string], { value: number }>(2, (db, by, name) =>
        db
          .updateTable('ledger_sequence')
          .set({ value: sql`value + ${by}` })
          .where('name', '=', name as string)
          .returning('value'),
      );
      read = store.statement<[string], { value: number }>(1, (db, name) =>
        db
          .selectFrom('ledger_sequence')
          .select('value')
          .where('name', '=', name as string),
      );
    });
    after(async () => {
      await store?.close();
      await database?.drop();
    });

    const committed = async (name: string) =>
      (
        await store.db
          .selectFrom('ledger_sequence')
          .select('value')
          .where('name', '=', name)
          .executeTakeFirst()
      )?.value;

    test('writes count the rows they change and read back inside the transaction', async () => {
      const outcome = await store.transaction(async (tx) => {
        const first = await insert(tx, 'compiled-a', 5);
        const again = await insert(tx, 'compiled-a', 6);
        const advanced = await advance(tx, 3, 'compiled-a');
        const missing = await advance(tx, 3, 'compiled-none');
        const seen = await read(tx, 'compiled-a');
        return { first, again, advanced, missing, seen };
      });
      assert.equal(outcome.first.changes, 1);
      assert.equal(outcome.again.changes, 0, 'on conflict do nothing changes nothing');
      assert.deepEqual(
        outcome.advanced.rows.map((row) => Number(row.value)),
        [8],
      );
      assert.equal(outcome.advanced.changes, 1);
      assert.deepEqual(outcome.missing, { rows: [], changes: 0 });
      assert.deepEqual(
        outcome.seen.rows.map((row) => Number(row.value)),
        [8],
      );
      assert.equal(Number(await committed('compiled-a')), 8);
    });

    test('a transaction that fails undoes what its statements wrote', async () => {
      await assert.rejects(
        store.transaction(async (tx) => {
          await insert(tx, 'compiled-undone', 1);
          await advance(tx, 1, 'compiled-a');
          throw new Error('abandoned');
        }),
        /abandoned/,
      );
      assert.equal(await committed('compiled-undone'), undefined);
      assert.equal(Number(await committed('compiled-a')), 8);
    });

    test('a statement that does not bind every value it is given is refused when compiled', () => {
      assert.throws(
        () =>
          store.statement<[string, string]>(2, (db, name) =>
            db.deleteFrom('ledger_sequence').where('name', '=', name as string),
          ),
        (error: unknown) => isVigilError(error) && error.code === 'STORE_QUERY_INVALID',
      );
    });
  });
}
