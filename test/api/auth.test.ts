import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import {
  assertProblem,
  createFixtures,
  inDays,
  ledgerLeaves,
  ledgerSize,
  openApiOperations,
  send,
  snapshot,
  unknownId,
  validProduct,
  type Fixtures,
} from './helpers.ts';

/** A concrete URL for an OpenAPI path, aimed at the fixtures. */
function concrete(path: string, f: Fixtures): string {
  const id = path.startsWith('/api/v1/tokens')
    ? f.tokenId
    : path.startsWith('/api/v1/products')
      ? f.productId
      : f.principalId;
  return path
    .replace('{id}', id)
    .replace('{role}', 'product-manager')
    .replace('{stage}', 'identity')
    .replace('{index}', '0')
    .replace('{*}', '0/000')
    .replace(/^\/api\/v1\/ledger\/entries$/, '/api/v1/ledger/entries?start=0&end=1')
    .replace(/\/inclusion$/, '/inclusion?index=0&size=1')
    .replace(/\/consistency$/, '/consistency?from=1&to=1');
}

describe('authentication and authorization', () => {
  let t: TestPlatform;
  let f: Fixtures;

  before(async () => {
    t = await startTestPlatform();
    f = await createFixtures(t);
    await t.platform.ledger.integrate();
  });
  after(async () => t?.close());

  async function createToken(
    scopes: string[],
    days = 30,
    principalId?: string,
  ): Promise<{ id: string; secret: string }> {
    const response = await t.call('POST', '/api/v1/tokens', {
      name: `token ${scopes.join(' ')}`,
      scopes,
      expiresAt: inDays(t, days),
      principalId,
    });
    assert.equal(response.status, 201, response.text);
    return { id: response.json.id, secret: response.json.token };
  }

  test('every protected operation answers no token and a bad token with 401, before reading the body', async () => {
    // Public by design: liveness, and the EAR verification keys relying parties fetch.
    const open = ['GET /healthz', 'GET /api/v1/attestation/ear-keys'];
    const operations = (await openApiOperations(t)).filter((operation) => !open.includes(operation));
    for (const operation of open) {
      const [method = 'GET', path = ''] = operation.split(' ');
      const response = await send(t, method, path, { token: '' });
      assert.equal(response.status, 200, `${operation} is public`);
    }
    assert.ok(operations.length >= 20);
    const unknownSecret = `vgl_${'A'.repeat(43)}`;
    for (const operation of operations) {
      const [method = 'GET', path = ''] = operation.split(' ');
      const url = concrete(path, f);
      const body =
        method === 'GET'
          ? {}
          : { payload: JSON.stringify(validProduct('Never Created')), contentType: 'application/json' };
      const before = await snapshot(t);
      assertProblem(
        await send(t, method, url, { ...body, token: '' }),
        401,
        'ACCESS_TOKEN_MISSING',
        `${operation} without a token`,
      );
      assertProblem(
        await send(t, method, url, { ...body, token: unknownSecret }),
        401,
        'ACCESS_TOKEN_INVALID',
        `${operation} with an unknown token`,
      );
      // Not even an oversized body is read for an unauthenticated caller.
      if (method !== 'GET') {
        const big = await send(t, method, url, {
          payload: 'x'.repeat(300 * 1024),
          contentType: 'application/json',
          token: '',
        });
        assertProblem(big, 401, 'ACCESS_TOKEN_MISSING', `${operation} oversized without a token`);
      }
      assert.equal(await snapshot(t), before, `${operation} changed nothing`);
    }
  });

  test('malformed Authorization headers are 401', async () => {
    for (const header of [
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      'Bearer ',
      `Bearer ${t.adminToken} extra`,
      t.adminToken,
      'Bearer not-a-vigil-token',
      `Bearer ${t.adminToken}x`,
      `Bearer ${t.adminToken.slice(0, -1)}`,
    ]) {
      const response = await t.app.inject({
        method: 'GET',
        url: '/api/v1/products',
        headers: { authorization: header },
      });
      const parsed = {
        status: response.statusCode,
        json: JSON.parse(response.body) as unknown,
        text: response.body,
        headers: response.headers,
      };
      assertProblem(
        parsed,
        401,
        ['ACCESS_TOKEN_MISSING', 'ACCESS_TOKEN_INVALID'],
        `Authorization: ${header.slice(0, 20)}`,
      );
    }
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    const lower = await t.app.inject({
      method: 'GET',
      url: '/api/v1/products',
      headers: { authorization: `bearer ${t.adminToken}` },
    });
    assert.equal(lower.statusCode, 200, lower.body);
  });

  test('a revoked token is refused from its next request on, and its revocation is a ledger event', async () => {
    const token = await createToken(['products:read']);
    assert.equal((await t.call('GET', '/api/v1/products', undefined, token.secret)).status, 200);
    const start = await ledgerSize(t);
    const revoked = await t.call('DELETE', `/api/v1/tokens/${token.id}`);
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.json.revokedAt, '2026-11-26T00:00:00Z');
    assertProblem(
      await t.call('GET', '/api/v1/products', undefined, token.secret),
      401,
      'ACCESS_TOKEN_REVOKED',
    );
    assertProblem(
      await t.call('GET', '/api/v1/tokens', undefined, token.secret),
      401,
      'ACCESS_TOKEN_REVOKED',
    );
    const leaves = await ledgerLeaves(t, start);
    assert.equal(leaves.length, 1, JSON.stringify(leaves));
    assert.equal(leaves[0]?.type, 'token.revoked');
    assert.equal(leaves[0]?.subject, token.id);
    // Revoking again changes nothing and records nothing.
    const again = await t.call('DELETE', `/api/v1/tokens/${token.id}`);
    assert.equal(again.status, 200, again.text);
    assert.equal(await ledgerSize(t), start + 1);
  });

  test('a token can revoke itself, and is refused afterwards', async () => {
    const token = await createToken(['tokens:write']);
    const revoked = await t.call('DELETE', `/api/v1/tokens/${token.id}`, undefined, token.secret);
    assert.equal(revoked.status, 200, revoked.text);
    assertProblem(
      await t.call('GET', '/api/v1/tokens', undefined, token.secret),
      401,
      'ACCESS_TOKEN_REVOKED',
    );
  });

  test('an expired token is refused once the clock passes its expiry', async () => {
    const token = await createToken(['products:read'], 1);
    assert.equal((await t.call('GET', '/api/v1/products', undefined, token.secret)).status, 200);
    const started = t.clock.now();
    try {
      t.clock.advance(86_400_000 - 1000);
      assert.equal(
        (await t.call('GET', '/api/v1/products', undefined, token.secret)).status,
        200,
        'still valid a second before expiry',
      );
      t.clock.advance(1000);
      assertProblem(
        await t.call('GET', '/api/v1/products', undefined, token.secret),
        401,
        'ACCESS_TOKEN_EXPIRED',
        'at expiry',
      );
      t.clock.advance(86_400_000);
      assertProblem(
        await t.call('GET', '/api/v1/products', undefined, token.secret),
        401,
        'ACCESS_TOKEN_EXPIRED',
        'after expiry',
      );
    } finally {
      t.clock.set(started);
    }
  });

  test('a token lacking the scope is 403 ACCESS_SCOPE_MISSING and changes nothing', async () => {
    const reader = await createToken(['products:read', 'ledger:read']);
    const cases: [string, string, unknown][] = [
      ['POST', '/api/v1/products', validProduct('Not Allowed')],
      ['PATCH', `/api/v1/products/${f.productId}`, { model: 'changed' }],
      ['PUT', `/api/v1/products/${f.productId}/ownership/audit-not-a-stage`, { principalId: f.principalId }],
      ['PUT', `/api/v1/products/${f.productId}/ownership/decommissioning`, { principalId: f.principalId }],
      ['DELETE', `/api/v1/products/${f.productId}/ownership/identity`, undefined],
      ['POST', '/api/v1/principals', { kind: 'person', name: 'Not Allowed' }],
      ['POST', `/api/v1/principals/${f.principalId}/roles`, { role: 'admin' }],
      ['DELETE', `/api/v1/principals/${f.principalId}/roles/product-manager`, undefined],
      ['POST', '/api/v1/tokens', { name: 'x', scopes: ['products:read'], expiresAt: inDays(t, 1) }],
      ['DELETE', `/api/v1/tokens/${f.tokenId}`, undefined],
      ['GET', '/api/v1/principals', undefined],
      ['GET', '/api/v1/access/report', undefined],
      ['GET', '/api/v1/tokens', undefined],
    ];
    for (const [method, url, body] of cases) {
      const before = await snapshot(t);
      const response = await t.call(method, url, body, reader.secret);
      assertProblem(response, 403, 'ACCESS_SCOPE_MISSING', `${method} ${url}`);
      assert.match(
        String(response.json.requiredScope),
        /^[a-z]+:(read|write|admin)$/,
        'names the scope it needs',
      );
      assert.equal(await snapshot(t), before, `${method} ${url} changed nothing`);
    }
    // A higher level implies the lower: products:write reads products.
    const writer = await createToken(['products:write']);
    assert.equal(
      (await t.call('GET', `/api/v1/products/${f.productId}`, undefined, writer.secret)).status,
      200,
    );
    assertProblem(
      await t.call('GET', '/api/v1/ledger/checkpoints', undefined, writer.secret),
      403,
      'ACCESS_SCOPE_MISSING',
    );
  });

  test('using a token records when it was last used', async () => {
    const token = await createToken(['products:read']);
    const listed = async () =>
      (
        (await t.call('GET', '/api/v1/tokens')).json.tokens as { id: string; lastUsedAt: string | null }[]
      ).find((row) => row.id === token.id);
    assert.equal((await listed())?.lastUsedAt, null, 'never used');
    const started = t.clock.now();
    try {
      t.clock.advance(3_600_000);
      assert.equal((await t.call('GET', '/api/v1/products', undefined, token.secret)).status, 200);
      assert.equal((await listed())?.lastUsedAt, '2026-11-26T01:00:00Z');
      t.clock.advance(60_000);
      // A refused request (missing scope) is not a use of the scope, but the token did authenticate.
      assertProblem(
        await t.call('POST', '/api/v1/products', validProduct('No'), token.secret),
        403,
        'ACCESS_SCOPE_MISSING',
      );
      t.clock.advance(60_000);
      assert.equal(
        (await t.call('GET', `/api/v1/products/${f.productId}`, undefined, token.secret)).status,
        200,
      );
      assert.equal((await listed())?.lastUsedAt, '2026-11-26T01:02:00Z');
      // A request that authenticates but fails (unknown product) is a use of the token, not of its scope.
      t.clock.advance(60_000);
      const unknown = await t.call('GET', `/api/v1/products/${unknownId}`, undefined, token.secret);
      assertProblem(unknown, 404, 'PRODUCT_NOT_FOUND');
      assert.equal((await listed())?.lastUsedAt, '2026-11-26T01:03:00Z');
      const usage = await t.platform.store.db
        .selectFrom('token_scope_usage')
        .selectAll()
        .where('token_id', '=', token.id)
        .execute();
      assert.deepEqual(
        usage.map((row) => [row.scope, row.last_used_at]),
        [['products:read', '2026-11-26T01:02:00Z']],
      );
    } finally {
      t.clock.set(started);
    }
  });

  test('token creation is a ledger event that names the token and never holds its secret', async () => {
    const start = await ledgerSize(t);
    const response = await t.call('POST', '/api/v1/tokens', {
      name: 'ci pipeline',
      scopes: ['products:read', 'ledger:read'],
      expiresAt: inDays(t, 90),
    });
    assert.equal(response.status, 201, response.text);
    const secret = response.json.token as string;
    assert.match(secret, /^vgl_/);
    const leaves = await ledgerLeaves(t, start);
    assert.equal(leaves.length, 1);
    const leaf = leaves[0] ?? {};
    assert.equal(leaf.type, 'token.created');
    assert.equal(leaf.subject, response.json.id);
    assert.equal(leaf.actor, f.adminPrincipalId);
    assert.deepEqual((leaf.details as Record<string, unknown>).scopes, ['ledger:read', 'products:read']);
    const text = JSON.stringify(leaves);
    assert.ok(!text.includes(secret), 'the secret is not in the ledger');
    assert.ok(!text.includes(secret.slice(4, 20)), 'no part of the secret is in the ledger');
    // Nor is it ever listed again, nor stored in clear.
    const listing = await t.call('GET', '/api/v1/tokens');
    assert.ok(!listing.text.includes(secret));
    const rows = await t.platform.store.db.selectFrom('tokens').selectAll().execute();
    assert.ok(!JSON.stringify(rows).includes(secret.slice(4)));
  });

  test('writes made with a token carry that token id in their ledger entries', async () => {
    const token = await createToken(['products:write', 'principals:admin', 'ledger:read']);
    const admin = (await t.call('GET', '/api/v1/tokens')).json.tokens.find((row: { name: string }) =>
      row.name.startsWith('first admin token'),
    ) as { id: string };
    const start = await ledgerSize(t);
    const product = await t.call(
      'POST',
      '/api/v1/products',
      validProduct('Traced Wearable', { regimes: ['MDR'] }),
      token.secret,
    );
    assert.equal(product.status, 201, product.text);
    const patched = await t.call(
      'PATCH',
      `/api/v1/products/${product.json.id}`,
      { model: 'TW-2' },
      token.secret,
    );
    assert.equal(patched.status, 200, patched.text);
    const owner = await t.call(
      'PUT',
      `/api/v1/products/${product.json.id}/ownership/identity`,
      { principalId: f.principalId },
      token.secret,
    );
    assert.equal(owner.status, 200, owner.text);
    const granted = await t.call(
      'POST',
      `/api/v1/principals/${f.principalId}/roles`,
      { role: 'auditor' },
      token.secret,
    );
    assert.equal(granted.status, 200, granted.text);
    const byAdmin = await t.call('PATCH', `/api/v1/products/${product.json.id}`, { model: 'TW-3' });
    assert.equal(byAdmin.status, 200, byAdmin.text);

    const leaves = await ledgerLeaves(t, start);
    assert.deepEqual(
      leaves.map((leaf) => [leaf.type, leaf.token]),
      [
        ['product.created', token.id],
        ['product.updated', token.id],
        ['product.owner-assigned', token.id],
        ['role.granted', token.id],
        ['product.updated', admin.id],
      ],
    );
    for (const leaf of leaves) assert.equal(leaf.actor, f.adminPrincipalId);
    assert.equal(leaves[0]?.subject, product.json.id);
  });
});
