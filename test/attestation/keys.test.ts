import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { EndorsementRoots } from '../../src/attestation/index.ts';
import { AttestationKeys, type CredentialChallenge } from '../../src/attestation/keys.ts';
import {
  parsePublicArea,
  parseTpm2ToolsCredential,
  type TpmPublicArea,
} from '../../src/attestation/tpm/index.ts';
import { ManualClock, isVigilError, toRfc3339 } from '../../src/core/index.ts';
import { validProduct } from '../api/helpers.ts';
import { hasCommand, requirePeer } from '../support/peers.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { storeKinds } from '../support/stores.ts';
import { SoftwareTpm } from './software-tpm.ts';
import { activateInSoftware, publicAreaOf, sized } from './tpm/activate-fixture.ts';

/** TPMA_OBJECT bits (TPM 2.0 Part 2 §8.3.2). */
const fixedTPM = 1 << 1;
const restricted = 1 << 16;
const sign = 1 << 18;
/** TPMA_OBJECT of `tpm2_createak`: fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign. */
const akAttributes = 0x00050072;

/** An EK whose private key the test holds: the TPM2B_PUBLIC a device sends, and what activates credentials. */
interface SoftwareEk {
  privateKey: KeyObject;
  area: TpmPublicArea;
  /** TPM2B_PUBLIC, as `tpm2_createek -u` writes it. */
  bytes: Buffer;
}

function softwareEk(): SoftwareEk {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const area = publicAreaOf(privateKey);
  return { privateKey, area, bytes: sized(area.publicAreaBytes) };
}

/** TPM2_ActivateCredential on the device's side, in software: the secret the challenge hides. */
function answer(challenge: CredentialChallenge, ek: SoftwareEk): Buffer {
  return activateInSoftware(
    ek.area,
    ek.privateKey,
    Buffer.from(challenge.akName, 'hex'),
    parseTpm2ToolsCredential(Buffer.from(challenge.credentialBlob, 'base64')),
  );
}

function refusedWith(code: string) {
  return (error: unknown) => {
    assert.ok(isVigilError(error), String(error));
    assert.equal(error.code, code, error.message);
    return true;
  };
}

/** A TPM manufacturer's CA (openssl) and an EK certificate from it for `ek`, made before any platform runs. */
function manufacturerFixture(eks: Record<string, SoftwareEk>): {
  dir: string;
  roots: string;
  certificates: Map<string, Buffer>;
} {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-keys-ek-'));
  const openssl = (args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
  };
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
    ].concat([
      '-out',
      'ca.pem',
      '-days',
      '30',
      '-subj',
      '/O=Test TPM Maker/CN=EK CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ]),
  );
  writeFileSync(
    join(dir, 'ek.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\n',
  );
  const certificates = new Map<string, Buffer>();
  let serial = 1;
  for (const [name, ek] of Object.entries(eks)) {
    writeFileSync(join(dir, `${name}.key`), ek.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', '/CN=unknown', '-out', `${name}.csr`]);
    openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-days', '30'].concat([
        '-set_serial',
        String(serial++),
        '-extfile',
        'ek.ext',
        '-outform',
        'DER',
        '-out',
        `${name}.der`,
      ]),
    );
    certificates.set(name, readFileSync(join(dir, `${name}.der`)));
  }
  return { dir, roots: join(dir, 'ca.pem'), certificates };
}

