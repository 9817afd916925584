import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, storeKinds } from '../support/stores.ts';
import {
  initData,
  killAllServers,
  listProducts,
  productBurst,
  readCheckpoints,
  readLedger,
  startServe,
  verifyLedger,
  waitFor,
  type ServerProcess,
} from '../support/server-process.ts';

// A `vigil serve` killed with SIGKILL in the middle of a burst of writes must come back with every
// acknowledged write, and with every domain change and its ledger event together or not at all.

const total = 300;
const concurrency = 40;
/** SIGKILL as this acknowledgement arrives: well inside the burst, with ~40 requests in flight. */
const killAfter = 100;

const kinds = await storeKinds();

after(killAllServers);

describe('a server killed mid-burst', () => {
  for (const kind of kinds) {
    test(
      `${kind}: keeps every acknowledged product, with exactly one ledger event each, and a verifiable ledger`,
      { timeout: 60_000 },
      async (t) => {
        const database = await createTestDatabase(kind);
        const dataDir = mkdtempSync(join(tmpdir(), `vigil-crash-${kind}-`));
        const servers: ServerProcess[] = [];
        try {
          const token = await initData(dataDir, database.url);
          const first = await startServe(dataDir, database.url);
          servers.push(first);

          const burst = await productBurst({
            url: first.url,
            token,
            prefix: `crash-${kind}`,
            total,
            concurrency,
            stopAfter: killAfter,
            onStop: () => first.child.kill('SIGKILL'),
          });
          const exit = await first.exited;
          assert.equal(
            exit.signal,
            'SIGKILL',
            `the server died of something else: ${JSON.stringify(exit)}\n${first.output()}`,
          );
          assert.deepEqual(burst.refused, [], 'every answered creation before the kill is a 201');
          assert.ok(burst.acknowledged.size >= killAfter, `only ${burst.acknowledged.size} acknowledgements`);
          assert.ok(
            burst.inFlightAtStop !== undefined && burst.inFlightAtStop > 0,
            `the kill must land with requests in flight (had ${burst.inFlightAtStop})`,
          );
          assert.ok(burst.unanswered.size > 0, 'some in-flight requests lost their answer to the kill');
          assert.ok(burst.unsent > 0, 'the kill came in the middle of the burst, not after it');
          assert.equal(burst.acknowledged.size + burst.unanswered.size + burst.unsent, total);

          const second = await startServe(dataDir, database.url);
          servers.push(second);

          const products = await listProducts(second.url, token);
          const productIds = new Map(products.map((product) => [product.id, product.name]));
          assert.equal(productIds.size, products.length, 'product ids are unique');
          for (const [name, id] of burst.acknowledged) {
            assert.equal(
              productIds.get(id),
              name,
              `acknowledged product ${name} (${id}) must survive the kill`,
            );
          }
          const sentNames = new Set([...burst.acknowledged.keys(), ...burst.unanswered]);
          for (const product of products)
            assert.ok(sentNames.has(product.name), `unexpected product ${product.name}`);
          assert.ok(products.length >= burst.acknowledged.size && products.length <= sentNames.size);

          const ledger = await readLedger(second.url, token);
          ledger.forEach((entry, position) => {
            assert.equal(entry.index, position, 'ledger indices are 0..N-1 without gaps');
            assert.equal(entry.document.index, entry.index, 'each leaf carries its own index');
          });
          const createdEvents = new Map<string, number>();
          for (const { document } of ledger.filter((entry) => entry.document.type === 'product.created')) {
            assert.equal(typeof document.subject, 'string');
            const subject = document.subject as string;
            createdEvents.set(subject, (createdEvents.get(subject) ?? 0) + 1);
            assert.equal(
              productIds.get(subject),
              document.details.name,
              `product.created ${subject} must have its product, with its name`,
            );
          }
          for (const [subject, count] of createdEvents)
            assert.equal(count, 1, `product ${subject} has ${count} product.created events`);
          for (const id of productIds.keys())
            assert.ok(createdEvents.has(id), `product ${id} must have its product.created event`);
          assert.equal(createdEvents.size, products.length);
          t.diagnostic(
            `${burst.acknowledged.size} acknowledged, ${burst.unanswered.size} unanswered (${burst.inFlightAtStop} in flight at the kill), ` +
              `${burst.unsent} unsent; ${products.length} products and ${ledger.length} ledger entries after the restart`,
          );

          // The restarted integrator checkpoints everything the killed one left behind.
          const size = ledger.length;
          await waitFor(`a checkpoint of size ${size}`, async () => {
            const checkpoints = await readCheckpoints(second.url, token);
            return checkpoints.at(-1)?.size === size ? true : undefined;
          });
          assert.equal(
            (await readLedger(second.url, token)).length,
            size,
            'no entry appeared after the restart',
          );

          await second.stop('SIGTERM');
          assert.deepEqual(
            await second.exited,
            { code: 0, signal: null },
            `graceful stop\n${second.output()}`,
          );
          const verified = await verifyLedger(dataDir, database.url);
          assert.equal(
            verified.code,
            0,
            `vigil ledger verify: ${JSON.stringify(verified.result)} ${verified.stderr}`,
          );
          assert.equal(verified.result?.ok, true);
          assert.equal(verified.result?.size, size);
          assert.equal(verified.result?.checkpointedSize, size);
        } finally {
          await Promise.all(servers.map((server) => server.stop('SIGKILL')));
          await database.drop();
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    );
  }
});
