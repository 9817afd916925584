import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { verifyStoredLog } from '../../src/ledger/index.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import {
  createFixtures,
  inDays,
  ledgerSize,
  openApiOperations,
  send,
  unknownId,
  type ApiResponse,
  type Fixtures,
} from './helpers.ts';

const runsPerOperation = 150;

/** What one fuzzed request sends: a path argument, and a body as JSON value or raw text. */
interface Shot {
  pathArg: string;
  body:
    { kind: 'json'; value: unknown } | { kind: 'text'; text: string; contentType: string } | { kind: 'none' };
}

/** Values near the edges of what the schemas accept, so the fuzzer reaches domain logic too. */
const edgeStrings = fc.constantFrom(
  '',
  ' ',
  'a',
  'x'.repeat(201),
  '2026-02-30',
  '2026-01-01',
  '2099-12-31',
  '0000-00-00',
  '2026-11-26T00:00:00Z',
  '2027-11-26T00:00:00Z',
  '1970-01-01T00:00:00Z',
  'products:read',
  'products:write',
  'tokens:admin',
  'ledger:read',
  'admin',
  'auditor',
  'product-manager',
  'person',
  'service',
  'CRA',
  'MDR',
  'FDA-524B',
  'IVDR',
  'identity',
  unknownId,
  'not-a-uuid',
  '\u0000',
  '\ud800',
  '__proto__',
  "'; drop table products; --",
);
const leaf = fc.oneof(fc.string(), edgeStrings, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const edgeValue = fc.oneof(leaf, fc.array(leaf, { maxLength: 4 }));

/** Objects with the routes' own field names and random or near-valid values. */
function shapedBody(fields: readonly string[]): fc.Arbitrary<unknown> {
  return fc.dictionary(fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 12 })), edgeValue, {
    maxKeys: fields.length + 2,
  });
}

const fieldNames = [
  'name',
  'model',
  'hardwareRevisions',
  'regimes',
  'supportStart',
  'supportEnd',
  'expectedUseJustification',
  'kind',
  'email',
  'roles',
  'role',
  'scopes',
  'expiresAt',
  'principalId',
  'productId',
  'version',
  'securityVersion',
  'securityUpdate',
  'signers',
  'targetsThreshold',
  'rootKeys',
  'threshold',
  'keys',
  'releaseId',
  'selection',
  'waves',
  'share',
  'reason',
  'siteId',
  'filter',
  'postponeLimit',
  'maintenanceWindow',
  'state',
  'justification',
  'fixedReleaseId',
  'exploited',
  'title',
  'description',
  'memberStates',
  'awareAt',
  'namespace',
  'contact',
];

const bodies: fc.Arbitrary<Shot['body']> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue().map((value) => ({ kind: 'json' as const, value })) },
  { weight: 4, arbitrary: shapedBody(fieldNames).map((value) => ({ kind: 'json' as const, value })) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        text: fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })),
        contentType: fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'application/xml',
          'application/octet-stream',
          'application/vnd.cyclonedx+json',
          'multipart/form-data; boundary=x',
          '',
        ),
      })
      .map(({ text, contentType }) => ({ kind: 'text' as const, text, contentType })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
);

function isProblemWithCode(response: ApiResponse): boolean {
  return (
    /^application\/problem\+json/.test(String(response.headers['content-type'])) &&
    typeof response.json?.code === 'string' &&
    response.json.status === response.status
  );
}

