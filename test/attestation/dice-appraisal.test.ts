import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ManualClock, isVigilError } from '../../src/core/index.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { hasCommand, requirePeer } from '../support/peers.ts';
import { validProduct } from '../api/helpers.ts';
import {
  buildCertificates,
  certificate,
  encodeDiceTcbInfo,
  sha256Oid,
  type DiceCertificate,
} from './dice/fixtures.ts';

const day = 86_400_000;
const opensslAvailable = hasCommand('openssl');

const firmware = Buffer.alloc(32, 0xb0);
const application = Buffer.alloc(32, 0xa1);
/** The release's reference values: both layers' approved FWIDs. */
const layerValues = [
  { kind: 'dice-layer', model: 'IP-9 bootloader', digests: { sha256: firmware.toString('hex') } },
  { kind: 'dice-layer', model: 'IP-9 application', digests: { sha256: application.toString('hex') } },
];

/** A DeviceID → firmware layer → Alias chain made by openssl; the Alias lives one day. */
function chains(): Map<string, DiceCertificate> {
  const layer = (model: string, svn: number, digest: Buffer, flags: number[]) =>
    encodeDiceTcbInfo({
      vendor: 'Vigil Medical',
      model,
      svn,
      fwids: [{ hashAlgorithm: sha256Oid, digest }],
      flags,
    });
  return buildCertificates([
    { name: 'deviceId', subject: '/CN=DeviceID IP-9 0001', days: 3650, ca: true },
    {
      name: 'firmware',
      subject: '/CN=IP-9 firmware',
      issuer: 'deviceId',
      days: 30,
      ca: true,
      tcbInfo: layer('IP-9 bootloader', 4, firmware, []),
    },
    {
      name: 'alias',
      subject: '/CN=IP-9 alias',
      issuer: 'firmware',
      days: 1,
      ca: false,
      tcbInfo: layer('IP-9 application', 4, application, []),
    },
    {
      name: 'debugAlias',
      subject: '/CN=IP-9 alias',
      issuer: 'firmware',
      days: 1,
      ca: false,
      tcbInfo: layer('IP-9 application', 4, application, [3]),
    },
    { name: 'otherDeviceId', subject: '/CN=DeviceID IP-9 0001', days: 3650, ca: true },
  ]);
}

