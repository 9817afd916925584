import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint, verifyConsistencyProof } from '../../src/ledger/index.ts';
import { createTestDatabase, storeKinds } from '../support/stores.ts';
import {
  apiCall,
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

// Scale-out: several stateless `vigil serve` processes on one PostgreSQL database. Their appends are
// serialized by the database, so they share one gap-free log and one chain of checkpoints.

const perServer = 150;
const concurrency = 20;

// storeKinds() fails under VIGIL_REQUIRE_PEERS=1 and announces the missing peer otherwise.
const postgres = (await storeKinds()).includes('postgres');

after(killAllServers);

describe('two vigil serve processes on one PostgreSQL database', () => {
  test(
    'write one gap-free ledger with one consistent checkpoint chain',
    { timeout: 60_000, skip: postgres ? false : 'PEER MISSING: PostgreSQL is not reachable' },
    async (t) => {
      const database = await createTestDatabase('postgres');
      const dataDir = mkdtempSync(join(tmpdir(), 'vigil-multiprocess-'));
      const servers: ServerProcess[] = [];
      try {
        const token = await initData(dataDir, database.url);
        // Both start at once (both migrate and start their integrators concurrently).
        const started = await Promise.allSettled([
          startServe(dataDir, database.url),
          startServe(dataDir, database.url),
        ]);
        for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
        for (const result of started) if (result.status === 'rejected') throw result.reason;
        const [a, b] = servers as [ServerProcess, ServerProcess];

        const [burstA, burstB] = await Promise.all([
          productBurst({ url: a.url, token, prefix: 'server-a', total: perServer, concurrency }),
          productBurst({ url: b.url, token, prefix: 'server-b', total: perServer, concurrency }),
        ]);
        for (const burst of [burstA, burstB]) {
          assert.deepEqual(burst.refused, []);
          assert.deepEqual([...burst.unanswered], []);
          assert.equal(burst.acknowledged.size, perServer);
        }
        const idsA = new Set(burstA.acknowledged.values());
        const idsB = new Set(burstB.acknowledged.values());
        const created = new Set([...idsA, ...idsB]);
        assert.equal(created.size, 2 * perServer, 'every creation got its own id');

        // Each process sees the other's writes.
        for (const server of [a, b]) {
          const listed = await listProducts(server.url, token);
          assert.deepEqual(new Set(listed.map((product) => product.id)), created);
          assert.equal(listed.length, created.size);
        }

        // One log: indices 0..N-1, each exactly once, identical through either process.
        const ledger = await readLedger(a.url, token);
        assert.deepEqual(
          ledger.map((entry) => entry.index),
          ledger.map((_entry, position) => position),
          'ledger indices are 0..N-1, each once',
        );
        for (const entry of ledger)
          assert.equal(entry.document.index, entry.index, 'each leaf carries its own index');
        assert.deepEqual(await readLedger(b.url, token), ledger, 'both processes read the same log');
        const size = ledger.length;

        const createdEvents = ledger.filter((entry) => entry.document.type === 'product.created');
        assert.equal(createdEvents.length, 2 * perServer, 'one product.created per creation');
        assert.deepEqual(new Set(createdEvents.map((entry) => entry.document.subject)), created);
        // The two processes really wrote at the same time: their events interleave in the log.
        const indicesOf = (ids: Set<string>) =>
          createdEvents.filter((entry) => ids.has(entry.document.subject ?? '')).map((entry) => entry.index);
        const [fromA, fromB] = [indicesOf(idsA), indicesOf(idsB)];
        assert.ok(
          Math.min(...fromA) < Math.max(...fromB) && Math.min(...fromB) < Math.max(...fromA),
          'the writes of the two processes interleave',
        );

        // Both integrators run; together they must cover the whole log with one checkpoint chain.
        const checkpoints = await waitFor(`a checkpoint of size ${size}`, async () => {
          const all = await readCheckpoints(b.url, token);
          return all.at(-1)?.size === size ? all : undefined;
        });
        assert.ok(
          checkpoints.length >= 3,
          `expected several checkpoints during the burst, got ${checkpoints.length}`,
        );
        const verifierKey = (await apiCall(a.url, token, 'GET', '/api/v1/ledger/verifier-key'))
          .json as string;
        const opened = checkpoints.map((checkpoint) => {
          const note = openCheckpoint(checkpoint.note, verifierKey.trim());
          assert.equal(note.size, checkpoint.size);
          assert.equal(
            note.rootHash.toString('base64'),
            checkpoint.rootHash,
            'rootHash matches the signed note',
          );
          return note;
        });
        for (let i = 1; i < opened.length; i++) {
          assert.ok(opened[i]!.size > opened[i - 1]!.size, 'checkpoint sizes strictly increase');
        }
        // Each checkpoint extends its predecessor, and the last extends every earlier one;
        // proofs are asked of the two processes in turn.
        const pairs: [number, number][] = [];
        for (let i = 1; i < opened.length; i++) pairs.push([i - 1, i]);
        for (let i = 0; i < opened.length - 2; i++) pairs.push([i, opened.length - 1]);
        for (const [n, [from, to]] of pairs.entries()) {
          const older = opened[from]!;
          const newer = opened[to]!;
          const server = n % 2 === 0 ? a : b;
          const response = await apiCall(
            server.url,
            token,
            'GET',
            `/api/v1/ledger/proofs/consistency?from=${older.size}&to=${newer.size}`,
          );
          assert.equal(response.status, 200, JSON.stringify(response.json));
          const proof = (response.json as { hashes: string[] }).hashes.map((hash) =>
            Buffer.from(hash, 'base64'),
          );
          assert.doesNotThrow(
            () =>
              verifyConsistencyProof({
                size1: older.size,
                size2: newer.size,
                proof,
                root1: older.rootHash,
                root2: newer.rootHash,
              }),
            `checkpoint ${older.size} is a prefix of checkpoint ${newer.size}`,
          );
        }
        t.diagnostic(
          `${size} ledger entries, ${checkpoints.length} checkpoints, ${pairs.length} consistency proofs checked`,
        );

        await Promise.all(servers.map((server) => server.stop('SIGTERM')));
        for (const server of servers) {
          assert.deepEqual(
            await server.exited,
            { code: 0, signal: null },
            `graceful stop\n${server.output()}`,
          );
        }
        const verified = await verifyLedger(dataDir, database.url);
        assert.equal(
          verified.code,
          0,
          `vigil ledger verify: ${JSON.stringify(verified.result)} ${verified.stderr}`,
        );
        assert.equal(verified.result?.ok, true);
        assert.equal(verified.result?.size, size);
        assert.equal(verified.result?.checkpointedSize, size);
        assert.equal(verified.result?.checkpoints, checkpoints.length);
      } finally {
        await Promise.all(servers.map((server) => server.stop('SIGKILL')));
        await database.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );
});