describe('fuzzing every write endpoint', () => {
  let t: TestPlatform;
  let f: Fixtures;

  before(async () => {
    t = await startTestPlatform();
    f = await createFixtures(t);
    await t.platform.ledger.integrate();
  });
  after(async () => t?.close());

  /** The write operations and how a fuzzed path argument lands in each URL. */
  const writes: Record<
    string,
    { pathArgs: (f: Fixtures) => fc.Arbitrary<string>; url: (f: Fixtures, arg: string) => string }
  > = {
    'POST /api/v1/tokens': { pathArgs: () => fc.constant(''), url: () => '/api/v1/tokens' },
    'DELETE /api/v1/tokens/{id}': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.tokenId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/tokens/${encodeURIComponent(id)}`,
    },
    'POST /api/v1/principals': { pathArgs: () => fc.constant(''), url: () => '/api/v1/principals' },
    'POST /api/v1/principals/{id}/roles': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.principalId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/principals/${encodeURIComponent(id)}/roles`,
    },
    'DELETE /api/v1/principals/{id}/roles/{role}': {
      pathArgs: () =>
        fc.oneof(fc.constantFrom('product-manager', 'auditor', 'admin'), fc.string({ minLength: 1 })),
      url: (fx, role) => `/api/v1/principals/${fx.principalId}/roles/${encodeURIComponent(role)}`,
    },
    'POST /api/v1/products': { pathArgs: () => fc.constant(''), url: () => '/api/v1/products' },
    'PATCH /api/v1/products/{id}': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}`,
    },
    'PUT /api/v1/products/{id}/ownership/{stage}': {
      pathArgs: () =>
        fc.oneof(
          fc.constantFrom('identity', 'update-signing', 'vulnerability-remediation', 'decommissioning'),
          fc.string(),
        ),
      url: (fx, stage) => `/api/v1/products/${fx.productId}/ownership/${encodeURIComponent(stage)}`,
    },
    'DELETE /api/v1/products/{id}/ownership/{stage}': {
      pathArgs: () => fc.oneof(fc.constantFrom('identity', 'update-signing', 'audit'), fc.string()),
      url: (fx, stage) => `/api/v1/products/${fx.productId}/ownership/${encodeURIComponent(stage)}`,
    },
    'POST /api/v1/products/{id}/ca': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}/ca`,
    },
    'POST /api/v1/products/{id}/ca/rotate': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}/ca/rotate`,
    },
    'PATCH /api/v1/products/{id}/certificate-profile': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}/certificate-profile`,
    },
    'POST /api/v1/devices': { pathArgs: () => fc.constant(''), url: () => '/api/v1/devices' },
    'POST /api/v1/devices/bulk': { pathArgs: () => fc.constant(''), url: () => '/api/v1/devices/bulk' },
    'POST /api/v1/devices/{id}/revoke': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.deviceId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/devices/${encodeURIComponent(id)}/revoke`,
    },
    'POST /api/v1/devices/{id}/decommission': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.deviceId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/devices/${encodeURIComponent(id)}/decommission`,
    },
    'POST /api/v1/devices/{id}/wipe-confirmation': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.deviceId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/devices/${encodeURIComponent(id)}/wipe-confirmation`,
    },
    'POST /api/v1/devices/{id}/quarantine': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.deviceId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/devices/${encodeURIComponent(id)}/quarantine`,
    },
    'POST /api/v1/devices/{id}/quarantine/release': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.deviceId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/devices/${encodeURIComponent(id)}/quarantine/release`,
    },
    'POST /api/v1/devices/{id}/attestation-keys': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.deviceId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/devices/${encodeURIComponent(id)}/attestation-keys`,
    },
    'POST /api/v1/attestations/{id}/reappraise': {
      pathArgs: () => fc.oneof(fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/attestations/${encodeURIComponent(id)}/reappraise`,
    },
    'POST /api/v1/attestation/reference-values': {
      pathArgs: () => fc.constant(''),
      url: () => '/api/v1/attestation/reference-values',
    },
    'POST /api/v1/attestation/policies': {
      pathArgs: () => fc.constant(''),
      url: () => '/api/v1/attestation/policies',
    },
    'POST /api/v1/releases': { pathArgs: () => fc.constant(''), url: () => '/api/v1/releases' },
    'POST /api/v1/releases/{id}/artifacts': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.releaseId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/releases/${encodeURIComponent(id)}/artifacts?name=firmware.bin`,
    },
    'POST /api/v1/releases/{id}/sbom': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.releaseId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/releases/${encodeURIComponent(id)}/sbom`,
    },
    'POST /api/v1/releases/{id}/vex': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.releaseId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/releases/${encodeURIComponent(id)}/vex`,
    },
    'POST /api/v1/releases/{id}/approvals': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.releaseId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/releases/${encodeURIComponent(id)}/approvals`,
    },
    'POST /api/v1/releases/{id}/publish': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.releaseId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/releases/${encodeURIComponent(id)}/publish`,
    },
    'POST /api/v1/products/{id}/tuf': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}/tuf`,
    },
    'POST /api/v1/products/{id}/tuf/rotate-root': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}/tuf/rotate-root`,
    },
    'POST /api/v1/products/{id}/tuf/rotate-online-keys': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}/tuf/rotate-online-keys`,
    },
    'POST /api/v1/rollouts': { pathArgs: () => fc.constant(''), url: () => '/api/v1/rollouts' },
    ...Object.fromEntries(
      ['pause', 'abort', 'resume', 'approve'].map((verb) => [
        `POST /api/v1/rollouts/{id}/${verb}`,
        {
          pathArgs: () => fc.oneof(fc.uuid(), fc.string()),
          url: (_fx: Fixtures, id: string) => `/api/v1/rollouts/${encodeURIComponent(id)}/${verb}`,
        },
      ]),
    ),
    'POST /api/v1/sites': { pathArgs: () => fc.constant(''), url: () => '/api/v1/sites' },
    'PUT /api/v1/devices/{id}/site': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.deviceId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/devices/${encodeURIComponent(id)}/site`,
    },
    'POST /api/v1/device-filters': { pathArgs: () => fc.constant(''), url: () => '/api/v1/device-filters' },
    'PUT /api/v1/products/{id}/update-policy': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}/update-policy`,
    },
    'PATCH /api/v1/findings/{id}': {
      pathArgs: () => fc.oneof(fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/findings/${encodeURIComponent(id)}`,
    },
    'POST /api/v1/vulns/advisories': {
      pathArgs: () => fc.constant(''),
      url: () => '/api/v1/vulns/advisories',
    },
    'POST /api/v1/vulns/clocks': { pathArgs: () => fc.constant(''), url: () => '/api/v1/vulns/clocks' },
    'POST /api/v1/vulns/clocks/{id}/reports/{report}/sent': {
      pathArgs: () => fc.oneof(fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/vulns/clocks/${encodeURIComponent(id)}/reports/notification/sent`,
    },
    'POST /api/v1/vulns/clocks/{id}/corrective-measure': {
      pathArgs: () => fc.oneof(fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/vulns/clocks/${encodeURIComponent(id)}/corrective-measure`,
    },
    'PUT /api/v1/vulns/publisher': { pathArgs: () => fc.constant(''), url: () => '/api/v1/vulns/publisher' },
    'POST /api/v1/products/{id}/csaf': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}/csaf`,
    },
    'PUT /api/v1/products/{id}/remediation-policy': {
      pathArgs: (fx) => fc.oneof(fc.constant(fx.productId), fc.uuid(), fc.string()),
      url: (_fx, id) => `/api/v1/products/${encodeURIComponent(id)}/remediation-policy`,
    },
    'POST /api/v1/certificates/{serial}/revoke': {
      pathArgs: () => fc.oneof(fc.stringMatching(/^[0-9a-f]{2,40}$/), fc.string()),
      url: (_fx, serial) => `/api/v1/certificates/${encodeURIComponent(serial)}/revoke`,
    },
  };

  test('the fuzzer covers every write operation of the OpenAPI document', async () => {
    const documented = (await openApiOperations(t)).filter((operation) => !operation.startsWith('GET '));
    assert.deepEqual(documented, Object.keys(writes).sort());
  });

  for (const [operation, target] of Object.entries(writes)) {
    test(`${operation}: random bodies never cause a 5xx, every refusal is problem+json and changes no ledger`, async () => {
      const method = operation.split(' ')[0] ?? 'POST';
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(target.pathArgs(f), bodies, async (pathArg, body) => {
          const url = target.url(f, pathArg);
          const before = await ledgerSize(t);
          const response =
            body.kind === 'none'
              ? await send(t, method, url)
              : body.kind === 'json'
                ? await send(t, method, url, {
                    payload: JSON.stringify(body.value),
                    contentType: 'application/json',
                  })
                : await send(t, method, url, {
                    payload: body.text,
                    contentType: body.contentType === '' ? undefined : body.contentType,
                  });
          const label = `${method} ${url} → ${response.status} ${response.text.slice(0, 200)}`;
          assert.ok(response.status < 500, label);
          if (response.status >= 300) {
            assert.ok(isProblemWithCode(response), `problem+json with a code: ${label}`);
            assert.equal(await ledgerSize(t), before, `a refusal records nothing: ${label}`);
          } else {
            accepted += 1;
          }
        }),
        { numRuns: runsPerOperation, seed: Number(process.env.VIGIL_FUZZ_SEED ?? 20261126) },
      );
      assert.ok(accepted < runsPerOperation, 'not everything was accepted');
    });
  }

  test('near-valid bodies reach the domain rules without a 5xx', async () => {
    // Schema-valid products and tokens with random values in the fields the domain checks.
    const day = fc
      .date({
        min: new Date('1990-01-01T00:00:00Z'),
        max: new Date('2100-12-31T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((date) => date.toISOString().slice(0, 10));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          name: fc
            .string({ minLength: 1, maxLength: 40 })
            .filter((name) => [...name].every((char) => char.charCodeAt(0) >= 0x20)),
          regimes: fc.uniqueArray(fc.constantFrom('CRA', 'FDA-524B', 'MDR', 'IVDR'), { maxLength: 4 }),
          supportStart: day,
          supportEnd: day,
          justification: fc.option(fc.string({ maxLength: 20 })),
        }),
        async ({ name, regimes, supportStart, supportEnd, justification }) => {
          const before = await ledgerSize(t);
          const response = await t.call('POST', '/api/v1/products', {
            name,
            model: 'fuzz',
            hardwareRevisions: [],
            regimes,
            supportStart,
            supportEnd,
            expectedUseJustification: justification,
          });
          assert.ok(response.status < 500, response.text);
          if (response.status === 201) {
            assert.equal(await ledgerSize(t), before + 1);
          } else {
            assert.ok(isProblemWithCode(response), response.text);
            assert.equal(await ledgerSize(t), before);
          }
        },
      ),
      { numRuns: runsPerOperation, seed: 7 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.constantFrom(
            'products:read',
            'products:write',
            'tokens:admin',
            'ledger:read',
            'devices:admin',
            'access:read',
          ),
          { minLength: 1, maxLength: 4 },
        ),
        fc.integer({ min: -400, max: 400 }),
        fc.constantFrom<string | undefined>(undefined, f.principalId, f.adminPrincipalId, unknownId),
        async (scopes, days, principalId) => {
          const before = await ledgerSize(t);
          const response = await t.call('POST', '/api/v1/tokens', {
            name: 'fuzz',
            scopes,
            expiresAt: inDays(t, days),
            principalId,
          });
          assert.ok(response.status < 500, response.text);
          if (response.status !== 201) {
            assert.ok(isProblemWithCode(response), response.text);
            assert.equal(await ledgerSize(t), before);
          }
        },
      ),
      { numRuns: runsPerOperation, seed: 11 },
    );
  });

  test('afterwards the whole ledger still verifies offline', async () => {
    const checkpoint = await t.platform.ledger.integrate();
    const size = await ledgerSize(t);
    assert.ok(size > 4, `the fuzzing left entries (${size})`);
    if (checkpoint !== undefined) assert.equal(checkpoint.size, size);
    const result = await verifyStoredLog(t.platform.store, t.platform.ledger.verifierKey);
    assert.equal(result.ok, true, JSON.stringify(result));
  });
});
