import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemActor } from '../../src/ledger/index.ts';
import { parseRoot, verifyRoleSignatures } from '../../src/updates/tuf/index.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { storeKinds } from '../support/stores.ts';
import { validProduct } from '../api/helpers.ts';

const hour = 3_600_000;
const day = 24 * hour;

const kinds = await storeKinds();

for (const kind of kinds) {
  describe(`TUF repository upkeep and changes (${kind})`, () => {
    let t: TestPlatform;
    let productId: string;

    before(async () => {
      t = await startTestPlatform(kind);
      productId = (await t.call('POST', '/api/v1/products', validProduct('Gateway'))).json.id;
      const created = await t.call('POST', `/api/v1/products/${productId}/tuf`, {});
      assert.equal(created.status, 201, created.text);
    });
    after(() => t.close());

    const repo = () => t.platform.updates.repositories;
    const versions = async () => {
      const status = await repo().status(productId);
      return Object.fromEntries(Object.entries(status.roles).map(([role, state]) => [role, state.version]));
    };

    test('a second repository for the product is refused', async () => {
      const again = await t.call('POST', `/api/v1/products/${productId}/tuf`, {});
      assert.equal(again.status, 409);
      assert.equal(again.json.code, 'TUF_REPOSITORY_EXISTS');
    });

    test('metadata is re-signed before it lapses: each role once less than half its lifetime is left', async () => {
      assert.deepEqual(await versions(), { root: 1, targets: 1, snapshot: 1, timestamp: 1 });
      assert.deepEqual(await repo().refreshExpiring(systemActor), [], 'nothing is due at first');
      t.clock.advance(13 * hour);
      assert.deepEqual(await repo().refreshExpiring(systemActor), [{ productId, roles: ['timestamp'] }]);
      assert.deepEqual(await versions(), { root: 1, targets: 1, snapshot: 1, timestamp: 2 });
      t.clock.advance(4 * day);
      assert.deepEqual(await repo().refreshExpiring(systemActor), [
        { productId, roles: ['snapshot', 'timestamp'] },
      ]);
      t.clock.advance(46 * day);
      const refreshed = await repo().refreshExpiring(systemActor);
      assert.deepEqual(refreshed, [{ productId, roles: ['targets', 'snapshot', 'timestamp'] }]);
      t.clock.advance(190 * day);
      const withRoot = await repo().refreshExpiring(systemActor);
      assert.deepEqual(withRoot[0]?.roles.includes('root'), true);
      const status = await repo().status(productId);
      for (const state of Object.values(status.roles)) {
        assert.ok(Date.parse(state.expires) > t.clock.now().getTime(), 'nothing is expired after upkeep');
      }
      const root = parseRoot((await repo().file(productId, 'root.json'))!.document);
      verifyRoleSignatures(root, 'timestamp', (await repo().file(productId, 'timestamp.json'))!.document);
      verifyRoleSignatures(root, 'targets', (await repo().file(productId, 'targets.json'))!.document);
    });

    test('two releases published at once both land, in successive targets versions', async () => {
      const release = async (version: string) => {
        const created = await t.call('POST', '/api/v1/releases', {
          productId,
          version,
          securityVersion: 1,
          hardwareRevisions: ['rev-a'],
        });
        const uploaded = await t.send('POST', `/api/v1/releases/${created.json.id}/artifacts?name=fw.bin`, {
          payload: Buffer.from(`firmware ${version}`),
          contentType: 'application/octet-stream',
        });
        assert.equal(uploaded.status, 201, uploaded.text);
        return created.json.id as string;
      };
      const [a, b] = [await release('5.0.0'), await release('5.0.1')];
      const before = (await versions()).targets!;
      const [first, second] = await Promise.all([
        t.call('POST', `/api/v1/releases/${a}/publish`),
        t.call('POST', `/api/v1/releases/${b}/publish`),
      ]);
      assert.equal(first.status, 200, first.text);
      assert.equal(second.status, 200, second.text);
      assert.deepEqual([first.json.targetsVersion, second.json.targetsVersion].sort(), [
        before + 1,
        before + 2,
      ]);
      const targets = JSON.parse((await repo().file(productId, 'targets.json'))!.document);
      assert.deepEqual(Object.keys(targets.signed.targets).sort(), ['5.0.0/fw.bin', '5.0.1/fw.bin']);
    });

    test('only the files a repository has are served: versioned timestamps and other names are not', async () => {
      assert.equal(await repo().file(productId, '1.timestamp.json'), null);
      assert.equal(await repo().file(productId, '../root.json'), null);
      assert.equal(await repo().file(productId, '999.root.json'), null);
      assert.equal((await repo().file(productId, '1.root.json'))?.versioned, true);
      assert.equal((await repo().file(productId, 'root.json'))?.versioned, false);
    });
  });
}
