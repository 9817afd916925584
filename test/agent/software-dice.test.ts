import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DiceAttester } from '../../src/agent/dice-attester.ts';
import { toPem } from '../../src/agent/der.ts';
import {
  SoftwareDiceDevice,
  createDeviceId,
  deriveAliasKey,
  diceTcbInfoOid,
  encodeDiceTcbInfo,
  issueAliasCertificate,
  sha256Oid,
  type TcbInfo,
} from '../../src/agent/software-dice.ts';
import { verifyDiceChain } from '../../src/attestation/dice/chain.ts';
import { verifyDiceEvidence } from '../../src/attestation/dice/evidence.ts';
import { parseDiceTcbInfo } from '../../src/attestation/dice/tcb-info.ts';
import { isVigilError } from '../../src/core/index.ts';
import {
  aliasTcbInfo,
  encodeDiceTcbInfo as opensslFixtureEncoding,
  firmwareTcbInfo,
} from '../attestation/dice/fixtures.ts';
import { hasCommand, requirePeer } from '../support/peers.ts';

const firmware = Buffer.from('simulated firmware 1.0.0\n');
const fwid = createHash('sha256').update(firmware).digest();

describe('DiceTcbInfo encoding (TCG DICE Attestation Architecture §6.1.1)', () => {
  it("encodes exactly as the attestation tests' independent encoder does", () => {
    for (const info of [aliasTcbInfo, firmwareTcbInfo, { flags: [] }, {}] as TcbInfo[])
      assert.deepEqual(encodeDiceTcbInfo(info), opensslFixtureEncoding(info));
  });

  it("decodes back to the same fields through Vigil's strict DER parser", () => {
    const info: TcbInfo = {
      vendor: 'Vigil Medical',
      model: 'IP-200',
      version: '1.0.0',
      svn: 300,
      layer: 1,
      index: 0,
      fwids: [
        { hashAlgorithm: sha256Oid, digest: fwid },
        { hashAlgorithm: '2.16.840.1.101.3.4.2.2', digest: Buffer.alloc(48, 0xb1) },
      ],
      flags: [1, 3],
      vendorInfo: Buffer.from([1, 2, 3]),
      type: Buffer.from('firmware'),
    };
    const parsed = parseDiceTcbInfo(encodeDiceTcbInfo(info));
    assert.equal(parsed.vendor, 'Vigil Medical');
    assert.equal(parsed.model, 'IP-200');
    assert.equal(parsed.version, '1.0.0');
    assert.equal(parsed.svn, 300);
    assert.equal(parsed.layer, 1);
    assert.equal(parsed.index, 0);
    assert.deepEqual(parsed.fwids, info.fwids);
    assert.deepEqual(parsed.flags, {
      notConfigured: false,
      notSecure: true,
      recovery: false,
      debug: true,
      setBits: [1, 3],
    });
    assert.deepEqual(parsed.vendorInfo, info.vendorInfo);
    assert.deepEqual(parsed.type, info.type);
    // No flag set: the BIT STRING is empty, and the parser reads every flag clear.
    assert.deepEqual(parseDiceTcbInfo(encodeDiceTcbInfo({ flags: [] })).flags?.setBits, []);
  });
});

