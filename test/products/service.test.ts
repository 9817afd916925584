import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemActor } from '../../src/ledger/index.ts';
import type { ProductInput } from '../../src/products/index.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

const pump: ProductInput = {
  name: 'Infusion pump',
  model: 'IP-200',
  hardwareRevisions: ['A', 'B'],
  regimes: ['CRA', 'MDR'],
  supportStart: '2026-01-01',
  supportEnd: '2031-01-01',
};

describe('products', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(async () => t.close());

  test('creates a product and records it in the ledger', async () => {
    const product = await t.platform.products.create(systemActor, pump);
    assert.equal(product.name, 'Infusion pump');
    assert.deepEqual(product.ownershipGaps, [
      'identity',
      'update-signing',
      'vulnerability-remediation',
      'decommissioning',
    ]);
    const [event] = await t.platform.ledger.entriesOfSubject(product.id);
    assert.equal(JSON.parse(event!.leaf.toString('utf8')).type, 'product.created');
  });

  test('holds CRA products to a five-year support period unless a shorter expected use is documented', async () => {
    const short = { ...pump, name: 'Wearable', supportEnd: '2030-12-31' };
    await assert.rejects(t.platform.products.create(systemActor, short), {
      code: 'PRODUCT_SUPPORT_PERIOD_TOO_SHORT',
    });
    const justified = await t.platform.products.create(systemActor, {
      ...short,
      expectedUseJustification: 'single-use sensor, expected use 18 months (CRA Art. 13(8))',
    });
    assert.equal(justified.supportEnd, '2030-12-31');
    const notCra = await t.platform.products.create(systemActor, {
      ...short,
      name: 'Lab analyser',
      regimes: ['IVDR'],
    });
    assert.deepEqual(notCra.regimes, ['IVDR']);
  });

  test('refuses impossible dates, reversed periods and duplicate names without writing', async () => {
    const before = (await t.platform.ledger.entries(0, 10_000)).length;
    await assert.rejects(
      t.platform.products.create(systemActor, { ...pump, name: 'X', supportStart: '2026-02-30' }),
      { code: 'PRODUCT_DATE_INVALID' },
    );
    await assert.rejects(
      t.platform.products.create(systemActor, { ...pump, name: 'Y', supportEnd: '2025-01-01' }),
      {
        code: 'PRODUCT_SUPPORT_PERIOD_INVALID',
      },
    );
    await assert.rejects(t.platform.products.create(systemActor, pump), { code: 'PRODUCT_NAME_TAKEN' });
    assert.equal((await t.platform.ledger.entries(0, 10_000)).length, before);
  });

  test('updates validate the whole result and bump the record', async () => {
    const { products } = await t.platform.products.list({ limit: 10 });
    const target = products.find((product) => product.name === 'Infusion pump')!;
    const updated = await t.platform.products.update(systemActor, target.id, {
      hardwareRevisions: ['A', 'B', 'C'],
    });
    assert.deepEqual(updated.hardwareRevisions, ['A', 'B', 'C']);
    assert.deepEqual(updated.memberStates, [], 'made available nowhere until told');
    const marketed = await t.platform.products.update(systemActor, target.id, { memberStates: ['DE', 'AT'] });
    assert.deepEqual((await t.platform.products.get(target.id)).memberStates, ['DE', 'AT']);
    assert.deepEqual(marketed.hardwareRevisions, ['A', 'B', 'C']);
    await assert.rejects(t.platform.products.update(systemActor, target.id, { memberStates: ['DE', 'DE'] }), {
      code: 'PRODUCT_MEMBER_STATE_DUPLICATE',
    });
    await assert.rejects(t.platform.products.update(systemActor, target.id, { supportEnd: '2027-01-01' }), {
      code: 'PRODUCT_SUPPORT_PERIOD_TOO_SHORT',
    });
    assert.equal((await t.platform.products.get(target.id)).supportEnd, '2031-01-01');
  });

  test('names an accountable owner per lifecycle stage and flags the gaps', async () => {
    const { products } = await t.platform.products.list({ limit: 10 });
    const target = products.find((product) => product.name === 'Infusion pump')!;
    const officer = await t.platform.access.createPrincipal(systemActor, {
      kind: 'person',
      name: 'Dana (PSIRT)',
      roles: ['vulnerability-manager'],
    });
    const ownership = await t.platform.products.assignOwner(
      systemActor,
      target.id,
      'vulnerability-remediation',
      officer.id,
    );
    assert.deepEqual(ownership.gaps, ['identity', 'update-signing', 'decommissioning']);
    assert.equal(
      ownership.stages.find((stage) => stage.stage === 'vulnerability-remediation')?.owner?.name,
      'Dana (PSIRT)',
    );
    assert.deepEqual((await t.platform.products.get(target.id)).ownershipGaps, [
      'identity',
      'update-signing',
      'decommissioning',
    ]);
    await assert.rejects(
      t.platform.products.assignOwner(
        systemActor,
        target.id,
        'identity',
        '01a21541-0000-7000-8000-000000000000',
      ),
      {
        code: 'PRODUCT_OWNER_UNKNOWN',
      },
    );
    const cleared = await t.platform.products.unassignOwner(
      systemActor,
      target.id,
      'vulnerability-remediation',
    );
    assert.equal(cleared.gaps.length, 4);
  });

  test('pages through products with a cursor', async () => {
    const first = await t.platform.products.list({ limit: 2 });
    assert.equal(first.products.length, 2);
    assert.ok(first.nextCursor);
    const second = await t.platform.products.list({ limit: 2, cursor: first.nextCursor });
    assert.ok(second.products.every((product) => !first.products.some((seen) => seen.id === product.id)));
  });
});