for (const kind of await storeKinds()) {
  describe(`AttestationKeys: binding a TPM AK by credential activation (${kind})`, () => {
    let t: TestPlatform;
    let keys: AttestationKeys;
    let productId: string;
    let serial = 0;

    const withOpenssl = hasCommand('openssl');
    const eks = { genuine: softwareEk(), other: softwareEk() };
    let fixture: ReturnType<typeof manufacturerFixture> | undefined;

    before(async () => {
      // openssl runs before the platform does; the clock starts at real time, once the
      // certificates it made are valid.
      if (withOpenssl) fixture = manufacturerFixture(eks);
      t = await startTestPlatform(kind, new ManualClock(new Date()));
      keys = t.platform.attestation.keys;
      const product = await t.call('POST', '/api/v1/products', validProduct('Infusion pump'));
      assert.equal(product.status, 201, product.text);
      productId = product.json.id;
    });
    after(async () => {
      await t?.close();
      if (fixture !== undefined) rmSync(fixture.dir, { recursive: true, force: true });
    });

    const newDevice = async (): Promise<string> => {
      const device = await t.call('POST', '/api/v1/devices', {
        serial: `IP-${kind}-${++serial}`,
        productId,
        hardwareRevision: 'rev-a',
        bootstrap: { method: 'secret' },
      });
      assert.equal(device.status, 201, device.text);
      return device.json.id;
    };

    const ledger = async (type: string, deviceId: string): Promise<Record<string, any>[]> => {
      const rows = await t.platform.store.db
        .selectFrom('ledger_entries')
        .select(['leaf'])
        .where('type', '=', type)
        .orderBy('idx')
        .execute();
      return rows
        .map((row) => JSON.parse(row.leaf.toString('utf8')) as Record<string, any>)
        .filter((entry) => entry.subject === deviceId);
    };
    const refusals = async (deviceId: string): Promise<string[]> =>
      (await ledger('attestation.key-refused', deviceId)).map((entry) => entry.details.code);

    it('binds the AK whose credential the EK opened: first-use endorsement, recorded with both Names', async () => {
      const deviceId = await newDevice();
      const ek = softwareEk();
      const tpm = new SoftwareTpm();
      const akPublic = tpm.akPublic();
      const challenge = await keys.challenge(deviceId, ek.bytes, akPublic);
      assert.equal(challenge.akName, parsePublicArea(akPublic).name.toString('hex'));
      assert.equal(
        Date.parse(challenge.expiresAt),
        Math.floor(t.clock.now().getTime() / 1000) * 1000 + 300_000,
      );
      const key = await keys.activate(deviceId, challenge.challengeId, answer(challenge, ek));
      assert.equal(key.kind, 'tpm2');
      assert.equal(key.method, 'activate-credential');
      assert.equal(key.endorsement, 'first-use');
      assert.equal(key.akName, challenge.akName);
      assert.deepEqual(
        createPublicKey(key.publicKey).export({ format: 'jwk' }),
        tpm.ak.publicKey.export({ format: 'jwk' }),
      );
      assert.deepEqual(await keys.list(deviceId), [key]);
      const bound = await ledger('attestation.key-bound', deviceId);
      assert.equal(bound.length, 1);
      assert.deepEqual(bound[0]!.details, {
        keyId: key.id,
        method: 'activate-credential',
        endorsement: 'first-use',
        ekCertificateSha256: null,
        akName: challenge.akName,
        ekName: ek.area.name.toString('hex'),
      });
      assert.deepEqual(await refusals(deviceId), []);

      // A second AK against the same (pinned) EK is bound too.
      const next = new SoftwareTpm();
      const again = await keys.challenge(deviceId, ek.bytes, next.akPublic());
      await keys.activate(deviceId, again.challengeId, answer(again, ek));
      assert.equal((await keys.list(deviceId)).length, 2);
    });

    it('a wrong secret is ATTESTATION_CREDENTIAL_WRONG and spends the challenge: the right one is then ATTESTATION_CHALLENGE_USED', async () => {
      const deviceId = await newDevice();
      const ek = softwareEk();
      const challenge = await keys.challenge(deviceId, ek.bytes, new SoftwareTpm().akPublic());
      const secret = answer(challenge, ek);
      const wrong = Buffer.from(secret);
      wrong[0]! ^= 1;
      await assert.rejects(
        keys.activate(deviceId, challenge.challengeId, wrong),
        refusedWith('ATTESTATION_CREDENTIAL_WRONG'),
      );
      await assert.rejects(
        keys.activate(deviceId, challenge.challengeId, secret),
        refusedWith('ATTESTATION_CHALLENGE_USED'),
      );
      assert.deepEqual(await refusals(deviceId), [
        'ATTESTATION_CREDENTIAL_WRONG',
        'ATTESTATION_CHALLENGE_USED',
      ]);
      assert.deepEqual(await keys.list(deviceId), []);
      assert.deepEqual(await ledger('attestation.key-bound', deviceId), []);
    });

    it('a challenge answered once is ATTESTATION_CHALLENGE_USED the second time; one key is bound', async () => {
      const deviceId = await newDevice();
      const ek = softwareEk();
      const challenge = await keys.challenge(deviceId, ek.bytes, new SoftwareTpm().akPublic());
      const secret = answer(challenge, ek);
      await keys.activate(deviceId, challenge.challengeId, secret);
      await assert.rejects(
        keys.activate(deviceId, challenge.challengeId, secret),
        refusedWith('ATTESTATION_CHALLENGE_USED'),
      );
      assert.deepEqual(await refusals(deviceId), ['ATTESTATION_CHALLENGE_USED']);
      assert.equal((await keys.list(deviceId)).length, 1);
    });

    it('a challenge answered at or after its expiry (300 s) is ATTESTATION_CHALLENGE_EXPIRED', async () => {
      const deviceId = await newDevice();
      const ek = softwareEk();
      const start = t.clock.now();
      try {
        const challenge = await keys.challenge(deviceId, ek.bytes, new SoftwareTpm().akPublic());
        t.clock.set(challenge.expiresAt);
        await assert.rejects(
          keys.activate(deviceId, challenge.challengeId, answer(challenge, ek)),
          refusedWith('ATTESTATION_CHALLENGE_EXPIRED'),
        );
        t.clock.advance(3_600_000);
        await assert.rejects(
          keys.activate(deviceId, challenge.challengeId, answer(challenge, ek)),
          refusedWith('ATTESTATION_CHALLENGE_EXPIRED'),
        );
      } finally {
        t.clock.set(start);
      }
      assert.deepEqual(await refusals(deviceId), [
        'ATTESTATION_CHALLENGE_EXPIRED',
        'ATTESTATION_CHALLENGE_EXPIRED',
      ]);
      assert.deepEqual(await keys.list(deviceId), []);
    });

    it("another device's challenge, or none at all, is ATTESTATION_CHALLENGE_UNKNOWN and leaves that challenge unspent", async () => {
      const owner = await newDevice();
      const intruder = await newDevice();
      const ek = softwareEk();
      const challenge = await keys.challenge(owner, ek.bytes, new SoftwareTpm().akPublic());
      const secret = answer(challenge, ek);
      await assert.rejects(
        keys.activate(intruder, challenge.challengeId, secret),
        refusedWith('ATTESTATION_CHALLENGE_UNKNOWN'),
      );
      await assert.rejects(
        keys.activate(intruder, randomUUID(), secret),
        refusedWith('ATTESTATION_CHALLENGE_UNKNOWN'),
      );
      assert.deepEqual(await refusals(intruder), [
        'ATTESTATION_CHALLENGE_UNKNOWN',
        'ATTESTATION_CHALLENGE_UNKNOWN',
      ]);
      assert.deepEqual(await keys.list(intruder), []);
      // The owner's challenge is still good.
      await keys.activate(owner, challenge.challengeId, secret);
      assert.deepEqual(await refusals(owner), []);
    });

    it('an AK that is not restricted, not a signing key or not fixedTPM is ATTESTATION_TPM_AK_ATTRIBUTES, with no challenge issued', async () => {
      const deviceId = await newDevice();
      const ek = softwareEk();
      for (const missing of [restricted, sign, fixedTPM]) {
        await assert.rejects(
          keys.challenge(deviceId, ek.bytes, new SoftwareTpm().akPublic(akAttributes & ~missing)),
          refusedWith('ATTESTATION_TPM_AK_ATTRIBUTES'),
        );
      }
      // A decrypting key is no AK either, whatever else it has.
      await assert.rejects(
        keys.challenge(deviceId, ek.bytes, ek.bytes),
        refusedWith('ATTESTATION_TPM_AK_ATTRIBUTES'),
      );
      assert.deepEqual(await refusals(deviceId), Array(4).fill('ATTESTATION_TPM_AK_ATTRIBUTES'));
      const issued = await t.platform.store.db
        .selectFrom('attestation_credential_challenges')
        .select('id')
        .where('device_id', '=', deviceId)
        .execute();
      assert.deepEqual(issued, []);
      assert.deepEqual(await keys.list(deviceId), []);
    });

    it('once bound, a binding with another EK (another TPM) is ATTESTATION_EK_CHANGED', async () => {
      const deviceId = await newDevice();
      const ek = softwareEk();
      const first = await keys.challenge(deviceId, ek.bytes, new SoftwareTpm().akPublic());
      await keys.activate(deviceId, first.challengeId, answer(first, ek));
      await assert.rejects(
        keys.challenge(deviceId, softwareEk().bytes, new SoftwareTpm().akPublic()),
        refusedWith('ATTESTATION_EK_CHANGED'),
      );
      assert.deepEqual(await refusals(deviceId), ['ATTESTATION_EK_CHANGED']);
      assert.equal((await keys.list(deviceId)).length, 1);
    });

    it('two challenges for two EKs taken before either is answered bind only the first EK', async () => {
      const deviceId = await newDevice();
      const [one, two] = [softwareEk(), softwareEk()];
      const first = await keys.challenge(deviceId, one.bytes, new SoftwareTpm().akPublic());
      const second = await keys.challenge(deviceId, two.bytes, new SoftwareTpm().akPublic());
      await keys.activate(deviceId, first.challengeId, answer(first, one));
      await assert.rejects(
        keys.activate(deviceId, second.challengeId, answer(second, two)),
        refusedWith('ATTESTATION_EK_CHANGED'),
      );
    });

    describe('with TPM manufacturer CAs configured', () => {
      const need = (context: TestContext) =>
        requirePeer(context, 'openssl', withOpenssl, 'apt-get install openssl');
      let endorsed: AttestationKeys;

      before(() => {
        if (fixture === undefined) return;
        endorsed = new AttestationKeys({
          store: t.platform.store,
          ledger: t.platform.ledger,
          clock: t.clock,
          endorsementRoots: EndorsementRoots.fromPemFile(fixture.roots),
        });
      });

      it('a binding without an EK certificate is ATTESTATION_EK_CERTIFICATE_REQUIRED', async (context) => {
        if (!need(context)) return;
        const deviceId = await newDevice();
        await assert.rejects(
          endorsed.challenge(deviceId, eks.genuine.bytes, new SoftwareTpm().akPublic()),
          refusedWith('ATTESTATION_EK_CERTIFICATE_REQUIRED'),
        );
        assert.deepEqual(await refusals(deviceId), ['ATTESTATION_EK_CERTIFICATE_REQUIRED']);
      });

      it("another EK's genuine certificate is ATTESTATION_EK_CERTIFICATE_INVALID", async (context) => {
        if (!need(context)) return;
        const deviceId = await newDevice();
        await assert.rejects(
          endorsed.challenge(
            deviceId,
            eks.genuine.bytes,
            new SoftwareTpm().akPublic(),
            fixture!.certificates.get('other'),
          ),
          refusedWith('ATTESTATION_EK_CERTIFICATE_INVALID'),
        );
        assert.deepEqual(await refusals(deviceId), ['ATTESTATION_EK_CERTIFICATE_INVALID']);
        assert.deepEqual(await endorsed.list(deviceId), []);
      });

      it("the EK's own certificate binds the AK as endorsed by it ('ek-certificate')", async (context) => {
        if (!need(context)) return;
        const deviceId = await newDevice();
        const challenge = await endorsed.challenge(
          deviceId,
          eks.genuine.bytes,
          new SoftwareTpm().akPublic(),
          fixture!.certificates.get('genuine'),
        );
        const key = await endorsed.activate(deviceId, challenge.challengeId, answer(challenge, eks.genuine));
        assert.equal(key.endorsement, 'ek-certificate');
        const bound = await ledger('attestation.key-bound', deviceId);
        assert.equal(bound[0]!.details.endorsement, 'ek-certificate');
        assert.equal(
          bound[0]!.details.ekCertificateSha256,
          createHash('sha256').update(fixture!.certificates.get('genuine')!).digest('hex'),
          'the ledger names the EK certificate that endorsed the key',
        );
        const [boundKey] = await endorsed.boundAt(deviceId, 'tpm2', toRfc3339(t.clock.now()));
        assert.equal(boundKey?.endorsement, 'ek-certificate');
      });
    });
  });
}
