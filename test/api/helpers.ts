import assert from 'node:assert/strict';
import type { ApiResponse, TestPlatform } from '../support/platform.ts';

export type { ApiResponse } from '../support/platform.ts';

/** Sends a raw request: any payload text and any content-type (or none), with the admin token unless told. */
export function send(
  t: TestPlatform,
  method: string,
  url: string,
  options: { payload?: string | Buffer; contentType?: string; token?: string } = {},
): Promise<ApiResponse> {
  return t.send(method, url, options);
}

/** Asserts an RFC 9457 problem document with a stable `MODULE_REASON` code and no stack trace. */
export function assertProblem(
  response: ApiResponse,
  status: number | readonly number[],
  code?: string | readonly string[],
  label = '',
): void {
  const where = `${label} → ${response.status} ${response.text.slice(0, 300)}`;
  const statuses = typeof status === 'number' ? [status] : status;
  assert.ok(statuses.includes(response.status), `expected status ${statuses.join('|')}: ${where}`);
  assert.match(
    String(response.headers['content-type']),
    /^application\/problem\+json/,
    `problem content-type: ${where}`,
  );
  const body = response.json as Record<string, unknown> | undefined;
  assert.ok(body !== undefined && typeof body === 'object', `problem body is JSON: ${where}`);
  assert.equal(body.status, response.status, `problem status matches: ${where}`);
  assert.equal(typeof body.title, 'string', `problem title: ${where}`);
  assert.equal(typeof body.detail, 'string', `problem detail: ${where}`);
  assert.equal(typeof body.code, 'string', `problem code: ${where}`);
  assert.match(body.code as string, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/, `code is MODULE_REASON: ${where}`);
  assert.equal(
    body.type,
    `urn:vigil:problem:${body.code as string}`,
    `problem type names its code: ${where}`,
  );
  assert.ok(!/\bat .+:\d+:\d+\)?/.test(response.text), `no stack trace: ${where}`);
  if (code !== undefined) {
    const codes = typeof code === 'string' ? [code] : code;
    assert.ok(codes.includes(body.code as string), `expected code ${codes.join('|')}: ${where}`);
  }
}

