import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../../src/store/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/stores.ts';

// Device workers are processes sharing one SQLite file. Two Store handles on one file stand in for
// two of them: each has its own connection, so the file's write lock is contended as between processes.

let database: TestDatabase;
let holder: Store;
let waiter: Store;

before(async () => {
  database = await createTestDatabase('sqlite');
  holder = database.open();
  await holder.migrate();
  waiter = database.open();
});
after(async () => {
  await waiter?.close();
  await holder?.close();
  await database?.drop();
});

const sequenceValue = async (name: string) =>
  (await holder.db.selectFrom('ledger_sequence').select('value').where('name', '=', name).executeTakeFirst())
    ?.value;

test('a transaction waiting for the write lock leaves the event loop running, then commits', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const holderDone = holder.transaction(async (tx) => {
    await tx.insertInto('ledger_sequence').values({ name: 'lock-holder', value: 1 }).execute();
    holding();
    await released;
  });
  await held;

  let waiterDone = false;
  const waiting = waiter
    .transaction((tx) => tx.insertInto('ledger_sequence').values({ name: 'lock-waiter', value: 2 }).execute())
    .finally(() => (waiterDone = true));
  // SQLite's own busy handler would sleep this thread until its timeout; timers keep firing instead.
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 1);
  await sleep(100);
  clearInterval(ticker);
  assert.equal(waiterDone, false, 'the waiter committed while the lock was held');
  assert.ok(ticks >= 10, `the event loop ran ${ticks} timer ticks in 100 ms while waiting`);

  release();
  await holderDone;
  await waiting;
  assert.equal(await sequenceValue('lock-holder'), 1);
  assert.equal(await sequenceValue('lock-waiter'), 2);
});
