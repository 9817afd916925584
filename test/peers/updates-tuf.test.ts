import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';

/**
 * Vigil's TUF repositories read by tuf-js, the reference JS client, in its own process with its
 * own fetcher. Attacks come from a mirror in the middle (as an untrusted hospital mirror or CDN
 * would be) or from the artifact store's disk.
 */
const client = join(import.meta.dirname, 'tuf-js-client.mjs');

interface ClientResult {
  ok: boolean;
  error?: string;
  message?: string;
  path?: string;
  length?: number;
  custom?: Record<string, unknown>;
}

describe('TUF repositories against tuf-js', () => {
  let bed: IdentityTestbed;
  let work: string;
  let caFile: string;
  let mirror: Server;
  let mirrorUrl: string;
  /** What the mirror serves instead of the origin, by path under /tuf/. */
  const overrides = new Map<string, Buffer>();
  let clients = 0;

  before(async () => {
    bed = await startIdentityTestbed();
    work = mkdtempSync(join(tmpdir(), 'vigil-tuf-peer-'));
    caFile = join(work, 'ca.pem');
    writeFileSync(caFile, await bed.caPem());
    // The mirror: plain HTTP, fetching from the device endpoint unless told to serve something else.
    mirror = createServer((request, response) => {
      const path = request.url ?? '/';
      const override = overrides.get(path);
      const send = (status: number, body: Buffer) => {
        response.writeHead(status, { 'content-length': body.length });
        response.end(body);
      };
      if (override !== undefined) return send(200, override);
      void originGet(path).then(
        (origin) => send(origin.status, origin.body),
        () => send(502, Buffer.alloc(0)),
      );
    });
    await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
    const address = mirror.address();
    mirrorUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  after(async () => {
    await new Promise((resolve) => mirror.close(resolve));
    await bed.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function originGet(path: string): Promise<{ status: number; body: Buffer }> {
    const response = await bed.device('GET', path);
    return { status: response.status, body: Buffer.from(response.body) };
  }

  /** A fresh device: its metadata folder holds only the pinned first root. */
  async function newDevice(productId: string): Promise<{ metadataDir: string; targetDir: string }> {
    const dir = join(work, `device-${++clients}`);
    const metadataDir = join(dir, 'metadata');
    const targetDir = join(dir, 'targets');
    mkdirSync(metadataDir, { recursive: true });
    mkdirSync(targetDir, { recursive: true });
    const root = await originGet(`/tuf/${productId}/1.root.json`);
    assert.equal(root.status, 200);
    writeFileSync(join(metadataDir, 'root.json'), root.body);
    return { metadataDir, targetDir };
  }

  function runClient(
    base: string,
    productId: string,
    device: { metadataDir: string; targetDir: string },
    targetPath?: string,
  ): Promise<ClientResult> {
    const args = [
      client,
      `${base}/tuf/${productId}`,
      `${base}/tuf/${productId}/targets`,
      device.metadataDir,
      device.targetDir,
    ];
    if (targetPath !== undefined) args.push(targetPath);
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        args,
        { env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } },
        (error, stdout, stderr) => {
          const line = stdout.trim().split('\n').at(-1) ?? '';
          try {
            resolve(JSON.parse(line) as ClientResult);
          } catch {
            reject(new Error(`tuf-js client gave no result (${String(error)}): ${stdout}\n${stderr}`));
          }
        },
      );
    });
  }

  async function newProduct(name: string): Promise<string> {
    const created = await bed.admin('POST', '/api/v1/products', {
      name,
      model: `${name}-model`,
      hardwareRevisions: ['A'],
      regimes: ['CRA'],
      supportStart: '2026-01-01',
      supportEnd: '2032-01-01',
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    return created.json.id as string;
  }

  async function publish(
    productId: string,
    version: string,
    bytes: Buffer,
    securityVersion = 1,
  ): Promise<any> {
    const release = await bed.admin('POST', '/api/v1/releases', {
      productId,
      version,
      securityVersion,
      hardwareRevisions: ['A'],
    });
    assert.equal(release.status, 201, JSON.stringify(release.json));
    const uploaded = await fetch(
      `${bed.adminUrl}/api/v1/releases/${release.json.id}/artifacts?name=firmware.bin`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${bed.adminToken}`, 'content-type': 'application/octet-stream' },
        body: bytes,
      },
    );
    assert.equal(uploaded.status, 201, await uploaded.text());
    const published = await bed.admin('POST', `/api/v1/releases/${release.json.id}/publish`);
    assert.equal(published.status, 200, JSON.stringify(published.json));
    return published.json;
  }

  test('tuf-js refreshes over the device endpoint (TLS, no client certificate) and downloads a verified target', async () => {
    const productId = await newProduct('tuf-direct');
    const firmware = Buffer.from('firmware 1.0.0 '.repeat(4096));
    const release = await publish(productId, '1.0.0', firmware, 3);
    const device = await newDevice(productId);
    const result = await runClient(bed.deviceUrl, productId, device, '1.0.0/firmware.bin');
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(readFileSync(result.path!), firmware);
    assert.deepEqual(result.custom, {
      releaseId: release.id,
      version: '1.0.0',
      securityVersion: 3,
      hardwareRevisions: ['A'],
      securityUpdate: false,
      sbomDigest: null,
    });
    // Cacheable for a mirror, except the timestamp.
    const timestamp = await bed.device('GET', `/tuf/${productId}/timestamp.json`);
    assert.equal(timestamp.headers['cache-control'], 'no-cache');
    const root = await bed.device('GET', `/tuf/${productId}/1.root.json`);
    assert.match(String(root.headers['cache-control']), /immutable/);
  });

  test('tuf-js follows a root rotation and an online-key rotation', async () => {
    const productId = await newProduct('tuf-rotation');
    await publish(productId, '1.0.0', Buffer.from('one'));
    const device = await newDevice(productId);
    assert.equal((await runClient(bed.deviceUrl, productId, device, '1.0.0/firmware.bin')).ok, true);
    const rotated = await bed.admin('POST', `/api/v1/products/${productId}/tuf/rotate-root`, {
      keys: 2,
      threshold: 2,
    });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
    assert.equal(rotated.json.roles.root.version, 2);
    const online = await bed.admin('POST', `/api/v1/products/${productId}/tuf/rotate-online-keys`);
    assert.equal(online.status, 200, JSON.stringify(online.json));
    assert.equal(online.json.roles.root.version, 3);
    await publish(productId, '1.1.0', Buffer.from('two'));
    const after = await runClient(bed.deviceUrl, productId, device, '1.1.0/firmware.bin');
    assert.equal(after.ok, true, JSON.stringify(after));
    const trusted = JSON.parse(readFileSync(join(device.metadataDir, 'root.json'), 'utf8'));
    assert.equal(trusted.signed.version, 3);
    assert.equal(trusted.signed.roles.root.threshold, 2);
    // A device that only ever had root 1 walks the chain 1 → 2 → 3 too.
    assert.equal(
      (await runClient(bed.deviceUrl, productId, await newDevice(productId), '1.1.0/firmware.bin')).ok,
      true,
    );
  });

  test('tuf-js rejects a rolled-back timestamp served by a mirror', async () => {
    const productId = await newProduct('tuf-rollback');
    await publish(productId, '1.0.0', Buffer.from('one'));
    const old = await originGet(`/tuf/${productId}/timestamp.json`);
    await publish(productId, '1.1.0', Buffer.from('two'));
    const device = await newDevice(productId);
    assert.equal((await runClient(mirrorUrl, productId, device)).ok, true);
    overrides.set(`/tuf/${productId}/timestamp.json`, old.body);
    try {
      const result = await runClient(mirrorUrl, productId, device);
      assert.equal(result.ok, false);
      assert.equal(result.error, 'BadVersionError', JSON.stringify(result));
    } finally {
      overrides.clear();
    }
  });

  test('tuf-js rejects expired metadata (freeze attack)', async () => {
    const productId = await newProduct('tuf-freeze');
    // The repository signed while the clock stood two days back: its one-day timestamp has lapsed.
    bed.clock.advance(-2 * 86_400_000);
    try {
      await publish(productId, '1.0.0', Buffer.from('one'));
    } finally {
      bed.clock.reset();
    }
    const result = await runClient(bed.deviceUrl, productId, await newDevice(productId));
    assert.equal(result.ok, false);
    assert.equal(result.error, 'ExpiredMetadataError', JSON.stringify(result));
    // The upkeep re-signs what is about to lapse, and the device recovers.
    const refreshed = await bed.platform.updates.repositories.refreshExpiring({ principal: 'system' });
    assert.ok(refreshed.some((entry) => entry.productId === productId));
    assert.equal(
      (await runClient(bed.deviceUrl, productId, await newDevice(productId), '1.0.0/firmware.bin')).ok,
      true,
    );
  });

  test('tuf-js rejects a target whose bytes were altered on disk', async () => {
    const productId = await newProduct('tuf-tamper');
    const firmware = Buffer.from('genuine firmware');
    await publish(productId, '1.0.0', firmware);
    const sha256 = createHash('sha256').update(firmware).digest('hex');
    const path = bed.platform.updates.artifacts.pathOf(sha256);
    writeFileSync(path, Buffer.from('evil firmware!!!'));
    const result = await runClient(
      bed.deviceUrl,
      productId,
      await newDevice(productId),
      '1.0.0/firmware.bin',
    );
    assert.equal(result.ok, false);
    assert.equal(result.error, 'LengthOrHashMismatchError', JSON.stringify(result));
  });

  test('tuf-js rejects targets metadata signed below threshold', async () => {
    const productId = await newProduct('tuf-threshold');
    const repo = await bed.admin('POST', `/api/v1/products/${productId}/tuf`, {
      signers: [null, null],
      targetsThreshold: 2,
    });
    assert.equal(repo.status, 201, JSON.stringify(repo.json));
    // One release admin approves with one signer, a second approval comes from the other signer.
    const release = await bed.admin('POST', '/api/v1/releases', {
      productId,
      version: '1.0.0',
      securityVersion: 1,
      hardwareRevisions: ['A'],
    });
    await fetch(`${bed.adminUrl}/api/v1/releases/${release.json.id}/artifacts?name=firmware.bin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bed.adminToken}`, 'content-type': 'application/octet-stream' },
      body: Buffer.from('two signers'),
    });
    const signers = repo.json.roles.targets.keys as { keyid: string }[];
    await bed.platform.updates.releases.approve(
      { principal: 'signer-one' },
      release.json.id,
      signers[0]!.keyid,
    );
    await bed.platform.updates.releases.approve(
      { principal: 'signer-two' },
      release.json.id,
      signers[1]!.keyid,
    );
    const published = await bed.admin('POST', `/api/v1/releases/${release.json.id}/publish`);
    assert.equal(published.status, 200, JSON.stringify(published.json));
    const version = published.json.targetsVersion as number;
    const device = await newDevice(productId);
    assert.equal(
      (await runClient(mirrorUrl, productId, await newDevice(productId), '1.0.0/firmware.bin')).ok,
      true,
    );

    const genuine = JSON.parse(
      (await originGet(`/tuf/${productId}/${version}.targets.json`)).body.toString('utf8'),
    );
    assert.equal(genuine.signatures.length, 2);
    genuine.signatures = genuine.signatures.slice(0, 1);
    overrides.set(`/tuf/${productId}/${version}.targets.json`, Buffer.from(JSON.stringify(genuine)));
    try {
      const result = await runClient(mirrorUrl, productId, device, '1.0.0/firmware.bin');
      assert.equal(result.ok, false);
      // tuf-js wraps the UnsignedMetadataError of loading targets in a RuntimeError.
      assert.match(result.message ?? '', /targets was signed by 1\/2 keys/, JSON.stringify(result));
    } finally {
      overrides.clear();
    }
  });
});
