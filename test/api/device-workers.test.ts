import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  adminClient,
  benchProduct,
  devicePost,
  enrollFleet,
  type EnrolledDevice,
} from '../../bench/support.ts';
import { initData, startServe, verifyLedger, type ServerProcess } from '../support/server-process.ts';

/**
 * `vigil serve --device-workers 2` on the embedded SQLite store: two processes share the device
 * port, and writes from both (enrollments, check-ins) land without a lost or refused transaction.
 */
describe('device workers sharing one SQLite store', () => {
  const root = mkdtempSync(join(tmpdir(), 'vigil-workers-'));
  const dir = join(root, 'data');
  let server: ServerProcess;
  let admin: ReturnType<typeof adminClient>;
  let fleet: EnrolledDevice[] = [];

  before(async () => {
    const token = await initData(dir, undefined);
    server = await startServe(dir, undefined, 60_000, ['--device-workers', '2']);
    admin = adminClient(server.url, token);
  });
  after(async () => {
    for (const device of fleet) device.agent.destroy();
    await server.stop('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  });

  test('devices enroll and check in through either worker, and the ledger verifies', async () => {
    assert.match(server.output(), /device endpoint: +https:\/\/\S+ +\(2 worker processes\)/);
    const deviceUrl = server.output().match(/device endpoint: +(https:\/\/\S+)/)![1]!;
    const { productId, rootPem: ca } = await benchProduct(admin);
    fleet = await enrollFleet(admin, { deviceUrl, ca, productId, count: 12, prefix: 'WORKER' });
    // Concurrent first check-ins over 12 connections, each one a write.
    const answers = await Promise.all(
      fleet.map((device) =>
        devicePost(
          deviceUrl,
          ca,
          device.agent,
          '/device/v1/checkin',
          JSON.stringify({ version: '2.0.0', securityVersion: 2 }),
        ),
      ),
    );
    assert.deepEqual(
      answers.map((answer) => answer.status),
      fleet.map(() => 200),
    );
    const states = await admin('GET', `/api/v1/devices?productId=${productId}&status=enrolled&limit=100`);
    assert.equal(states.devices.length, 12);
    await server.stop('SIGTERM');
    const verified = await verifyLedger(dir, undefined);
    assert.equal(verified.code, 0, JSON.stringify(verified.result));
    assert.equal(verified.result?.ok, true);
  });
});