export async function ledgerSize(t: TestPlatform): Promise<number> {
  const row = await t.platform.store.db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * Everything a request could change, as one comparable value: the ledger's size and every domain
 * table. A token's `last_used_at` (and per-scope usage) is bookkeeping of authentication, which
 * happens before any body is read, so it is left out.
 */
export async function snapshot(t: TestPlatform): Promise<string> {
  const db = t.platform.store.db;
  const [products, principals, roleBindings, owners, tokens] = await Promise.all([
    db.selectFrom('products').selectAll().orderBy('id').execute(),
    db.selectFrom('principals').selectAll().orderBy('id').execute(),
    db.selectFrom('role_bindings').selectAll().orderBy('principal_id').orderBy('role').execute(),
    db.selectFrom('product_owners').selectAll().orderBy('product_id').orderBy('stage').execute(),
    db
      .selectFrom('tokens')
      .select(['id', 'principal_id', 'name', 'scopes', 'created_at', 'expires_at', 'revoked_at'])
      .orderBy('id')
      .execute(),
  ]);
  const [devices, attestationKeys, referenceValues, policies, attestations] = await Promise.all([
    db.selectFrom('devices').selectAll().orderBy('id').execute(),
    db.selectFrom('attestation_keys').selectAll().orderBy('id').execute(),
    db.selectFrom('attestation_reference_values').selectAll().orderBy('id').execute(),
    db.selectFrom('attestation_policies').selectAll().orderBy('product_id').orderBy('version').execute(),
    db.selectFrom('attestations').select(['id', 'status']).orderBy('id').execute(),
  ]);
  return JSON.stringify({
    ledger: await ledgerSize(t),
    products,
    principals,
    roleBindings,
    owners,
    tokens,
    devices,
    attestationKeys,
    referenceValues,
    policies,
    attestations,
  });
}

/** The ledger leaves [start, end) as the JSON documents they hold, read through the API. */
export async function ledgerLeaves(
  t: TestPlatform,
  start = 0,
  end?: number,
): Promise<Record<string, unknown>[]> {
  const stop = end ?? (await ledgerSize(t));
  const response = await t.call('GET', `/api/v1/ledger/entries?start=${start}&end=${stop}`);
  assert.equal(response.status, 200, response.text);
  return (response.json.entries as { index: number; leaf: string }[]).map(
    (entry) => JSON.parse(Buffer.from(entry.leaf, 'base64').toString('utf8')) as Record<string, unknown>,
  );
}

/** A well-formed UUID no record has. */
export const unknownId = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

/** An RFC 3339 time `days` after the test clock's now. */
export function inDays(t: TestPlatform, days: number): string {
  return new Date(t.clock.now().getTime() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function validProduct(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    model: `${name}-model`,
    hardwareRevisions: ['rev-a'],
    regimes: ['CRA', 'MDR'],
    supportStart: '2026-01-01',
    supportEnd: '2032-01-01',
    ...extra,
  };
}

/** A draft release of `productId` for hardware revision rev-a (as validProduct makes it); its id. */
export async function createRelease(t: TestPlatform, productId: string, version: string): Promise<string> {
  const created = await t.call('POST', '/api/v1/releases', {
    productId,
    version,
    securityVersion: 1,
    hardwareRevisions: ['rev-a'],
  });
  assert.equal(created.status, 201, created.text);
  return created.json.id as string;
}

/** Records to aim requests at: a product, a principal holding a role, a token of the admin. */
export interface Fixtures {
  deviceId: string;
  productId: string;
  productName: string;
  principalId: string;
  principalName: string;
  tokenId: string;
  adminPrincipalId: string;
  /** A draft release of the product, without an SBOM. */
  releaseId: string;
}

export async function createFixtures(t: TestPlatform): Promise<Fixtures> {
  const product = await t.call('POST', '/api/v1/products', validProduct('Fixture Gateway'));
  assert.equal(product.status, 201, product.text);
  const principal = await t.call('POST', '/api/v1/principals', {
    kind: 'person',
    name: 'Fixture Person',
    email: 'fixture@example.com',
    roles: ['product-manager'],
  });
  assert.equal(principal.status, 201, principal.text);
  const token = await t.call('POST', '/api/v1/tokens', {
    name: 'fixture token',
    scopes: ['products:read'],
    expiresAt: inDays(t, 30),
  });
  assert.equal(token.status, 201, token.text);
  const owner = await t.call('PUT', `/api/v1/products/${product.json.id}/ownership/identity`, {
    principalId: principal.json.id,
  });
  assert.equal(owner.status, 200, owner.text);
  const device = await t.call('POST', '/api/v1/devices', {
    serial: 'FIXTURE-1',
    productId: product.json.id,
    hardwareRevision: 'rev-a',
    bootstrap: { method: 'secret' },
  });
  assert.equal(device.status, 201, device.text);
  const release = await t.call('POST', '/api/v1/releases', {
    productId: product.json.id,
    version: '1.0.0',
    securityVersion: 1,
    hardwareRevisions: ['rev-a'],
  });
  assert.equal(release.status, 201, release.text);
  return {
    releaseId: release.json.id,
    deviceId: device.json.id,
    productId: product.json.id,
    productName: product.json.name,
    principalId: principal.json.id,
    principalName: principal.json.name,
    tokenId: token.json.id,
    adminPrincipalId: token.json.principalId,
  };
}

/** `METHOD /openapi/{path}` for every operation the OpenAPI document lists. */
export async function openApiOperations(t: TestPlatform): Promise<string[]> {
  const response = await t.call('GET', '/openapi.json');
  assert.equal(response.status, 200, response.text);
  const operations: string[] = [];
  for (const [path, item] of Object.entries(response.json.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) {
      if (['get', 'put', 'post', 'delete', 'patch'].includes(method))
        operations.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return operations.sort();
}