describe('software DICE device', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-software-dice-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const deviceId = createDeviceId('DeviceID SN-0001');

  it("issues an Alias certificate under the DeviceID whose FWID is the firmware's SHA-256; Vigil's verifier accepts the chain", () => {
    const alias = issueAliasCertificate(deviceId, { sha256: fwid, version: '1.0.0', securityVersion: 4 });
    const verified = verifyDiceChain({
      chain: [alias.certificate, deviceId.certificate],
      deviceIdCertificate: deviceId.certificate,
      at: new Date(),
    });
    assert.equal(verified.layers.length, 1);
    const layer = verified.layers[0]!.tcbInfo;
    assert.deepEqual(layer.fwids, [{ hashAlgorithm: sha256Oid, digest: fwid }]);
    assert.equal(layer.version, '1.0.0');
    assert.equal(layer.svn, 4);
    assert.equal(layer.layer, 1);
    assert.deepEqual(layer.flags?.setBits, []);
    // The evidence format the server appraises: signed nonce, claims with the FWID, Secure Boot on.
    const nonce = Buffer.alloc(32, 9);
    const claims = verifyDiceEvidence(
      {
        chain: [alias.certificate, deviceId.certificate],
        nonce,
        signature: sign('sha256', nonce, alias.privateKey),
      },
      [
        {
          id: 'key',
          kind: 'dice',
          publicKey: new X509Certificate(deviceId.certificate).publicKey,
          certificate: deviceId.certificate,
          endorsement: 'factory',
          lastClock: null,
        },
      ],
      new Date(),
    );
    assert.equal(claims.secureBoot, 'enabled');
    assert.equal(claims.securityVersion, 4);
    assert.deepEqual(claims.components, [
      {
        kind: 'dice-layer',
        vendor: null,
        model: null,
        version: '1.0.0',
        svn: 4,
        digests: { sha256: fwid.toString('hex') },
      },
    ]);
  });

  it('derives the same Alias key for the same firmware and another for other firmware (DICE layering)', () => {
    const spki = (key: ReturnType<typeof deriveAliasKey>) =>
      createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('hex');
    const first = deriveAliasKey(deviceId.privateKey, fwid);
    assert.equal(spki(first), spki(deriveAliasKey(deviceId.privateKey, fwid)));
    assert.notEqual(spki(first), spki(deriveAliasKey(deviceId.privateKey, Buffer.alloc(32, 1))));
    assert.notEqual(spki(first), spki(deriveAliasKey(createDeviceId('other').privateKey, fwid)));
    assert.equal(first.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('boots: writes the Alias chain and its key (mode 0600) in the form `vigil agent attest --dice-chain` reads', () => {
    const dir = join(scratch, 'device');
    writeFileSync(join(scratch, 'device-id.pem'), toPem(deviceId.certificate, 'CERTIFICATE'));
    writeFileSync(
      join(scratch, 'device-id.key'),
      deviceId.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      { mode: 0o600 },
    );
    const device = new SoftwareDiceDevice({
      deviceIdChainFile: join(scratch, 'device-id.pem'),
      deviceIdKeyFile: join(scratch, 'device-id.key'),
    });
    const files = device.boot({ sha256: fwid, version: '1.0.0', securityVersion: 1 }, dir);
    assert.equal(statSync(files.keyFile).mode & 0o777, 0o600);
    const evidence = new DiceAttester(files).collectEvidence(Buffer.alloc(16, 2));
    assert.equal(evidence.chain.length, 2);
    assert.deepEqual(Buffer.from(evidence.chain[1]!, 'base64'), deviceId.certificate);
  });

  it("refuses a DeviceID key that is not the certificate's, or a DeviceID that is no CA, without showing the key", () => {
    writeFileSync(
      join(scratch, 'other.key'),
      createDeviceId('x').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    );
    assert.throws(
      () =>
        new SoftwareDiceDevice({
          deviceIdChainFile: join(scratch, 'device-id.pem'),
          deviceIdKeyFile: join(scratch, 'other.key'),
        }),
      (error: unknown) =>
        isVigilError(error, 'AGENT_DICE_DEVICE_ID_INVALID') &&
        !/PRIVATE KEY/.test(error.message) &&
        /does not belong/.test(error.message),
    );
    const alias = issueAliasCertificate(deviceId, { sha256: fwid, version: '1.0.0', securityVersion: 1 });
    writeFileSync(join(scratch, 'alias.pem'), toPem(alias.certificate, 'CERTIFICATE'));
    writeFileSync(
      join(scratch, 'alias.key'),
      alias.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    );
    assert.throws(
      () =>
        new SoftwareDiceDevice({
          deviceIdChainFile: join(scratch, 'alias.pem'),
          deviceIdKeyFile: join(scratch, 'alias.key'),
        }),
      (error: unknown) =>
        isVigilError(error, 'AGENT_DICE_DEVICE_ID_INVALID') && /must be a CA/.test(error.message),
    );
    writeFileSync(join(scratch, 'garbage.key'), 'not a key');
    assert.throws(
      () =>
        new SoftwareDiceDevice({
          deviceIdChainFile: join(scratch, 'device-id.pem'),
          deviceIdKeyFile: join(scratch, 'garbage.key'),
        }),
      (error: unknown) => isVigilError(error, 'AGENT_DICE_DEVICE_ID_INVALID'),
    );
  });

  it('openssl verifies the Alias under the DeviceID and shows the DiceTcbInfo extension', (t) => {
    if (!requirePeer(t, 'openssl', hasCommand('openssl'), 'apt-get install -y openssl')) return;
    const alias = issueAliasCertificate(deviceId, { sha256: fwid, version: '1.0.0', securityVersion: 1 });
    const root = join(scratch, 'openssl-device-id.pem');
    const leaf = join(scratch, 'openssl-alias.pem');
    writeFileSync(root, toPem(deviceId.certificate, 'CERTIFICATE'));
    writeFileSync(leaf, toPem(alias.certificate, 'CERTIFICATE'));
    // The DiceTcbInfo extension is critical and unknown to openssl: -ignore_critical, as TCG suggests for generic verifiers.
    assert.match(
      execFileSync('openssl', ['verify', '-ignore_critical', '-CAfile', root, leaf]).toString(),
      /OK/,
    );
    const text = execFileSync('openssl', ['x509', '-in', leaf, '-noout', '-text']).toString();
    assert.match(text, new RegExp(`${diceTcbInfoOid.replace(/\./g, '\\.')}: critical`));
    assert.match(text, /CA:FALSE/);
    assert.match(text, /Digital Signature/);
    assert.match(text, /Not After : Dec 31 23:59:59 9999 GMT/);
    // The Alias key signs what the verifier checks (the key file round-trips through PEM).
    const pem = alias.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    assert.equal(createPrivateKey(pem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });
});
