import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseRoot, verifyRoleSignatures } from '../../src/updates/tuf/index.ts';
import { verifyStoredLog } from '../../src/ledger/index.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { storeKinds } from '../support/stores.ts';
import { ledgerSize, validProduct } from '../api/helpers.ts';

const firmware = Buffer.from('firmware image 1.0.0\n'.repeat(1000));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const sha512 = (bytes: Buffer) => createHash('sha512').update(bytes).digest('hex');

async function upload(
  t: TestPlatform,
  releaseId: string,
  name: string,
  bytes: Buffer,
  query: Record<string, string> = {},
) {
  const search = new URLSearchParams({ name, ...query });
  return t.send('POST', `/api/v1/releases/${releaseId}/artifacts?${search.toString()}`, {
    payload: bytes,
    contentType: 'application/octet-stream',
  });
}

const kinds = await storeKinds();

for (const kind of kinds) {
  describe(`releases (${kind})`, () => {
    let t: TestPlatform;
    let productId: string;

    before(async () => {
      t = await startTestPlatform(kind);
      const product = await t.call(
        'POST',
        '/api/v1/products',
        validProduct('Infusion pump', { hardwareRevisions: ['rev-a', 'rev-b'] }),
      );
      assert.equal(product.status, 201, product.text);
      productId = product.json.id;
    });
    after(() => t.close());

    async function draft(version: string, extra: Record<string, unknown> = {}) {
      const created = await t.call('POST', '/api/v1/releases', {
        productId,
        version,
        securityVersion: 1,
        hardwareRevisions: ['rev-a'],
        ...extra,
      });
      assert.equal(created.status, 201, created.text);
      return created.json as { id: string; version: string };
    }

    test('a release is created as a draft, its artifact streamed, hashed and stored by content', async () => {
      const release = await draft('1.0.0', {
        notes: 'first',
        referenceValues: [
          { hardwareRevision: 'rev-a', values: { components: [], secureBootRequired: true } },
        ],
      });
      const uploaded = await upload(t, release.id, 'firmware.bin', firmware, { sha256: sha256(firmware) });
      assert.equal(uploaded.status, 201, uploaded.text);
      assert.deepEqual(uploaded.json.artifacts, [
        {
          name: 'firmware.bin',
          targetPath: '1.0.0/firmware.bin',
          sha256: sha256(firmware),
          sha512: sha512(firmware),
          length: firmware.length,
        },
      ]);
      const stored = await t.platform.updates.artifacts.open(sha256(firmware));
      assert.equal(stored?.length, firmware.length);
      stored?.stream.destroy();
      const refvalues = await t.call('GET', `/api/v1/attestation/reference-values?productId=${productId}`);
      assert.equal(refvalues.json.referenceValues[0].release, '1.0.0');
    });

    test('an artifact whose hash does not match its declaration is refused and nothing is kept', async () => {
      const release = await draft('1.0.1');
      const before = await ledgerSize(t);
      const bytes = Buffer.from('tampered');
      const refused = await upload(t, release.id, 'firmware.bin', bytes, { sha256: sha256(firmware) });
      assert.equal(refused.status, 400);
      assert.equal(refused.json.code, 'ARTIFACT_HASH_MISMATCH');
      assert.equal(await t.platform.updates.artifacts.open(sha256(bytes)), null);
      assert.equal((await t.call('GET', `/api/v1/releases/${release.id}`)).json.artifacts.length, 0);
      assert.equal(await ledgerSize(t), before);
    });

    test('a release for an unknown hardware revision is refused', async () => {
      const refused = await t.call('POST', '/api/v1/releases', {
        productId,
        version: '9.9.9',
        securityVersion: 1,
        hardwareRevisions: ['rev-z'],
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.json.code, 'RELEASE_HARDWARE_REVISION_UNKNOWN');
      assert.equal(
        (await t.call('GET', `/api/v1/releases?productId=${productId}`)).json.releases.some(
          (r: any) => r.version === '9.9.9',
        ),
        false,
      );
    });

    test('a security update with a lower security version than one already released is refused', async () => {
      await draft('2.0.0', { securityVersion: 5 });
      const refused = await t.call('POST', '/api/v1/releases', {
        productId,
        version: '2.0.1',
        securityVersion: 4,
        hardwareRevisions: ['rev-a'],
        securityUpdate: true,
      });
      assert.equal(refused.status, 409);
      assert.equal(refused.json.code, 'RELEASE_SECURITY_VERSION_REGRESSION');
      const duplicate = await t.call('POST', '/api/v1/releases', {
        productId,
        version: '2.0.0',
        securityVersion: 5,
        hardwareRevisions: ['rev-a'],
      });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.json.code, 'RELEASE_VERSION_EXISTS');
    });

    test('publishing signs a new targets version with the release, and a snapshot and timestamp naming it', async () => {
      const release = await draft('3.0.0', { securityVersion: 6, securityUpdate: true });
      assert.equal((await upload(t, release.id, 'firmware.bin', firmware)).status, 201);
      const sbom = JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [] });
      const attached = await t.send('POST', `/api/v1/releases/${release.id}/sbom`, {
        payload: sbom,
        contentType: 'application/vnd.cyclonedx+json',
      });
      assert.equal(attached.status, 200, attached.text);
      assert.equal(attached.json.sbom.digest, `sha256:${sha256(Buffer.from(sbom))}`);
      const published = await t.call('POST', `/api/v1/releases/${release.id}/publish`);
      assert.equal(published.status, 200, published.text);
      assert.equal(published.json.status, 'published');
      assert.equal(published.json.approvals.length, 1);

      const status = await t.call('GET', `/api/v1/products/${productId}/tuf`);
      assert.equal(status.json.roles.targets.version, published.json.targetsVersion);
      const repo = t.platform.updates.repositories;
      const root = parseRoot((await repo.file(productId, '1.root.json'))!.document);
      const targetsDoc = (await repo.file(productId, `${published.json.targetsVersion}.targets.json`))!
        .document;
      verifyRoleSignatures(root, 'targets', targetsDoc);
      const target = JSON.parse(targetsDoc).signed.targets['3.0.0/firmware.bin'];
      assert.deepEqual(target.hashes, { sha256: sha256(firmware), sha512: sha512(firmware) });
      assert.deepEqual(target.custom, {
        releaseId: release.id,
        version: '3.0.0',
        securityVersion: 6,
        hardwareRevisions: ['rev-a'],
        securityUpdate: true,
        sbomDigest: `sha256:${sha256(Buffer.from(sbom))}`,
      });
      assert.match(JSON.parse(targetsDoc).signed.expires, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const timestamp = JSON.parse((await repo.file(productId, 'timestamp.json'))!.document);
      const snapshotDoc = (await repo.file(
        productId,
        `${timestamp.signed.meta['snapshot.json'].version}.snapshot.json`,
      ))!.document;
      assert.equal(timestamp.signed.meta['snapshot.json'].hashes.sha256, sha256(Buffer.from(snapshotDoc)));
      assert.equal(
        JSON.parse(snapshotDoc).signed.meta['targets.json'].version,
        published.json.targetsVersion,
      );

      const again = await t.call('POST', `/api/v1/releases/${release.id}/publish`);
      assert.equal(again.status, 409);
      assert.equal(again.json.code, 'RELEASE_PUBLISHED');
      const late = await upload(t, release.id, 'extra.bin', Buffer.from('x'));
      assert.equal(late.status, 409);
      assert.equal(late.json.code, 'RELEASE_PUBLISHED');
      assert.equal((await verifyStoredLog(t.platform.store, t.platform.ledger.verifierKey)).ok, true);
    });

    test('a release without artifacts cannot be published', async () => {
      const release = await draft('4.0.0', { securityVersion: 6 });
      const refused = await t.call('POST', `/api/v1/releases/${release.id}/publish`);
      assert.equal(refused.status, 409);
      assert.equal(refused.json.code, 'RELEASE_ARTIFACTS_MISSING');
    });
  });

  describe(`release approval, k of n (${kind})`, () => {
    let t: TestPlatform;
    let productId: string;
    let signerA: { principal: string; token: string };
    let signerB: { principal: string; token: string };

    async function releaseSigner(name: string) {
      const principal = await t.call('POST', '/api/v1/principals', {
        name,
        kind: 'person',
        roles: ['update-signer'],
      });
      assert.equal(principal.status, 201, principal.text);
      const token = await t.call('POST', '/api/v1/tokens', {
        name: `${name} token`,
        principalId: principal.json.id,
        scopes: ['releases:admin'],
        expiresAt: '2026-12-31T00:00:00Z',
      });
      assert.equal(token.status, 201, token.text);
      return { principal: principal.json.id as string, token: token.json.token as string };
    }

    before(async () => {
      t = await startTestPlatform(kind);
      productId = (await t.call('POST', '/api/v1/products', validProduct('Patient monitor'))).json.id;
      signerA = await releaseSigner('Release signer A');
      signerB = await releaseSigner('Release signer B');
      const repo = await t.call('POST', `/api/v1/products/${productId}/tuf`, {
        signers: [signerA.principal, signerB.principal, null],
        targetsThreshold: 2,
      });
      assert.equal(repo.status, 201, repo.text);
      assert.equal(repo.json.roles.targets.threshold, 2);
      assert.equal(repo.json.roles.targets.keys.length, 3);
    });
    after(() => t.close());

    test('a release is published only once the required number of signers approved it', async () => {
      const release = (
        await t.call('POST', '/api/v1/releases', {
          productId,
          version: '1.0.0',
          securityVersion: 1,
          hardwareRevisions: ['rev-a'],
        })
      ).json;
      assert.equal((await upload(t, release.id, 'firmware.bin', firmware)).status, 201);
      const tooFew = await t.call('POST', `/api/v1/releases/${release.id}/publish`, undefined, signerA.token);
      assert.equal(tooFew.status, 409);
      assert.equal(tooFew.json.code, 'RELEASE_APPROVALS_MISSING');
      assert.equal(
        (await t.call('GET', `/api/v1/releases/${release.id}`)).json.approvals.length,
        0,
        'a refused publish approves nothing',
      );

      const keys = (await t.call('GET', `/api/v1/products/${productId}/tuf`)).json.roles.targets.keys as {
        keyid: string;
        principalId: string | null;
      }[];
      const keyOfB = keys.find((key) => key.principalId === signerB.principal)!.keyid;
      const forbidden = await t.call(
        'POST',
        `/api/v1/releases/${release.id}/approvals`,
        { signer: keyOfB },
        signerA.token,
      );
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.json.code, 'RELEASE_SIGNER_FORBIDDEN');

      const approved = await t.call('POST', `/api/v1/releases/${release.id}/approvals`, {}, signerA.token);
      assert.equal(approved.status, 200, approved.text);
      assert.equal(
        approved.json.approvals[0].keyid,
        keys.find((key) => key.principalId === signerA.principal)!.keyid,
        "A's own signer first",
      );
      // k of n means k people: A cannot make up the second approval with the unbound signer.
      const unbound = keys.find((key) => key.principalId === null)!.keyid;
      const twice = await t.call(
        'POST',
        `/api/v1/releases/${release.id}/approvals`,
        { signer: unbound },
        signerA.token,
      );
      assert.equal(twice.status, 409);
      assert.equal(twice.json.code, 'RELEASE_ALREADY_APPROVED');
      const stillShort = await t.call(
        'POST',
        `/api/v1/releases/${release.id}/publish`,
        undefined,
        signerA.token,
      );
      assert.equal(stillShort.status, 409);
      assert.equal(stillShort.json.code, 'RELEASE_APPROVALS_MISSING');
      const published = await t.call(
        'POST',
        `/api/v1/releases/${release.id}/publish`,
        undefined,
        signerB.token,
      );
      assert.equal(published.status, 200, published.text);
      assert.deepEqual(
        published.json.approvals.map((approval: any) => approval.principalId).sort(),
        [signerA.principal, signerB.principal].sort(),
      );
      const repo = t.platform.updates.repositories;
      const root = parseRoot((await repo.file(productId, 'root.json'))!.document);
      const targets = JSON.parse((await repo.file(productId, 'targets.json'))!.document);
      assert.equal(Object.keys(targets.signatures).length, 2);
      verifyRoleSignatures(root, 'targets', JSON.stringify(targets));
    });
  });
}
