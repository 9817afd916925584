import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../../src/store/index.ts';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/stores.ts';

// Store.prepare: hot-path reads compiled once. On SQLite they run on a read connection of their own
// and an answer is reused while no connection has committed since; every read must still see every
// commit made before it, by this process's writer or by another process.

for (const kind of await storeKinds()) {
  describe(`Store.prepare (${kind})`, () => {
    let database: TestDatabase;
    let store: Store;
    let other: Store;
    let sequence: (name: string) => Promise<{ name: string; value: number }[]>;

    before(async () => {
      database = await createTestDatabase(kind);
      store = database.open();
      await store.migrate();
      // Another handle on the same database: its own connection, as another process would have.
      other = database.open();
      sequence = store.prepare<[string], { name: string; value: number }>(1, (db, name) =>
        db
          .selectFrom('ledger_sequence')
          .select(['name', 'value'])
          .where('name', '=', name as string),
      );
    });
    after(async () => {
      await other?.close();
      await store?.close();
      await database?.drop();
    });

    const value = async (name: string) => (await sequence(name))[0]?.value;

    test('a read sees what this process committed just before it', async () => {
      assert.equal(await value('prepared-own'), undefined);
      await store.db.insertInto('ledger_sequence').values({ name: 'prepared-own', value: 1 }).execute();
      assert.equal(await value('prepared-own'), 1);
      await store.transaction((tx) =>
        tx.updateTable('ledger_sequence').set({ value: 2 }).where('name', '=', 'prepared-own').execute(),
      );
      assert.equal(await value('prepared-own'), 2);
    });

    test('a read sees what another connection committed just before it', async () => {
      assert.equal(await value('prepared-other'), undefined);
      await other.db.insertInto('ledger_sequence').values({ name: 'prepared-other', value: 7 }).execute();
      assert.equal(await value('prepared-other'), 7);
      await other.db.deleteFrom('ledger_sequence').where('name', '=', 'prepared-other').execute();
      assert.equal(await value('prepared-other'), undefined);
    });

    test('each caller gets rows of its own: changing them changes no later answer', async () => {
      await store.db.insertInto('ledger_sequence').values({ name: 'prepared-copy', value: 3 }).execute();
      const [first] = await sequence('prepared-copy');
      first!.value = 99;
      const [second] = await sequence('prepared-copy');
      assert.equal(second!.value, 3);
      assert.notEqual(first, second);
    });

    test('answers are per value asked with', async () => {
      await store.db
        .insertInto('ledger_sequence')
        .values([
          { name: 'prepared-a', value: 10 },
          { name: 'prepared-b', value: 20 },
        ])
        .execute();
      assert.deepEqual(
        [await value('prepared-a'), await value('prepared-b'), await value('prepared-a')],
        [10, 20, 10],
      );
    });
  });
}
