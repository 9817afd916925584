import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pkcs7CertificatesPem, startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';
import { curl } from '../support/pki-peers.ts';
import { hasCommand, requirePeer } from '../support/peers.ts';

/** The update routes of the device endpoint, over TLS with a real device certificate. */
describe('device update routes', () => {
  let bed: IdentityTestbed;
  let cert: string;
  let key: string;
  let deviceId: string;
  let rolloutId: string;

  before(async () => {
    bed = await startIdentityTestbed();
    const { id, enrollmentSecret } = await bed.register('SN-UPDATE-1');
    deviceId = id;
    const keys = bed.makeKeys('SN-UPDATE-1');
    const enrolled = await bed.device('POST', '/.well-known/est/simpleenroll', {
      body: keys.csrBase64,
      contentType: 'application/pkcs10',
      basic: `SN-UPDATE-1:${enrollmentSecret!}`,
    });
    assert.equal(enrolled.status, 200, enrolled.text);
    cert = pkcs7CertificatesPem(enrolled.text, bed.dir);
    key = keys.keyPem;
    const release = await bed.admin('POST', '/api/v1/releases', {
      productId: bed.productId,
      version: '2.0.0',
      securityVersion: 2,
      hardwareRevisions: ['A', 'B'],
    });
    await fetch(`${bed.adminUrl}/api/v1/releases/${release.json.id}/artifacts?name=fw.bin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bed.adminToken}`, 'content-type': 'application/octet-stream' },
      body: Buffer.from('firmware 2.0.0'),
    });
    assert.equal((await bed.admin('POST', `/api/v1/releases/${release.json.id}/publish`)).status, 200);
    const rollout = await bed.admin('POST', '/api/v1/rollouts', {
      releaseId: release.json.id,
      selection: { kind: 'devices', deviceIds: [deviceId] },
      waves: [{ share: 100 }],
    });
    assert.equal(rollout.status, 201, JSON.stringify(rollout.json));
    rolloutId = rollout.json.id;
  });
  after(() => bed.close());

  const send = (path: string, body: unknown, withCert = true) =>
    bed.device('POST', path, {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      contentType: 'application/json',
      ...(withCert ? { cert, key } : {}),
    });

  async function unchanged(): Promise<string> {
    const rows = await bed.platform.store.db.selectFrom('rollout_devices').selectAll().execute();
    const states = await bed.platform.store.db.selectFrom('device_update_states').selectAll().execute();
    const ledger = await bed.platform.store.db
      .selectFrom('ledger_entries')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    return JSON.stringify([rows, states, ledger]);
  }

  test('check-in needs the device certificate and a well-formed report; a refusal changes nothing', async () => {
    const before = await unchanged();
    const anonymous = await send('/device/v1/checkin', { version: '1.0.0' }, false);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.code, 'DEVICE_CERTIFICATE_MISSING');
    for (const body of [
      {},
      { version: '' },
      { version: 'x'.repeat(65) },
      { version: '1.0.0', securityVersion: -1 },
      { version: '1.0.0', securityVersion: '2' },
      { version: '1.0.0', status: 'sleeping' },
      { version: '1.0.0', hardwareRevision: 'Z' },
      [],
      '{"version": ',
    ]) {
      const refused = await send('/device/v1/checkin', body);
      assert.equal(refused.status, 400, `${JSON.stringify(body)} → ${refused.text}`);
      assert.match(String(refused.headers['content-type']), /application\/problem\+json/);
      assert.equal(typeof refused.json.code, 'string');
    }
    const xml = await bed.device('POST', '/device/v1/checkin', {
      body: '<checkin/>',
      contentType: 'application/xml',
      cert,
      key,
    });
    assert.equal(xml.status, 415);
    assert.equal(await unchanged(), before);
  });

  test('reports and postponements for unknown rollouts, or malformed, are refused and change nothing', async () => {
    const before = await unchanged();
    const unknown = await send('/device/v1/updates/0197aaaa-0000-7000-8000-000000000000/report', {
      step: 'downloading',
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.code, 'UPDATE_ROLLOUT_UNKNOWN');
    const notUuid = await send('/device/v1/updates/latest/report', { step: 'downloading' });
    assert.equal(notUuid.status, 400);
    for (const body of [
      { step: 'flashing' },
      {},
      { step: 'installed', version: '' },
      { step: 'failed', reason: 'x'.repeat(1001) },
    ]) {
      const refused = await send(`/device/v1/updates/${rolloutId}/report`, body);
      assert.equal(refused.status, 400, `${JSON.stringify(body)} → ${refused.text}`);
    }
    const noReason = await send(`/device/v1/updates/${rolloutId}/report`, { step: 'failed' });
    assert.equal(noReason.status, 400);
    assert.equal(noReason.json.code, 'UPDATE_REASON_MISSING');
    for (const body of [{ hours: 0 }, { hours: 169 }, { hours: 1.5 }, {}]) {
      const refused = await send(`/device/v1/updates/${rolloutId}/postpone`, body);
      assert.equal(refused.status, 400, `${JSON.stringify(body)} → ${refused.text}`);
    }
    assert.equal(await unchanged(), before);
  });

  test('curl checks in with the device certificate and is told what to install; a quarantined device still is', async (t) => {
    if (!requirePeer(t, 'curl', hasCommand('curl'), 'apt-get install curl')) return;
    writeFileSync(join(bed.dir, 'update-ca.pem'), await bed.caPem());
    writeFileSync(join(bed.dir, 'update-device.pem'), cert);
    writeFileSync(join(bed.dir, 'update-device.key'), key);
    const quarantined = await bed.admin('POST', `/api/v1/devices/${deviceId}/quarantine`, {
      reason: 'suspect boot',
    });
    assert.equal(quarantined.status, 200);
    const response = await curl(bed.dir, `${bed.deviceUrl}/device/v1/checkin`, [
      '--cacert',
      join(bed.dir, 'update-ca.pem'),
      '--cert',
      join(bed.dir, 'update-device.pem'),
      '--key',
      join(bed.dir, 'update-device.key'),
      '-H',
      'content-type: application/json',
      '--data-binary',
      '{"version":"1.0.0","securityVersion":1}',
    ]);
    assert.equal(response.status, 200, response.body.toString());
    const offer = JSON.parse(response.body.toString()).update;
    assert.equal(offer.rolloutId, rolloutId);
    assert.equal(offer.version, '2.0.0');
    assert.equal(offer.state, 'offered');
    assert.deepEqual(
      offer.targets.map((target: { path: string }) => target.path),
      ['2.0.0/fw.bin'],
    );
    const report = await send(`/device/v1/updates/${rolloutId}/report`, { step: 'downloading' });
    assert.equal(report.status, 200, report.text);
    assert.equal(report.json.state, 'downloading');
    const backwards = await send(`/device/v1/updates/${rolloutId}/report`, { step: 'downloading' });
    assert.equal(backwards.status, 200, 'the same step again is fine');
    const postponed = await send(`/device/v1/updates/${rolloutId}/postpone`, {
      hours: 2,
      reason: 'night shift',
    });
    assert.equal(postponed.status, 200, postponed.text);
    assert.equal(postponed.json.postponementsLeft, 2);
  });
});
