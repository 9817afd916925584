import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../../src/store/index.ts';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/stores.ts';

const entry = (index: number, dueDate: string) => ({
  cve: `CVE-2026-${String(index).padStart(5, '0')}`,
  date_added: '2026-11-01',
  due_date: dueDate,
  ransomware: 'Unknown',
  vendor: 'Vendor',
  product: `Product ${index}`,
});

for (const kind of await storeKinds()) {
  describe(`Store.insertMany (${kind})`, () => {
    let database: TestDatabase;
    let store: Store;

    before(async () => {
      database = await createTestDatabase(kind);
      store = database.open();
      await store.migrate();
    });
    after(async () => {
      await store?.close();
      await database?.drop();
    });

    const dueDates = async () =>
      new Map(
        (await store.db.selectFrom('kev_entries').select(['cve', 'due_date', 'product']).execute()).map(
          (row) => [row.cve, `${row.due_date} ${row.product}`],
        ),
      );

    test('inserts more rows than one statement binds, in the caller transaction', async () => {
      const rows = Array.from({ length: 12_000 }, (_, index) => entry(index, '2026-12-01'));
      await store.transaction((tx) => store.insertMany(tx, 'kev_entries', rows));
      const stored = await dueDates();
      assert.equal(stored.size, 12_000);
      assert.equal(stored.get('CVE-2026-11999'), '2026-12-01 Product 11999');
    });

    test('on a conflict, updates only the columns named, from the new row', async () => {
      const rows = [entry(5, '2027-01-15'), entry(20_000, '2027-01-15')].map((row) => ({
        ...row,
        product: 'renamed',
      }));
      await store.transaction((tx) =>
        store.insertMany(tx, 'kev_entries', rows, { columns: ['cve'], update: ['due_date'] }),
      );
      const stored = await dueDates();
      assert.equal(stored.size, 12_001);
      assert.equal(stored.get('CVE-2026-00005'), '2027-01-15 Product 5', 'due date updated, product kept');
      assert.equal(stored.get('CVE-2026-20000'), '2027-01-15 renamed', 'a new row is inserted whole');
    });

    test('without a conflict clause a duplicate key fails and the transaction writes nothing', async () => {
      await assert.rejects(
        store.transaction((tx) =>
          store.insertMany(tx, 'kev_entries', [entry(30_000, '2027-02-01'), entry(6, '2027-02-01')]),
        ),
      );
      const stored = await dueDates();
      assert.equal(stored.size, 12_001);
      assert.equal(stored.has('CVE-2026-30000'), false);
    });
  });
}
