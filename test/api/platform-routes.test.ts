import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { assertProblem, ledgerSize, send } from './helpers.ts';

describe('platform routes', () => {
  let t: TestPlatform;

  before(async () => {
    t = await startTestPlatform();
  });
  after(async () => t?.close());

  test('/healthz answers 200 without a token', async () => {
    const response = await send(t, 'GET', '/healthz', { token: '' });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json, { status: 'ok', version: '0.1.0', store: 'sqlite' });
  });

  test('/metrics is Prometheus text with HTTP and ledger metrics', async () => {
    await t.call('GET', '/api/v1/products');
    await t.call('GET', '/api/v1/no-such-route');
    await t.platform.ledger.integrate();
    const response = await send(t, 'GET', '/metrics', { token: '' });
    assert.equal(response.status, 200, response.text);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(response.text, /^# HELP vigil_http_requests_total /m);
    assert.match(response.text, /^# TYPE vigil_http_requests_total counter$/m);
    assert.match(
      response.text,
      /^vigil_http_requests_total\{method="GET",route="\/api\/v1\/products",status="200"\} [1-9]\d*$/m,
    );
    assert.match(
      response.text,
      /^vigil_http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]\d*$/m,
    );
    assert.match(response.text, /^# TYPE vigil_ledger_checkpointed_entries gauge$/m);
    const checkpointed = /^vigil_ledger_checkpointed_entries (\d+)$/m.exec(response.text);
    assert.ok(checkpointed !== null, 'the gauge has a value');
    assert.equal(Number(checkpointed[1]), await ledgerSize(t));
    assert.match(response.text, /^vigil_http_request_duration_seconds_bucket\{/m);
    assert.ok(!response.text.includes(t.adminToken), 'no secret in the metrics');
  });

  test('/openapi.json is OpenAPI 3.1.0 and every /api/v1 operation carries bearer security', async () => {
    const response = await send(t, 'GET', '/openapi.json', { token: '' });
    assert.equal(response.status, 200, response.text);
    const document = response.json as {
      openapi: string;
      info: { title: string; version: string };
      paths: Record<
        string,
        Record<string, { security?: Record<string, string[]>[]; responses?: Record<string, unknown> }>
      >;
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
    };
    assert.equal(document.openapi, '3.1.0');
    assert.equal(document.info.version, '0.1.0');
    assert.deepEqual(document.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer' });
    const apiPaths = Object.keys(document.paths).filter((path) => path.startsWith('/api/v1/'));
    assert.ok(apiPaths.length >= 15, apiPaths.join(', '));
    for (const path of [...apiPaths, '/ledger/checkpoint', '/ledger/tile/{*}']) {
      for (const [method, operation] of Object.entries(document.paths[path] ?? {})) {
        // The EAR verification keys are published for relying parties: no token.
        if (path === '/api/v1/attestation/ear-keys') {
          assert.equal(operation.security, undefined, 'the JWKS is public');
          continue;
        }
        assert.deepEqual(
          operation.security,
          [{ bearerAuth: [] }],
          `${method.toUpperCase()} ${path} has bearer security`,
        );
      }
    }
    for (const path of apiPaths) {
      for (const [method, operation] of Object.entries(document.paths[path] ?? {})) {
        const public_ = path === '/api/v1/attestation/ear-keys';
        for (const status of public_ ? ['400'] : ['400', '401', '403']) {
          assert.ok(
            operation.responses?.[status] !== undefined,
            `${method.toUpperCase()} ${path} documents ${status}`,
          );
        }
      }
    }
    assert.equal(document.paths['/healthz']?.get?.security, undefined, '/healthz is public');
    for (const hidden of ['/metrics', '/openapi.json', '/docs'])
      assert.equal(document.paths[hidden], undefined, `${hidden} is not an API operation`);
    assert.ok(!response.text.includes(t.adminToken));
  });

  test('/docs serves the rendered documentation as HTML', async () => {
    let response = await send(t, 'GET', '/docs', { token: '' });
    for (let hops = 0; hops < 3 && response.status >= 300 && response.status < 400; hops += 1) {
      const location = String(response.headers.location);
      response = await send(
        t,
        'GET',
        location.startsWith('/') ? location : `/docs/${location.replace(/^\.\//, '')}`,
        { token: '' },
      );
    }
    assert.equal(response.status, 200, response.text.slice(0, 200));
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.match(response.text, /<html/i);
    assert.match(response.text, /swagger/i);
  });

  test('an unknown route is 404 ROUTE_NOT_FOUND problem+json, with or without a token', async () => {
    for (const token of ['', t.adminToken]) {
      const response = await send(t, 'GET', '/api/v1/widgets?limit=1', { token });
      assertProblem(response, 404, 'ROUTE_NOT_FOUND');
      assert.match(
        response.json.detail as string,
        /GET \/api\/v1\/widgets$/,
        'the detail names the route without its query',
      );
    }
    const deleteRoot = await send(t, 'DELETE', '/api/v1/products', { token: '' });
    assertProblem(deleteRoot, 404, 'ROUTE_NOT_FOUND');
  });
});