describe('DICE appraisal', () => {
  let t: TestPlatform;
  let made: Map<string, DiceCertificate>;
  let deviceId: string;
  let productId: string;

  before(async () => {
    if (!opensslAvailable) return;
    made = chains();
    // Certificates made now: the installation's clock starts now too.
    t = await startTestPlatform('sqlite', new ManualClock(new Date(Math.floor(Date.now() / 1000) * 1000)));
    const product = await t.call('POST', '/api/v1/products', validProduct('DICE pump'));
    productId = product.json.id;
    const device = await t.call('POST', '/api/v1/devices', {
      serial: 'IP9-0001',
      productId,
      hardwareRevision: 'rev-a',
      bootstrap: { method: 'secret' },
    });
    deviceId = device.json.id;
    const deviceIdPem = new (await import('node:crypto')).X509Certificate(
      certificate(made, 'deviceId').der,
    ).toString();
    const key = await t.call('POST', `/api/v1/devices/${deviceId}/attestation-keys`, {
      kind: 'dice',
      deviceIdCertificate: deviceIdPem,
    });
    assert.equal(key.status, 201, key.text);
    assert.equal(key.json.endorsement, 'factory');
    const values = await t.call('POST', '/api/v1/attestation/reference-values', {
      productId,
      hardwareRevision: 'rev-a',
      release: '9.0.0',
      values: {
        components: layerValues,
        minimumSecurityVersion: 3,
        secureBootRequired: true,
      },
    });
    assert.equal(values.status, 201, values.text);
  });
  after(async () => t?.close());

  async function attest(aliasName: string, chain: string[] = [aliasName, 'firmware', 'deviceId']) {
    const { nonce } = t.platform.attestation.nonces.issue(deviceId);
    const alias = certificate(made, aliasName);
    const row = await t.platform.identity.devices.requireRow(t.platform.store.db, deviceId);
    return t.platform.attestation.service.submit(row, 'dice-chain', {
      chain: chain.map((name) => certificate(made, name).der.toString('base64')),
      nonce: nonce.toString('base64'),
      signature: sign('sha256', nonce, createPrivateKey(alias.keyPem)).toString('base64'),
    });
  }

  test('a chain to the registered DeviceID with approved FWIDs is affirming, and its record re-appraises the same after the Alias expired', async (t_) => {
    if (!requirePeer(t_, 'openssl', opensslAvailable, 'apt-get install -y openssl')) return;
    const record = await attest('alias');
    assert.equal(record.status, 'affirming', JSON.stringify(record.findings));
    assert.equal(record.secureBoot, 'enabled');
    assert.equal(record.measuredRelease, '9.0.0');
    assert.equal(record.trustVector.hardware, 2, 'the DeviceID was registered at the factory');

    t.clock.advance(2 * day);
    // Now the Alias certificate has expired: fresh evidence with it is refused ...
    await assert.rejects(attest('alias'), (error: unknown) =>
      isVigilError(error, 'ATTESTATION_DICE_CERTIFICATE_EXPIRED'),
    );
    // ... while the archived record, judged at its own time, still says what it said.
    const again = await t.call('POST', `/api/v1/attestations/${record.id}/reappraise`);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.matches, true, JSON.stringify(again.json));
    assert.equal(again.json.recordIntact, true);
    t.clock.advance(-2 * day);
  });

  test('a layer in debug mode is not Secure Boot: contraindicated where the release requires it', async (t_) => {
    if (!requirePeer(t_, 'openssl', opensslAvailable, 'apt-get install -y openssl')) return;
    const record = await attest('debugAlias', ['debugAlias', 'firmware', 'deviceId']);
    assert.equal(record.secureBoot, 'disabled');
    assert.equal(record.status, 'contraindicated');
    assert.equal(record.trustVector.configuration, 96);
  });

  test('a security version below the minimum is a failure, or a warning where the policy says so', async (t_) => {
    if (!requirePeer(t_, 'openssl', opensslAvailable, 'apt-get install -y openssl')) return;
    const raised = await t.call('POST', '/api/v1/attestation/reference-values', {
      productId,
      hardwareRevision: 'rev-a',
      release: '9.0.0',
      values: {
        components: layerValues,
        minimumSecurityVersion: 5,
        secureBootRequired: true,
      },
    });
    assert.equal(raised.json.version, 2);
    const record = await attest('alias');
    assert.equal(record.status, 'contraindicated');
    assert.match(
      record.findings.find((f) => f.check === 'security-version')!.detail,
      /4 is below the minimum 5/,
    );
    await t.call('POST', '/api/v1/attestation/policies', {
      productId,
      policy: {
        requiredClaims: ['secure-boot'],
        secureBootDisabled: 'failure',
        unrecognizedComponent: 'failure',
        belowMinimumSecurityVersion: 'warning',
        missingReferenceValues: 'failure',
        quarantineOnContraindicated: false,
      },
    });
    const warned = await attest('alias');
    assert.equal(warned.status, 'warning');
    assert.equal(warned.trustVector.executables, 32);
  });

  test('a chain to another DeviceID, or an Alias that did not sign the nonce, is refused and recorded', async (t_) => {
    if (!requirePeer(t_, 'openssl', opensslAvailable, 'apt-get install -y openssl')) return;
    await assert.rejects(attest('alias', ['alias', 'firmware', 'otherDeviceId']), (error: unknown) =>
      isVigilError(error, 'ATTESTATION_DICE_CHAIN_UNTRUSTED'),
    );
    const { nonce } = t.platform.attestation.nonces.issue(deviceId);
    const row = await t.platform.identity.devices.requireRow(t.platform.store.db, deviceId);
    await assert.rejects(
      t.platform.attestation.service.submit(row, 'dice-chain', {
        chain: ['alias', 'firmware', 'deviceId'].map((name) =>
          certificate(made, name).der.toString('base64'),
        ),
        nonce: nonce.toString('base64'),
        signature: sign('sha256', nonce, createPrivateKey(certificate(made, 'firmware').keyPem)).toString(
          'base64',
        ),
      }),
      (error: unknown) => isVigilError(error, 'ATTESTATION_DICE_SIGNATURE_INVALID'),
    );
    const refusals = await t.platform.store.db
      .selectFrom('ledger_entries')
      .select('leaf')
      .where('type', '=', 'attestation.refused')
      .execute();
    const codes = refusals.map((row) => JSON.parse(row.leaf.toString('utf8')).details.code);
    assert.ok(codes.includes('ATTESTATION_DICE_CHAIN_UNTRUSTED'));
    assert.ok(codes.includes('ATTESTATION_DICE_SIGNATURE_INVALID'));
  });
});
