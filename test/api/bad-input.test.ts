import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyStoredLog } from '../../src/ledger/index.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import {
  assertProblem,
  createFixtures,
  inDays,
  ledgerSize,
  openApiOperations,
  send,
  snapshot,
  unknownId,
  validProduct,
  type ApiResponse,
  type Fixtures,
} from './helpers.ts';

/** One malformed request and the refusal it must meet. */
interface Case {
  name: string;
  url: string;
  /** A JSON value to send as application/json, or raw text with its own content-type. */
  json?: unknown;
  raw?: { payload: string; contentType?: string };
  token?: string;
  status: number | readonly number[];
  code?: string | readonly string[];
}

type Operation = (f: Fixtures, t: TestPlatform) => Case[];

const INVALID = 'REQUEST_INVALID';
const JSON_INVALID = 'REQUEST_JSON_INVALID';
const MEDIA = 'REQUEST_MEDIA_TYPE_UNSUPPORTED';

/** Ids that are not UUIDs, written as they would appear in a URL. */
const badIds = [
  'abc',
  '12345',
  `${unknownId}0`,
  unknownId.replaceAll('-', ''),
  encodeURIComponent("' or 1=1 --"),
  '%00',
  'null',
];

/** Body refusals every JSON-body route shares: broken JSON, the wrong media type, the wrong JSON type. */
function bodyShapeCases(url: string): Case[] {
  return [
    ...poisonCases(url),
    {
      name: 'invalid JSON text',
      url,
      raw: { payload: '{"name": ', contentType: 'application/json' },
      status: 400,
      code: JSON_INVALID,
    },
    {
      name: 'trailing garbage after JSON',
      url,
      raw: { payload: '{} x', contentType: 'application/json' },
      status: 400,
      code: JSON_INVALID,
    },
    {
      name: 'empty JSON body',
      url,
      raw: { payload: '', contentType: 'application/json' },
      status: 400,
      code: JSON_INVALID,
    },
    {
      name: 'text/plain body',
      url,
      raw: { payload: 'name=x', contentType: 'text/plain' },
      status: 415,
      code: MEDIA,
    },
    {
      name: 'XML body',
      url,
      raw: { payload: '<product/>', contentType: 'application/xml' },
      status: 415,
      code: MEDIA,
    },
    {
      name: 'form body',
      url,
      raw: { payload: 'name=x', contentType: 'application/x-www-form-urlencoded' },
      status: 415,
      code: MEDIA,
    },
    {
      name: 'no content-type',
      url,
      raw: { payload: '{}' },
      status: [400, 415],
      code: [MEDIA, INVALID, JSON_INVALID],
    },
    { name: 'JSON array', url, json: [], status: 400, code: INVALID },
    { name: 'JSON null', url, json: null, status: 400, code: INVALID },
    { name: 'JSON string', url, json: 'product', status: 400, code: INVALID },
    { name: 'JSON number', url, json: 42, status: 400, code: INVALID },
  ];
}

/** A body on a route that takes none is refused rather than ignored. */
function noBodyCases(url: string): Case[] {
  return [
    {
      name: 'unexpected JSON body',
      url,
      json: { force: true },
      status: 400,
      code: 'REQUEST_BODY_UNEXPECTED',
    },
    { name: 'unexpected JSON null body', url, json: null, status: 400, code: 'REQUEST_BODY_UNEXPECTED' },
    {
      name: 'unexpected XML body',
      url,
      raw: { payload: '<x/>', contentType: 'application/xml' },
      status: 415,
      code: MEDIA,
    },
    {
      name: 'invalid JSON text',
      url,
      raw: { payload: '{', contentType: 'application/json' },
      status: 400,
      code: JSON_INVALID,
    },
  ];
}

function fieldCases(url: string, cases: Record<string, unknown>): Case[] {
  return Object.entries(cases).map(([name, json]) => ({ name, url, json, status: 400, code: INVALID }));
}

function badIdCases(urlOf: (id: string) => string): Case[] {
  return badIds.map((id) => ({ name: `non-uuid id ${id}`, url: urlOf(id), status: 400, code: INVALID }));
}

function unknownQueryCase(url: string): Case {
  return {
    name: 'unknown query parameter',
    url: `${url}${url.includes('?') ? '&' : '?'}bogus=1`,
    status: 400,
    code: INVALID,
  };
}

function pageQueryCases(url: string): Case[] {
  return [
    unknownQueryCase(url),
    ...[
      'limit=-1',
      'limit=0',
      'limit=abc',
      'limit=1.5',
      'limit=1001',
      'limit=1e400',
      `cursor=${'x'.repeat(201)}`,
    ].map((query) => ({
      name: `query ${query.slice(0, 30)}`,
      url: `${url}?${query}`,
      status: 400,
      code: INVALID,
    })),
  ];
}

function rangeQueryCases(path: string, a: string, b: string, code: string): Case[] {
  const cases: [string, number | readonly number[], string][] = [
    [`${a}=-1&${b}=1`, 400, INVALID],
    [`${a}=abc&${b}=1`, 400, INVALID],
    [`${a}=0.5&${b}=1`, 400, INVALID],
    [`${a}=0`, 400, INVALID],
    [`${b}=1`, 400, INVALID],
    [`${a}=0&${b}=1&bogus=1`, 400, INVALID],
    [`${a}=1e20&${b}=1e20`, 400, INVALID],
    [`${a}=9007199254740992&${b}=1`, 400, INVALID],
    [`${a}=5&${b}=2`, 400, code],
    [`${a}=${a}&${b}=${b}`, 400, INVALID],
  ];
  return cases.map(([query, status, expected]) => ({
    name: `query ${query}`,
    url: `${path}?${query}`,
    status,
    code: expected,
  }));
}

const productFieldCases = {
  'name wrong type': validProduct('P', { name: 7 }),
  'name empty': validProduct(''),
  'name too long': validProduct('n'.repeat(201)),
  'name with control character': validProduct('line\nbreak'),
  'model missing': (() => {
    const { model: _model, ...rest } = validProduct('P');
    return rest;
  })(),
  'regimes unknown value': validProduct('P', { regimes: ['CRA', 'GDPR'] }),
  'regimes repeated': validProduct('P', { regimes: ['CRA', 'CRA'] }),
  'regimes not an array': validProduct('P', { regimes: 'CRA' }),
  'hardwareRevisions of numbers': validProduct('P', { hardwareRevisions: [1, 2] }),
  'supportStart not a date': validProduct('P', { supportStart: 'next year' }),
  'supportEnd as a date-time': validProduct('P', { supportEnd: '2032-01-01T00:00:00Z' }),
  'expectedUseJustification wrong type': validProduct('P', { expectedUseJustification: 5 }),
  'member state not ISO 3166': validProduct('P', { memberStates: ['Germany'] }),
  'member state outside the EU and EEA': validProduct('P', { memberStates: ['DE', 'US'] }),
  'member state repeated': validProduct('P', { memberStates: ['DE', 'DE'] }),
  'unknown field': validProduct('P', { owner: 'me' }),
};

/** Prototype-poisoning keys are refused by the JSON parser itself (or by the schema). */
function poisonCases(url: string): Case[] {
  return [
    {
      name: '__proto__ key',
      url,
      raw: { payload: '{"__proto__": {"admin": true}, "name": "P"}', contentType: 'application/json' },
      status: 400,
      code: [JSON_INVALID, INVALID],
    },
    {
      name: 'constructor.prototype key',
      url,
      raw: { payload: '{"constructor": {"prototype": {"admin": true}}}', contentType: 'application/json' },
      status: 400,
      code: [JSON_INVALID, INVALID],
    },
  ];
}

/**
 * Every operation of the OpenAPI document, with the malformed requests it must refuse. A route
 * added without a row here fails the coverage test below.
 */
const operations: Record<string, Operation> = {
  'GET /healthz': () => [unknownQueryCase('/healthz')],

  'POST /api/v1/tokens': (f, t) => {
    const url = '/api/v1/tokens';
    const valid = { name: 'bad-input token', scopes: ['products:read'], expiresAt: inDays(t, 7) };
    return [
      ...bodyShapeCases(url),
      unknownQueryCase(url),
      ...fieldCases(url, {
        'missing name': { scopes: valid.scopes, expiresAt: valid.expiresAt },
        'missing scopes': { name: 'x', expiresAt: valid.expiresAt },
        'missing expiresAt': { name: 'x', scopes: valid.scopes },
        'scopes not an array': { ...valid, scopes: 'products:read' },
        'scopes empty': { ...valid, scopes: [] },
        'scopes repeated': { ...valid, scopes: ['products:read', 'products:read'] },
        'scope with unknown resource': { ...valid, scopes: ['reactors:read'] },
        'scope with unknown level': { ...valid, scopes: ['products:delete'] },
        'scope wildcard': { ...valid, scopes: ['*'] },
        'expiresAt not a time': { ...valid, expiresAt: 'tomorrow' },
        'expiresAt a number': { ...valid, expiresAt: 1_900_000_000 },
        'principalId not a uuid': { ...valid, principalId: 'admin' },
        'name wrong type': { ...valid, name: ['x'] },
        'unknown field': { ...valid, secret: 'chosen-by-caller' },
      }),
      {
        name: 'principalId well-formed but unknown',
        url,
        json: { ...valid, principalId: unknownId },
        status: 404,
        code: 'ACCESS_PRINCIPAL_NOT_FOUND',
      },
      {
        name: 'expiresAt in the past',
        url,
        json: { ...valid, expiresAt: inDays(t, -1) },
        status: 400,
        code: 'ACCESS_EXPIRY_INVALID',
      },
      {
        name: 'expiresAt now',
        url,
        json: { ...valid, expiresAt: inDays(t, 0) },
        status: 400,
        code: 'ACCESS_EXPIRY_INVALID',
      },
      {
        name: 'expiresAt beyond 366 days',
        url,
        json: { ...valid, expiresAt: inDays(t, 400) },
        status: 400,
        code: 'ACCESS_EXPIRY_INVALID',
      },
    ];
  },
  'GET /api/v1/tokens': () => [unknownQueryCase('/api/v1/tokens')],
  'DELETE /api/v1/tokens/{id}': (f) => [
    ...badIdCases((id) => `/api/v1/tokens/${id}`),
    {
      name: 'unknown token id',
      url: `/api/v1/tokens/${unknownId}`,
      status: 404,
      code: 'ACCESS_TOKEN_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/tokens/${f.tokenId}`),
    ...noBodyCases(`/api/v1/tokens/${f.tokenId}`),
  ],

  'POST /api/v1/principals': () => {
    const url = '/api/v1/principals';
    return [
      ...bodyShapeCases(url),
      unknownQueryCase(url),
      ...fieldCases(url, {
        'missing kind': { name: 'x' },
        'missing name': { kind: 'person' },
        'kind unknown': { kind: 'device', name: 'x' },
        'kind wrong type': { kind: 1, name: 'x' },
        'name empty': { kind: 'person', name: '' },
        'name too long': { kind: 'person', name: 'n'.repeat(201) },
        'name with control character': { kind: 'person', name: 'tab\there' },
        'email malformed': { kind: 'person', name: 'x', email: 'not-an-email' },
        'email null': { kind: 'person', name: 'x', email: null },
        'roles not an array': { kind: 'person', name: 'x', roles: 'admin' },
        'roles repeated': { kind: 'person', name: 'x', roles: ['auditor', 'auditor'] },
        'unknown field': { kind: 'person', name: 'x', password: 'hunter2' },
      }),
      {
        name: 'unknown role',
        url,
        json: { kind: 'person', name: 'x', roles: ['superuser'] },
        status: 400,
        code: 'ACCESS_ROLE_UNKNOWN',
      },
    ];
  },
  'GET /api/v1/principals': () => pageQueryCases('/api/v1/principals'),
  'GET /api/v1/principals/{id}': (f) => [
    ...badIdCases((id) => `/api/v1/principals/${id}`),
    {
      name: 'unknown principal id',
      url: `/api/v1/principals/${unknownId}`,
      status: 404,
      code: 'ACCESS_PRINCIPAL_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/principals/${f.principalId}`),
  ],
  'POST /api/v1/principals/{id}/roles': (f) => {
    const url = `/api/v1/principals/${f.principalId}/roles`;
    return [
      ...badIdCases((id) => `/api/v1/principals/${id}/roles`),
      {
        name: 'unknown principal id',
        url: `/api/v1/principals/${unknownId}/roles`,
        json: { role: 'auditor' },
        status: 404,
        code: 'ACCESS_PRINCIPAL_NOT_FOUND',
      },
      unknownQueryCase(url),
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'missing role': {},
        'role wrong type': { role: ['auditor'] },
        'role empty': { role: '' },
        'role too long': { role: 'r'.repeat(65) },
        'unknown field': { role: 'auditor', stage: 'audit' },
      }),
      { name: 'unknown role', url, json: { role: 'superuser' }, status: 400, code: 'ACCESS_ROLE_UNKNOWN' },
    ];
  },
  'DELETE /api/v1/principals/{id}/roles/{role}': (f) => [
    ...badIdCases((id) => `/api/v1/principals/${id}/roles/product-manager`),
    {
      name: 'unknown principal id',
      url: `/api/v1/principals/${unknownId}/roles/product-manager`,
      status: 404,
      code: 'ACCESS_PRINCIPAL_NOT_FOUND',
    },
    {
      name: 'role too long',
      url: `/api/v1/principals/${f.principalId}/roles/${'r'.repeat(65)}`,
      status: 400,
      code: INVALID,
    },
    {
      name: 'role not held',
      url: `/api/v1/principals/${f.principalId}/roles/auditor`,
      status: 404,
      code: 'ACCESS_ROLE_NOT_BOUND',
    },
    unknownQueryCase(`/api/v1/principals/${f.principalId}/roles/product-manager`),
    ...noBodyCases(`/api/v1/principals/${f.principalId}/roles/product-manager`),
  ],
  'GET /api/v1/roles': () => [unknownQueryCase('/api/v1/roles')],
  'GET /api/v1/access/report': () => [unknownQueryCase('/api/v1/access/report')],

  'POST /api/v1/products': () => {
    const url = '/api/v1/products';
    return [...bodyShapeCases(url), unknownQueryCase(url), ...fieldCases(url, productFieldCases)];
  },
  'GET /api/v1/products': () => pageQueryCases('/api/v1/products'),
  'GET /api/v1/products/{id}': (f) => [
    ...badIdCases((id) => `/api/v1/products/${id}`),
    {
      name: 'unknown product id',
      url: `/api/v1/products/${unknownId}`,
      status: 404,
      code: 'PRODUCT_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/products/${f.productId}`),
  ],
  'PATCH /api/v1/products/{id}': (f) => {
    const url = `/api/v1/products/${f.productId}`;
    return [
      ...badIdCases((id) => `/api/v1/products/${id}`).map((c) => ({ ...c, json: { model: 'm' } })),
      {
        name: 'unknown product id',
        url: `/api/v1/products/${unknownId}`,
        json: { model: 'm' },
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      unknownQueryCase(url),
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no fields': {},
        'name wrong type': { name: 7 },
        'name null': { name: null },
        'name empty': { name: '' },
        'regimes unknown value': { regimes: ['HIPAA'] },
        'supportEnd not a date': { supportEnd: '31.12.2035' },
        'hardwareRevisions not an array': { hardwareRevisions: 'rev-b' },
        'member state in lower case': { memberStates: ['de'] },
        'unknown field': { model: 'm', id: unknownId },
        'read-only field': { createdAt: '2020-01-01T00:00:00Z' },
      }),
    ];
  },
  'GET /api/v1/products/{id}/ownership': (f) => [
    ...badIdCases((id) => `/api/v1/products/${id}/ownership`),
    {
      name: 'unknown product id',
      url: `/api/v1/products/${unknownId}/ownership`,
      status: 404,
      code: 'PRODUCT_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/products/${f.productId}/ownership`),
  ],
  'PUT /api/v1/products/{id}/ownership/{stage}': (f) => {
    const url = `/api/v1/products/${f.productId}/ownership/decommissioning`;
    const body = { principalId: f.principalId };
    return [
      ...badIdCases((id) => `/api/v1/products/${id}/ownership/decommissioning`).map((c) => ({
        ...c,
        json: body,
      })),
      {
        name: 'unknown product id',
        url: `/api/v1/products/${unknownId}/ownership/decommissioning`,
        json: body,
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      {
        name: 'unknown stage',
        url: `/api/v1/products/${f.productId}/ownership/marketing`,
        json: body,
        status: 400,
        code: INVALID,
      },
      {
        name: 'audit is not a product stage',
        url: `/api/v1/products/${f.productId}/ownership/audit`,
        json: body,
        status: 400,
        code: INVALID,
      },
      unknownQueryCase(url),
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'missing principalId': {},
        'principalId not a uuid': { principalId: 'Fixture Person' },
        'principalId wrong type': { principalId: 1 },
        'unknown field': { principalId: f.principalId, deputy: f.adminPrincipalId },
      }),
      {
        name: 'principalId well-formed but unknown',
        url,
        json: { principalId: unknownId },
        status: 400,
        code: 'PRODUCT_OWNER_UNKNOWN',
      },
    ];
  },
  'DELETE /api/v1/products/{id}/ownership/{stage}': (f) => {
    const url = `/api/v1/products/${f.productId}/ownership/identity`;
    return [
      ...badIdCases((id) => `/api/v1/products/${id}/ownership/identity`),
      {
        name: 'unknown product id',
        url: `/api/v1/products/${unknownId}/ownership/identity`,
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      {
        name: 'unknown stage',
        url: `/api/v1/products/${f.productId}/ownership/marketing`,
        status: 400,
        code: INVALID,
      },
      unknownQueryCase(url),
      ...noBodyCases(url),
    ];
  },

  'GET /api/v1/cas': () => [unknownQueryCase('/api/v1/cas')],
  'POST /api/v1/products/{id}/ca': (f) => {
    const url = `/api/v1/products/${f.productId}/ca`;
    return [
      ...badIdCases((id) => `/api/v1/products/${id}/ca`).map((c) => ({ ...c, json: {} })),
      {
        name: 'unknown product',
        url: `/api/v1/products/${unknownId}/ca`,
        json: {},
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'unknown algorithm': { algorithm: 'dsa-1024' },
        'unknown field': { algorithm: 'ecdsa-p256', ca: true },
      }),
    ];
  },
  'POST /api/v1/products/{id}/ca/rotate': (f) => {
    const url = `/api/v1/products/${f.productId}/ca/rotate`;
    return [
      ...badIdCases((id) => `/api/v1/products/${id}/ca/rotate`).map((c) => ({ ...c, json: {} })),
      { name: 'no CA to rotate', url, json: {}, status: 409, code: 'IDENTITY_CA_MISSING' },
      ...bodyShapeCases(url),
      ...fieldCases(url, { 'unknown algorithm': { algorithm: 'rsa-1024' } }),
    ];
  },
  'GET /api/v1/products/{id}/certificate-profile': (f) => [
    ...badIdCases((id) => `/api/v1/products/${id}/certificate-profile`),
    {
      name: 'unknown product',
      url: `/api/v1/products/${unknownId}/certificate-profile`,
      status: 404,
      code: 'PRODUCT_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/products/${f.productId}/certificate-profile`),
  ],
  'PATCH /api/v1/products/{id}/certificate-profile': (f) => {
    const url = `/api/v1/products/${f.productId}/certificate-profile`;
    return [
      ...badIdCases((id) => `/api/v1/products/${id}/certificate-profile`).map((c) => ({
        ...c,
        json: { validityDays: 90 },
      })),
      {
        name: 'unknown product',
        url: `/api/v1/products/${unknownId}/certificate-profile`,
        json: { validityDays: 90 },
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no fields': {},
        'validity zero': { validityDays: 0 },
        'validity as text': { validityDays: '90' },
        'unknown key type': { keyTypes: ['rsa-1024'] },
        'empty key types': { keyTypes: [] },
        'unknown field': { validityDays: 90, ca: 'other' },
      }),
      {
        name: 'renewal window longer than validity',
        url,
        json: { validityDays: 10, renewalWindowDays: 20 },
        status: 400,
        code: 'IDENTITY_PROFILE_INVALID',
      },
    ];
  },
  'POST /api/v1/devices': (f) => {
    const url = '/api/v1/devices';
    const valid = {
      serial: 'SN-VALID-1',
      productId: f.productId,
      hardwareRevision: 'rev-a',
      bootstrap: { method: 'secret' },
    };
    return [
      ...bodyShapeCases(url),
      unknownQueryCase(url),
      ...fieldCases(url, {
        'serial missing': { ...valid, serial: undefined },
        'serial with a colon': { ...valid, serial: 'SN:1' },
        'serial with a space': { ...valid, serial: 'SN 1' },
        'serial too long': { ...valid, serial: 'S'.repeat(65) },
        'product not a uuid': { ...valid, productId: 'pump' },
        'unknown bootstrap method': { ...valid, bootstrap: { method: 'password' } },
        'idevid without a chain': { ...valid, bootstrap: { method: 'idevid' } },
        'idevid chain not PEM': {
          ...valid,
          bootstrap: { method: 'idevid', chain: ['not a certificate at all, not even close to one'] },
        },
        'secret lifetime zero': { ...valid, bootstrap: { method: 'secret', expiresInDays: 0 } },
        'unknown field': { ...valid, owner: 'me' },
      }),
      {
        name: 'unknown product',
        url,
        json: { ...valid, productId: unknownId },
        status: 400,
        code: 'IDENTITY_PRODUCT_UNKNOWN',
      },
      {
        name: 'unknown hardware revision',
        url,
        json: { ...valid, hardwareRevision: 'rev-z' },
        status: 400,
        code: 'IDENTITY_HARDWARE_REVISION_UNKNOWN',
      },
      {
        name: 'IDevID PEM that is not a certificate',
        url,
        json: {
          ...valid,
          bootstrap: {
            method: 'idevid',
            chain: [`-----BEGIN CERTIFICATE-----\n${'A'.repeat(80)}\n-----END CERTIFICATE-----`],
          },
        },
        status: 400,
        code: 'IDENTITY_IDEVID_INVALID',
      },
    ];
  },
  'POST /api/v1/devices/bulk': (f) => {
    const url = '/api/v1/devices/bulk';
    const valid = {
      serial: 'SN-BULK-1',
      productId: f.productId,
      hardwareRevision: 'rev-a',
      bootstrap: { method: 'secret' },
    };
    return [
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no devices': { devices: [] },
        'devices not an array': { devices: valid },
        'one malformed device': { devices: [valid, { ...valid, serial: 'bad serial' }] },
        'over 1,000 devices': {
          devices: Array.from({ length: 1001 }, (_, i) => ({ ...valid, serial: `SN-BULK-${i}` })),
        },
        'unknown field': { devices: [valid], dryRun: true },
      }),
    ];
  },
  'GET /api/v1/devices': () => [
    ...pageQueryCases('/api/v1/devices'),
    { name: 'status unknown', url: '/api/v1/devices?status=lost', status: 400, code: INVALID },
    { name: 'product not a uuid', url: '/api/v1/devices?productId=pump', status: 400, code: INVALID },
    { name: 'trust unknown', url: '/api/v1/devices?trust=fine', status: 400, code: INVALID },
    {
      name: 'quarantined not a boolean',
      url: '/api/v1/devices?quarantined=maybe',
      status: 400,
      code: INVALID,
    },
  ],
  'GET /api/v1/devices/{id}': (f) => [
    ...badIdCases((id) => `/api/v1/devices/${id}`),
    {
      name: 'unknown device',
      url: `/api/v1/devices/${unknownId}`,
      status: 404,
      code: 'IDENTITY_DEVICE_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/devices/${f.deviceId}`),
  ],
  'POST /api/v1/devices/{id}/revoke': (f) => {
    const url = `/api/v1/devices/${f.deviceId}/revoke`;
    return [
      ...badIdCases((id) => `/api/v1/devices/${id}/revoke`).map((c) => ({
        ...c,
        json: { reason: 'keyCompromise' },
      })),
      {
        name: 'unknown device',
        url: `/api/v1/devices/${unknownId}/revoke`,
        json: { reason: 'keyCompromise' },
        status: 404,
        code: 'IDENTITY_DEVICE_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no reason': {},
        'unknown reason': { reason: 'lost' },
        'reason as number': { reason: 1 },
        'removeFromCRL is not a revocation': { reason: 'removeFromCRL ' },
      }),
    ];
  },
  'POST /api/v1/devices/{id}/decommission': (f) => {
    const url = `/api/v1/devices/${f.deviceId}/decommission`;
    const wipe = { wipeConfirmation: { confirmedBy: 'operator', method: 'factory reset' } };
    return [
      ...badIdCases((id) => `/api/v1/devices/${id}/decommission`).map((c) => ({ ...c, json: wipe })),
      {
        name: 'unknown device',
        url: `/api/v1/devices/${unknownId}/decommission`,
        json: wipe,
        status: 404,
        code: 'IDENTITY_DEVICE_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'wipe confirmation not an object': { wipeConfirmation: 'done' },
        'confirmed by nobody': { wipeConfirmation: { confirmedBy: 'nobody', method: 'x' } },
        'no method': { wipeConfirmation: { confirmedBy: 'device' } },
        'time not a date-time': { wipeConfirmation: { confirmedBy: 'device', method: 'x', at: 'yesterday' } },
      }),
    ];
  },
  'POST /api/v1/devices/{id}/wipe-confirmation': (f) => {
    const url = `/api/v1/devices/${f.deviceId}/wipe-confirmation`;
    const wipe = { confirmedBy: 'operator', method: 'factory reset' };
    return [
      ...badIdCases((id) => `/api/v1/devices/${id}/wipe-confirmation`).map((c) => ({ ...c, json: wipe })),
      {
        name: 'unknown device',
        url: `/api/v1/devices/${unknownId}/wipe-confirmation`,
        json: wipe,
        status: 404,
        code: 'IDENTITY_DEVICE_NOT_FOUND',
      },
      {
        name: 'device not decommissioned',
        url,
        json: wipe,
        status: 409,
        code: 'IDENTITY_DEVICE_NOT_DECOMMISSIONED',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no fields': {},
        'confirmed by nobody': { confirmedBy: 'nobody', method: 'x' },
        'unknown field': { ...wipe, by: 'me' },
      }),
    ];
  },
  'POST /api/v1/devices/{id}/quarantine': (f) => {
    const url = `/api/v1/devices/${f.deviceId}/quarantine`;
    return [
      ...badIdCases((id) => `/api/v1/devices/${id}/quarantine`).map((c) => ({ ...c, json: { reason: 'x' } })),
      {
        name: 'unknown device',
        url: `/api/v1/devices/${unknownId}/quarantine`,
        json: { reason: 'suspect' },
        status: 404,
        code: 'IDENTITY_DEVICE_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no reason': {},
        'empty reason': { reason: '' },
        'reason too long': { reason: 'r'.repeat(501) },
        'unknown field': { reason: 'x', until: 'tomorrow' },
      }),
    ];
  },
  'POST /api/v1/devices/{id}/quarantine/release': (f) => {
    const url = `/api/v1/devices/${f.deviceId}/quarantine/release`;
    return [
      ...badIdCases((id) => `/api/v1/devices/${id}/quarantine/release`).map((c) => ({
        ...c,
        json: { reason: 'x' },
      })),
      {
        name: 'device not in quarantine',
        url,
        json: { reason: 'cleared' },
        status: 409,
        code: 'IDENTITY_DEVICE_NOT_QUARANTINED',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, { 'no reason': {}, 'reason as number': { reason: 1 } }),
    ];
  },
  'GET /api/v1/devices/{id}/attestations': (f) => [
    ...badIdCases((id) => `/api/v1/devices/${id}/attestations`),
    {
      name: 'unknown device',
      url: `/api/v1/devices/${unknownId}/attestations`,
      status: 404,
      code: 'IDENTITY_DEVICE_NOT_FOUND',
    },
    ...pageQueryCases(`/api/v1/devices/${f.deviceId}/attestations`),
  ],
  'GET /api/v1/attestations/{id}': () => [
    ...badIdCases((id) => `/api/v1/attestations/${id}`),
    {
      name: 'unknown attestation',
      url: `/api/v1/attestations/${unknownId}`,
      status: 404,
      code: 'ATTESTATION_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/attestations/${unknownId}`),
  ],
  'POST /api/v1/attestations/{id}/reappraise': () => [
    ...badIdCases((id) => `/api/v1/attestations/${id}/reappraise`),
    {
      name: 'unknown attestation',
      url: `/api/v1/attestations/${unknownId}/reappraise`,
      status: 404,
      code: 'ATTESTATION_NOT_FOUND',
    },
    ...noBodyCases(`/api/v1/attestations/${unknownId}/reappraise`),
  ],
  'GET /api/v1/attestation/ear-keys': () => [unknownQueryCase('/api/v1/attestation/ear-keys')],
  'POST /api/v1/devices/{id}/attestation-keys': (f) => {
    const url = `/api/v1/devices/${f.deviceId}/attestation-keys`;
    const notAnAk = { kind: 'tpm2', akPublic: Buffer.from('not a public area').toString('base64') };
    return [
      ...badIdCases((id) => `/api/v1/devices/${id}/attestation-keys`).map((c) => ({ ...c, json: notAnAk })),
      {
        name: 'unknown device',
        url: `/api/v1/devices/${unknownId}/attestation-keys`,
        json: {
          kind: 'dice',
          deviceIdCertificate: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n-----END CERTIFICATE-----\n`,
        },
        status: [400, 404],
        code: ['ATTESTATION_DEVICE_ID_INVALID', 'IDENTITY_DEVICE_NOT_FOUND'],
      },
      {
        name: 'AK bytes that are no TPM2B_PUBLIC',
        url,
        json: notAnAk,
        status: 400,
        code: 'ATTESTATION_TPM_PUBLIC_MALFORMED',
      },
      {
        name: 'DeviceID that is no certificate',
        url,
        json: {
          kind: 'dice',
          deviceIdCertificate: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n-----END CERTIFICATE-----\n`,
        },
        status: 400,
        code: 'ATTESTATION_DEVICE_ID_INVALID',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no kind': { akPublic: 'AAAA' },
        'unknown kind': { kind: 'psa', akPublic: 'AAAA' },
        'AK not base64': { kind: 'tpm2', akPublic: '!!!!' },
        'DeviceID not PEM': { kind: 'dice', deviceIdCertificate: 'x'.repeat(60) },
        'both kinds at once': { kind: 'tpm2', akPublic: 'AAAA', deviceIdCertificate: 'x' },
      }),
    ];
  },
  'GET /api/v1/devices/{id}/attestation-keys': () => [
    ...badIdCases((id) => `/api/v1/devices/${id}/attestation-keys`),
    {
      name: 'unknown device',
      url: `/api/v1/devices/${unknownId}/attestation-keys`,
      status: 404,
      code: 'IDENTITY_DEVICE_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/devices/${unknownId}/attestation-keys`),
  ],
  'POST /api/v1/attestation/reference-values': (f) => {
    const url = '/api/v1/attestation/reference-values';
    const values = { components: [], secureBootRequired: true };
    const component = { kind: 'tpm-event', pcr: 0, digests: { sha256: 'ab'.repeat(32) } };
    const valid = { productId: f.productId, hardwareRevision: 'rev-a', values };
    return [
      {
        name: 'unknown product',
        url,
        json: { ...valid, productId: unknownId },
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no values': { productId: f.productId, hardwareRevision: 'rev-a' },
        'product not a uuid': { ...valid, productId: 'pump' },
        'empty hardware revision': { ...valid, hardwareRevision: '' },
        'secureBootRequired missing': { ...valid, values: { components: [] } },
        'PCR out of range': { ...valid, values: { ...values, components: [{ ...component, pcr: 24 }] } },
        'digest not hex': {
          ...valid,
          values: { ...values, components: [{ ...component, digests: { sha256: 'zz' } }] },
        },
        'digest upper-case': {
          ...valid,
          values: { ...values, components: [{ ...component, digests: { sha256: 'AB'.repeat(32) } }] },
        },
        'unknown digest algorithm': {
          ...valid,
          values: { ...values, components: [{ ...component, digests: { md5: 'ab'.repeat(16) } }] },
        },
        'no digests': { ...valid, values: { ...values, components: [{ ...component, digests: {} }] } },
        'unknown component kind': {
          ...valid,
          values: { ...values, components: [{ ...component, kind: 'psa' }] },
        },
        'negative security version': { ...valid, values: { ...values, minimumSecurityVersion: -1 } },
        'golden PCR values are not reference values': {
          ...valid,
          values: { ...values, pcrs: { 0: 'ab'.repeat(32) } },
        },
        'unknown source': { ...valid, source: 'guess' },
      }),
    ];
  },
  'GET /api/v1/attestation/reference-values': (f) => [
    unknownQueryCase(`/api/v1/attestation/reference-values?productId=${f.productId}`),
    { name: 'no product', url: '/api/v1/attestation/reference-values', status: 400, code: INVALID },
    {
      name: 'product not a uuid',
      url: '/api/v1/attestation/reference-values?productId=pump',
      status: 400,
      code: INVALID,
    },
  ],
  'POST /api/v1/attestation/policies': (f) => {
    const url = '/api/v1/attestation/policies';
    const policy = {
      requiredClaims: ['secure-boot'],
      secureBootDisabled: 'failure',
      unrecognizedComponent: 'failure',
      belowMinimumSecurityVersion: 'failure',
      missingReferenceValues: 'failure',
      quarantineOnContraindicated: false,
    };
    return [
      {
        name: 'unknown product',
        url,
        json: { productId: unknownId, policy },
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no policy': { productId: f.productId },
        'missing reference values may not pass': {
          productId: f.productId,
          policy: { ...policy, missingReferenceValues: 'ignore' },
        },
        'unknown required claim': {
          productId: f.productId,
          policy: { ...policy, requiredClaims: ['vibes'] },
        },
        'repeated required claim': {
          productId: f.productId,
          policy: { ...policy, requiredClaims: ['secure-boot', 'secure-boot'] },
        },
        'unknown outcome': { productId: f.productId, policy: { ...policy, unrecognizedComponent: 'shrug' } },
        'missing rule': {
          productId: f.productId,
          policy: { ...policy, quarantineOnContraindicated: undefined },
        },
        'unknown rule': { productId: f.productId, policy: { ...policy, allowDebug: true } },
        'PCR beyond 23': { productId: f.productId, policy: { ...policy, tpmPcrs: [0, 24] } },
        'repeated PCR': { productId: f.productId, policy: { ...policy, tpmPcrs: [7, 7] } },
      }),
    ];
  },
  'GET /api/v1/attestation/policies': () => [
    { name: 'no product', url: '/api/v1/attestation/policies', status: 400, code: INVALID },
    {
      name: 'unknown product',
      url: `/api/v1/attestation/policies?productId=${unknownId}`,
      status: 404,
      code: 'PRODUCT_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/attestation/policies?productId=${unknownId}`),
  ],
  'GET /api/v1/devices/{id}/identity': (f) => [
    ...badIdCases((id) => `/api/v1/devices/${id}/identity`),
    {
      name: 'unknown device',
      url: `/api/v1/devices/${unknownId}/identity`,
      status: 404,
      code: 'IDENTITY_DEVICE_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/devices/${f.deviceId}/identity`),
  ],
  'POST /api/v1/certificates/{serial}/revoke': () => {
    const url = '/api/v1/certificates/0abc/revoke';
    return [
      ...['XYZ', 'a', '0'.repeat(41), '%00'].map((serial) => ({
        name: `serial ${serial}`,
        url: `/api/v1/certificates/${serial}/revoke`,
        json: { reason: 'keyCompromise' },
        status: 400,
        code: INVALID,
      })),
      {
        name: 'unknown certificate',
        url,
        json: { reason: 'keyCompromise' },
        status: 404,
        code: 'IDENTITY_CERTIFICATE_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, { 'no reason': {}, 'unknown reason': { reason: 'stolen' } }),
    ];
  },
  'GET /api/v1/identity/expiring': () => [
    unknownQueryCase('/api/v1/identity/expiring'),
    ...['30', '30x', '-1d', '999999d', 'd'].map((within) => ({
      name: `within=${within}`,
      url: `/api/v1/identity/expiring?within=${within}`,
      status: 400,
      code: INVALID,
    })),
  ],
  'GET /api/v1/ledger/entries': () => [
    ...rangeQueryCases('/api/v1/ledger/entries', 'start', 'end', 'LEDGER_RANGE_INVALID'),
    {
      name: 'more than 10000 entries',
      url: '/api/v1/ledger/entries?start=0&end=10001',
      status: 400,
      code: 'LEDGER_RANGE_INVALID',
    },
  ],
  'GET /api/v1/ledger/proofs/inclusion': () => [
    ...rangeQueryCases('/api/v1/ledger/proofs/inclusion', 'index', 'size', 'LEDGER_PROOF_RANGE'),
    {
      name: 'size beyond the tree',
      url: '/api/v1/ledger/proofs/inclusion?index=0&size=1000000',
      status: [400, 404],
      code: [
        'LEDGER_PROOF_RANGE',
        'LEDGER_SIZE_UNKNOWN',
        'LEDGER_TREE_SIZE_UNKNOWN',
        'LEDGER_ENTRY_NOT_INTEGRATED',
      ],
    },
  ],
  'GET /api/v1/ledger/proofs/consistency': () => [
    ...rangeQueryCases('/api/v1/ledger/proofs/consistency', 'from', 'to', 'LEDGER_PROOF_RANGE'),
    {
      name: 'size beyond the tree',
      url: '/api/v1/ledger/proofs/consistency?from=1&to=1000000',
      status: [400, 404],
      code: ['LEDGER_PROOF_RANGE', 'LEDGER_SIZE_UNKNOWN', 'LEDGER_TREE_SIZE_UNKNOWN'],
    },
  ],
  'GET /api/v1/ledger/verifier-key': () => [unknownQueryCase('/api/v1/ledger/verifier-key')],
  'GET /api/v1/ledger/checkpoints': () => [unknownQueryCase('/api/v1/ledger/checkpoints')],
  'GET /api/v1/ledger/entries/{index}/proof': () => [
    ...['-1', 'abc', '1.5', '1e400', '9007199254740992'].map((index) => ({
      name: `index ${index}`,
      url: `/api/v1/ledger/entries/${index}/proof`,
      status: 400,
      code: INVALID,
    })),
    {
      name: 'index not yet integrated',
      url: '/api/v1/ledger/entries/1000000/proof',
      status: 404,
      code: 'LEDGER_ENTRY_NOT_INTEGRATED',
    },
    unknownQueryCase('/api/v1/ledger/entries/0/proof'),
  ],
  'GET /ledger/checkpoint': () => [unknownQueryCase('/ledger/checkpoint')],
  'GET /ledger/tile/{*}': () => [
    ...[
      'zzz',
      '0',
      '0/x01',
      '-1/000',
      '0/000.p/0',
      '0/000.p/257',
      '0/000.p/abc',
      'entries/000.p/0',
      '0/x001/x',
      `0/${'x'.repeat(201)}`,
    ].map((path) => ({
      name: `tile path ${path.slice(0, 20)}`,
      url: `/ledger/tile/${path}`,
      status: 400,
      code: ['LEDGER_TILE_PATH_INVALID', INVALID],
    })),
    {
      name: 'tile beyond the tree',
      url: '/ledger/tile/0/x999/999',
      status: 404,
      code: 'LEDGER_TILE_NOT_FOUND',
    },
    {
      name: 'entry bundle beyond the tree',
      url: '/ledger/tile/entries/x999/999',
      status: 404,
      code: 'LEDGER_TILE_NOT_FOUND',
    },
    unknownQueryCase('/ledger/tile/0/000'),
  ],
  'POST /api/v1/rollouts': () => {
    const url = '/api/v1/rollouts';
    const valid = { releaseId: unknownId, selection: { kind: 'product' }, waves: [{ share: 100 }] };
    return [
      { name: 'unknown release', url, json: valid, status: 404, code: 'RELEASE_NOT_FOUND' },
      {
        name: 'falling shares',
        url,
        json: { ...valid, waves: [{ share: 50 }, { share: 10 }] },
        status: 400,
        code: 'ROLLOUT_WAVES_INVALID',
      },
      {
        name: 'a wave with neither share nor devices',
        url,
        json: { ...valid, waves: [{ name: 'x' }] },
        status: 400,
        code: 'ROLLOUT_WAVES_INVALID',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no waves': { ...valid, waves: [] },
        'share above 100': { ...valid, waves: [{ share: 101 }] },
        'share zero': { ...valid, waves: [{ share: 0 }] },
        'unknown selection kind': { ...valid, selection: { kind: 'everyone' } },
        'device list not uuids': { ...valid, selection: { kind: 'devices', deviceIds: ['pump-1'] } },
        'empty device list': { ...valid, selection: { kind: 'devices', deviceIds: [] } },
        'unknown failure action': { ...valid, waves: [{ share: 100, onFailure: 'ignore' }] },
        'negative failure count': { ...valid, waves: [{ share: 100, failure: { count: -1 } }] },
        'validation window zero': { ...valid, validationMinutes: 0 },
        'release not a uuid': { ...valid, releaseId: 'latest' },
        'unknown wave field': { ...valid, waves: [{ share: 100, canary: true }] },
      }),
    ];
  },
  'GET /api/v1/rollouts': () => [
    ...pageQueryCases('/api/v1/rollouts'),
    { name: 'unknown status', url: '/api/v1/rollouts?status=running', status: 400, code: INVALID },
    { name: 'product not a uuid', url: '/api/v1/rollouts?productId=pump', status: 400, code: INVALID },
  ],
  'GET /api/v1/rollouts/{id}': () => [
    ...badIdCases((id) => `/api/v1/rollouts/${id}`),
    { name: 'unknown rollout', url: `/api/v1/rollouts/${unknownId}`, status: 404, code: 'ROLLOUT_NOT_FOUND' },
    unknownQueryCase(`/api/v1/rollouts/${unknownId}`),
  ],
  'GET /api/v1/rollouts/{id}/devices': () => [
    ...badIdCases((id) => `/api/v1/rollouts/${id}/devices`),
    {
      name: 'unknown rollout',
      url: `/api/v1/rollouts/${unknownId}/devices`,
      status: 404,
      code: 'ROLLOUT_NOT_FOUND',
    },
    ...pageQueryCases(`/api/v1/rollouts/${unknownId}/devices`),
    {
      name: 'unknown state',
      url: `/api/v1/rollouts/${unknownId}/devices?state=happy`,
      status: 400,
      code: INVALID,
    },
    {
      name: 'negative wave',
      url: `/api/v1/rollouts/${unknownId}/devices?wave=-1`,
      status: 400,
      code: INVALID,
    },
  ],
  ...Object.fromEntries(
    (['pause', 'abort'] as const).map((verb) => [
      `POST /api/v1/rollouts/{id}/${verb}`,
      () => {
        const url = `/api/v1/rollouts/${unknownId}/${verb}`;
        return [
          ...badIdCases((id) => `/api/v1/rollouts/${id}/${verb}`).map((c) => ({
            ...c,
            json: { reason: 'x' },
          })),
          {
            name: 'unknown rollout',
            url,
            json: { reason: 'field issue' },
            status: 404,
            code: 'ROLLOUT_NOT_FOUND',
          },
          ...bodyShapeCases(url),
          ...fieldCases(url, {
            'no reason': {},
            'empty reason': { reason: '' },
            'reason too long': { reason: 'x'.repeat(1001) },
          }),
        ];
      },
    ]),
  ),
  ...Object.fromEntries(
    (['resume', 'approve'] as const).map((verb) => [
      `POST /api/v1/rollouts/{id}/${verb}`,
      () => [
        ...badIdCases((id) => `/api/v1/rollouts/${id}/${verb}`),
        {
          name: 'unknown rollout',
          url: `/api/v1/rollouts/${unknownId}/${verb}`,
          status: 404,
          code: 'ROLLOUT_NOT_FOUND',
        },
        ...noBodyCases(`/api/v1/rollouts/${unknownId}/${verb}`),
      ],
    ]),
  ),
  'POST /api/v1/sites': () => {
    const url = '/api/v1/sites';
    const window = { cron: '0 2 * * *', durationMinutes: 120, timeZone: 'Europe/Berlin' };
    return [
      {
        name: 'unknown time zone',
        url,
        json: { name: 'ICU', maintenanceWindow: { ...window, timeZone: 'Mars/Base' } },
        status: 400,
        code: 'UPDATE_WINDOW_INVALID',
      },
      {
        name: 'cron that does not parse',
        url,
        json: { name: 'ICU', maintenanceWindow: { ...window, cron: '0 99 * * *' } },
        status: 400,
        code: 'UPDATE_WINDOW_INVALID',
      },
      {
        name: 'six-field cron',
        url,
        json: { name: 'ICU', maintenanceWindow: { ...window, cron: '0 0 2 * * *' } },
        status: 400,
        code: 'UPDATE_WINDOW_INVALID',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no name': { maintenanceWindow: window },
        'zero duration': { name: 'ICU', maintenanceWindow: { ...window, durationMinutes: 0 } },
        'duration over a week': { name: 'ICU', maintenanceWindow: { ...window, durationMinutes: 10_081 } },
        'window without a time zone': {
          name: 'ICU',
          maintenanceWindow: { cron: window.cron, durationMinutes: 60 },
        },
        'unknown field': { name: 'ICU', country: 'DE' },
      }),
    ];
  },
  'GET /api/v1/sites': () => [unknownQueryCase('/api/v1/sites')],
  'PUT /api/v1/devices/{id}/site': (f) => {
    const url = `/api/v1/devices/${f.deviceId}/site`;
    return [
      ...badIdCases((id) => `/api/v1/devices/${id}/site`).map((c) => ({ ...c, json: { siteId: unknownId } })),
      {
        name: 'unknown device',
        url: `/api/v1/devices/${unknownId}/site`,
        json: { siteId: unknownId },
        status: 404,
        code: 'IDENTITY_DEVICE_NOT_FOUND',
      },
      { name: 'unknown site', url, json: { siteId: unknownId }, status: 404, code: 'SITE_NOT_FOUND' },
      ...bodyShapeCases(url),
      ...fieldCases(url, { 'no site': {}, 'site not a uuid': { siteId: 'icu' } }),
    ];
  },
  'POST /api/v1/device-filters': () => {
    const url = '/api/v1/device-filters';
    return [
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no filter': { name: 'old firmware' },
        'unknown criterion': { name: 'x', filter: { serials: ['a'] } },
        'empty version list': { name: 'x', filter: { versions: [] } },
        'site not a uuid': { name: 'x', filter: { siteIds: ['icu'] } },
      }),
    ];
  },
  'GET /api/v1/device-filters': () => [unknownQueryCase('/api/v1/device-filters')],
  'PUT /api/v1/products/{id}/update-policy': (f) => {
    const url = `/api/v1/products/${f.productId}/update-policy`;
    return [
      ...badIdCases((id) => `/api/v1/products/${id}/update-policy`).map((c) => ({
        ...c,
        json: { postponeLimit: 1 },
      })),
      {
        name: 'unknown product',
        url: `/api/v1/products/${unknownId}/update-policy`,
        json: { postponeLimit: 1 },
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'negative limit': { postponeLimit: -1 },
        'fractional limit': { postponeLimit: 1.5 },
        'limit as text': { postponeLimit: '2' },
      }),
    ];
  },
  'GET /api/v1/releases/{id}/sbom/completeness': () => [
    ...badIdCases((id) => `/api/v1/releases/${id}/sbom/completeness`),
    {
      name: 'no SBOM',
      url: `/api/v1/releases/${unknownId}/sbom/completeness`,
      status: 404,
      code: 'SBOM_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/releases/${unknownId}/sbom/completeness`),
  ],
  'GET /api/v1/releases/{id}/findings': () => [
    ...badIdCases((id) => `/api/v1/releases/${id}/findings`),
    ...pageQueryCases(`/api/v1/releases/${unknownId}/findings`),
    {
      name: 'unknown state',
      url: `/api/v1/releases/${unknownId}/findings?state=bad`,
      status: 400,
      code: INVALID,
    },
  ],
  'GET /api/v1/products/{id}/findings': (f) => [
    ...badIdCases((id) => `/api/v1/products/${id}/findings`),
    ...pageQueryCases(`/api/v1/products/${f.productId}/findings`),
    {
      name: 'unknown state',
      url: `/api/v1/products/${f.productId}/findings?state=exploitable`,
      status: 400,
      code: INVALID,
    },
  ],
  'GET /api/v1/findings': () => [
    ...pageQueryCases('/api/v1/findings'),
    { name: 'unknown state', url: '/api/v1/findings?state=resolved', status: 400, code: INVALID },
  ],
  'PATCH /api/v1/findings/{id}': () => {
    const url = `/api/v1/findings/${unknownId}`;
    const valid = { state: 'affected', reason: 'reachable from the network' };
    return [
      ...badIdCases((id) => `/api/v1/findings/${id}`).map((c) => ({ ...c, json: valid })),
      { name: 'unknown finding', url, json: valid, status: 404, code: 'FINDING_NOT_FOUND' },
      {
        name: 'not_affected without a justification',
        url,
        json: { state: 'not_affected', reason: 'x' },
        status: 400,
        code: 'FINDING_JUSTIFICATION_MISSING',
      },
      {
        name: 'a justification for affected',
        url,
        json: { ...valid, justification: 'component_not_present' },
        status: 400,
        code: 'FINDING_JUSTIFICATION_UNEXPECTED',
      },
      {
        name: 'fixed without the fixing release',
        url,
        json: { state: 'fixed', reason: 'x' },
        status: 400,
        code: 'FINDING_FIX_MISSING',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'unknown state': { ...valid, state: 'exploitable' },
        'no reason': { state: 'affected' },
        'empty reason': { ...valid, reason: '' },
        'unknown justification': { state: 'not_affected', justification: 'trust_me', reason: 'x' },
        'fixing release not a uuid': { state: 'fixed', fixedReleaseId: '1.6.4', reason: 'x' },
        'exploited as text': { ...valid, exploited: 'yes' },
        'unknown field': { ...valid, severity: 'low' },
      }),
    ];
  },
  'POST /api/v1/vulns/advisories': () => {
    const url = '/api/v1/vulns/advisories';
    const bytes = (payload: string) => ({ payload, contentType: 'application/octet-stream' });
    return [
      { name: 'not an advisory format', url, raw: bytes('hello'), status: 415, code: 'VULNS_FORMAT_UNKNOWN' },
      {
        name: 'JSON that is no advisory',
        url,
        raw: { payload: '{"a":1}', contentType: 'application/json' },
        status: 415,
        code: 'VULNS_FORMAT_UNKNOWN',
      },
      {
        name: 'XML',
        url,
        raw: { payload: '<osv/>', contentType: 'application/xml' },
        status: 415,
        code: MEDIA,
      },
      {
        name: 'unknown query parameter',
        url: `${url}?bogus=1`,
        raw: bytes('{}'),
        status: 400,
        code: INVALID,
      },
      {
        name: 'file name too long',
        url: `${url}?name=${'x'.repeat(301)}`,
        raw: bytes('{}'),
        status: 400,
        code: INVALID,
      },
    ];
  },
  'GET /api/v1/vulns/clocks': () => [unknownQueryCase('/api/v1/vulns/clocks')],
  'POST /api/v1/vulns/clocks': (f) => {
    const url = '/api/v1/vulns/clocks';
    const valid = { productId: f.productId, title: 'incident', description: 'what happened' };
    return [
      {
        name: 'unknown product',
        url,
        json: { ...valid, productId: unknownId },
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      {
        name: 'awareness in the future',
        url,
        json: { ...valid, awareAt: '2999-01-01T00:00:00Z' },
        status: 400,
        code: 'CRA_AWARENESS_IN_FUTURE',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no title': { productId: f.productId, description: 'x' },
        'member state not ISO 3166': { ...valid, memberStates: ['Germany'] },
        'member state twice': { ...valid, memberStates: ['DE', 'DE'] },
        'awareness not a time': { ...valid, awareAt: 'yesterday' },
        'unknown field': { ...valid, severity: 'high' },
      }),
    ];
  },
  'GET /api/v1/vulns/clocks/{id}/reports/{report}': () => [
    ...badIdCases((id) => `/api/v1/vulns/clocks/${id}/reports/early-warning`),
    {
      name: 'unknown clock',
      url: `/api/v1/vulns/clocks/${unknownId}/reports/early-warning`,
      status: 404,
      code: 'CRA_CLOCK_NOT_FOUND',
    },
    {
      name: 'unknown report',
      url: `/api/v1/vulns/clocks/${unknownId}/reports/interim`,
      status: 400,
      code: INVALID,
    },
    unknownQueryCase(`/api/v1/vulns/clocks/${unknownId}/reports/notification`),
  ],
  'POST /api/v1/vulns/clocks/{id}/reports/{report}/sent': () => {
    const url = `/api/v1/vulns/clocks/${unknownId}/reports/notification/sent`;
    return [
      ...badIdCases((id) => `/api/v1/vulns/clocks/${id}/reports/notification/sent`).map((c) => ({
        ...c,
        json: {},
      })),
      { name: 'unknown clock', url, json: {}, status: 404, code: 'CRA_CLOCK_NOT_FOUND' },
      {
        name: 'unknown report',
        url: `/api/v1/vulns/clocks/${unknownId}/reports/interim/sent`,
        json: {},
        status: 400,
        code: INVALID,
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'empty reference': { reference: '' },
        'unknown field': { sentAt: '2026-01-01T00:00:00Z' },
      }),
    ];
  },
  'POST /api/v1/vulns/clocks/{id}/corrective-measure': () => {
    const url = `/api/v1/vulns/clocks/${unknownId}/corrective-measure`;
    return [
      ...badIdCases((id) => `/api/v1/vulns/clocks/${id}/corrective-measure`).map((c) => ({
        ...c,
        json: { description: 'x' },
      })),
      {
        name: 'unknown clock',
        url,
        json: { description: 'patched in 1.0.1' },
        status: 404,
        code: 'CRA_CLOCK_NOT_FOUND',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, { 'no description': {}, 'empty description': { description: '' } }),
    ];
  },
  'PUT /api/v1/vulns/publisher': () => {
    const url = '/api/v1/vulns/publisher';
    const valid = { name: 'Vigil Medical', namespace: 'https://vigil.example' };
    return [
      {
        name: 'namespace over plain http',
        url,
        json: { ...valid, namespace: 'http://vigil.example' },
        status: 400,
        code: 'CSAF_PUBLISHER_INVALID',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no name': { namespace: valid.namespace },
        'namespace not a URI': { ...valid, namespace: 'vigil' },
        'contact not a URI': { ...valid, contact: 'psirt@vigil.example' },
        'unknown field': { ...valid, role: 'csaf_trusted_provider' },
      }),
    ];
  },
  'POST /api/v1/products/{id}/csaf': () => [
    ...badIdCases((id) => `/api/v1/products/${id}/csaf`),
    {
      name: 'no publisher yet',
      url: `/api/v1/products/${unknownId}/csaf`,
      status: 409,
      code: 'CSAF_PUBLISHER_MISSING',
    },
    ...noBodyCases(`/api/v1/products/${unknownId}/csaf`),
  ],
  'GET /api/v1/releases/{id}/vex': () => [
    ...badIdCases((id) => `/api/v1/releases/${id}/vex`),
    {
      name: 'unknown release',
      url: `/api/v1/releases/${unknownId}/vex`,
      status: 404,
      code: 'RELEASE_NOT_FOUND',
    },
    {
      name: 'unknown format',
      url: `/api/v1/releases/${unknownId}/vex?format=spdx`,
      status: 400,
      code: INVALID,
    },
    unknownQueryCase(`/api/v1/releases/${unknownId}/vex`),
  ],
  'PUT /api/v1/products/{id}/remediation-policy': (f) => {
    const url = `/api/v1/products/${f.productId}/remediation-policy`;
    const valid = { critical: 15, high: 30, medium: 90, low: 180, unknown: 90, exploited: 7 };
    return [
      ...badIdCases((id) => `/api/v1/products/${id}/remediation-policy`).map((c) => ({ ...c, json: valid })),
      {
        name: 'unknown product',
        url: `/api/v1/products/${unknownId}/remediation-policy`,
        json: valid,
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      {
        name: 'exploited slower than critical',
        url,
        json: { ...valid, exploited: 20 },
        status: 400,
        code: 'REMEDIATION_POLICY_INVALID',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'missing severity': { critical: 15, high: 30, medium: 90, low: 180, unknown: 90 },
        'zero days': { ...valid, critical: 0 },
        'fractional days': { ...valid, high: 1.5 },
        'unknown field': { ...valid, informational: 365 },
      }),
    ];
  },
  'POST /api/v1/releases': (f) => {
    const url = '/api/v1/releases';
    const valid = {
      productId: f.productId,
      version: '1.0.0',
      securityVersion: 1,
      hardwareRevisions: ['rev-a'],
    };
    return [
      {
        name: 'unknown product',
        url,
        json: { ...valid, productId: unknownId },
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      {
        name: 'unknown hardware revision',
        url,
        json: { ...valid, hardwareRevisions: ['rev-z'] },
        status: 400,
        code: 'RELEASE_HARDWARE_REVISION_UNKNOWN',
      },
      {
        name: 'reference values for a revision the release does not fit',
        url,
        json: {
          ...valid,
          referenceValues: [
            { hardwareRevision: 'rev-z', values: { components: [], secureBootRequired: true } },
          ],
        },
        status: 400,
        code: 'RELEASE_HARDWARE_REVISION_UNKNOWN',
      },
      {
        name: 'version with a slash',
        url,
        json: { ...valid, version: '1.0/../x' },
        status: 400,
        code: 'RELEASE_VERSION_INVALID',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no version': { ...valid, version: undefined },
        'negative security version': { ...valid, securityVersion: -1 },
        'fractional security version': { ...valid, securityVersion: 1.5 },
        'security version as text': { ...valid, securityVersion: '1' },
        'no hardware revisions': { ...valid, hardwareRevisions: [] },
        'product not a uuid': { ...valid, productId: 'pump' },
        'security update as text': { ...valid, securityUpdate: 'yes' },
        'unknown field': { ...valid, signedBy: 'me' },
      }),
    ];
  },
  'GET /api/v1/releases': () => [
    ...pageQueryCases('/api/v1/releases'),
    { name: 'product not a uuid', url: '/api/v1/releases?productId=pump', status: 400, code: INVALID },
  ],
  'GET /api/v1/releases/{id}': () => [
    ...badIdCases((id) => `/api/v1/releases/${id}`),
    { name: 'unknown release', url: `/api/v1/releases/${unknownId}`, status: 404, code: 'RELEASE_NOT_FOUND' },
    unknownQueryCase(`/api/v1/releases/${unknownId}`),
  ],
  'POST /api/v1/releases/{id}/artifacts': () => {
    const url = `/api/v1/releases/${unknownId}/artifacts?name=firmware.bin`;
    const bytes = (payload: string) => ({ payload, contentType: 'application/octet-stream' });
    return [
      ...badIdCases((id) => `/api/v1/releases/${id}/artifacts?name=firmware.bin`).map((c) => ({
        ...c,
        raw: bytes('fw'),
      })),
      { name: 'unknown release', url, raw: bytes('fw'), status: 404, code: 'RELEASE_NOT_FOUND' },
      {
        name: 'no name',
        url: `/api/v1/releases/${unknownId}/artifacts`,
        raw: bytes('fw'),
        status: 400,
        code: INVALID,
      },
      {
        name: 'name that climbs out of the release',
        url: `/api/v1/releases/${unknownId}/artifacts?name=..%2Fescape`,
        raw: bytes('fw'),
        status: 400,
        code: 'RELEASE_ARTIFACT_NAME_INVALID',
      },
      {
        name: 'declared sha256 not hex',
        url: `${url}&sha256=zz`,
        raw: bytes('fw'),
        status: 400,
        code: INVALID,
      },
      {
        name: 'declared sha512 too short',
        url: `${url}&sha512=${'ab'.repeat(32)}`,
        raw: bytes('fw'),
        status: 400,
        code: INVALID,
      },
      {
        name: 'unknown query parameter',
        url: `${url}&bogus=1`,
        raw: bytes('fw'),
        status: 400,
        code: INVALID,
      },
      { name: 'JSON instead of bytes', url, json: { firmware: true }, status: 415, code: MEDIA },
      {
        name: 'text/plain body',
        url,
        raw: { payload: 'fw', contentType: 'text/plain' },
        status: 415,
        code: MEDIA,
      },
    ];
  },
  'POST /api/v1/releases/{id}/sbom': (f) => {
    const url = `/api/v1/releases/${f.releaseId}/sbom`;
    const cyclonedx = (payload: string) => ({ payload, contentType: 'application/vnd.cyclonedx+json' });
    return [
      ...badIdCases((id) => `/api/v1/releases/${id}/sbom`).map((c) => ({ ...c, raw: cyclonedx('{}') })),
      {
        name: 'unknown release',
        url: `/api/v1/releases/${unknownId}/sbom`,
        raw: cyclonedx('{"bomFormat": '),
        status: 404,
        code: 'RELEASE_NOT_FOUND',
      },
      { name: 'not JSON', url, raw: cyclonedx('{"bomFormat": '), status: 400, code: 'SBOM_MALFORMED' },
      {
        name: 'text after the document',
        url,
        raw: cyclonedx('{"bomFormat":"CycloneDX"} {}'),
        status: 400,
        code: 'SBOM_MALFORMED',
      },
      { name: 'JSON array', url, raw: cyclonedx('[]'), status: 400, code: 'SBOM_FORMAT_UNKNOWN' },
      { name: 'JSON string', url, json: 'sbom', status: 400, code: 'SBOM_FORMAT_UNKNOWN' },
      {
        name: 'CycloneDX 1.1',
        url,
        raw: cyclonedx('{"bomFormat":"CycloneDX","specVersion":"1.1"}'),
        status: 400,
        code: 'SBOM_VERSION_UNSUPPORTED',
      },
      {
        name: 'schema-invalid',
        url,
        raw: cyclonedx('{"bomFormat":"CycloneDX","specVersion":"1.6","components":{}}'),
        status: 400,
        code: 'SBOM_INVALID',
      },
      {
        name: 'bytes',
        url,
        raw: { payload: 'x', contentType: 'application/octet-stream' },
        status: 415,
        code: MEDIA,
      },
      {
        name: 'XML',
        url,
        raw: { payload: '<bom/>', contentType: 'application/xml' },
        status: 415,
        code: MEDIA,
      },
      unknownQueryCase(url),
    ];
  },
  'POST /api/v1/releases/{id}/vex': (f) => {
    const url = `/api/v1/releases/${f.releaseId}/vex`;
    const cyclonedx = (payload: string) => ({ payload, contentType: 'application/vnd.cyclonedx+json' });
    const vex = '{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[]}';
    return [
      ...badIdCases((id) => `/api/v1/releases/${id}/vex`).map((c) => ({ ...c, raw: cyclonedx(vex) })),
      {
        name: 'unknown release',
        url: `/api/v1/releases/${unknownId}/vex`,
        raw: cyclonedx(vex),
        status: 404,
        code: 'RELEASE_NOT_FOUND',
      },
      { name: 'release without an SBOM', url, raw: cyclonedx(vex), status: 409, code: 'SBOM_NOT_FOUND' },
      {
        name: 'bytes',
        url,
        raw: { payload: vex, contentType: 'application/octet-stream' },
        status: 415,
        code: MEDIA,
      },
      unknownQueryCase(url),
      {
        name: 'document name too long',
        url: `${url}?name=${'x'.repeat(301)}`,
        raw: cyclonedx(vex),
        status: 400,
        code: INVALID,
      },
    ];
  },
  'POST /api/v1/releases/{id}/approvals': () => {
    const url = `/api/v1/releases/${unknownId}/approvals`;
    return [
      ...badIdCases((id) => `/api/v1/releases/${id}/approvals`).map((c) => ({ ...c, json: {} })),
      { name: 'unknown release', url, json: {}, status: 404, code: 'RELEASE_NOT_FOUND' },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'signer not a key id': { signer: 'alice' },
        'signer wrong type': { signer: 7 },
        'unknown field': { threshold: 0 },
      }),
    ];
  },
  'POST /api/v1/releases/{id}/publish': () => [
    ...badIdCases((id) => `/api/v1/releases/${id}/publish`),
    {
      name: 'unknown release',
      url: `/api/v1/releases/${unknownId}/publish`,
      status: 404,
      code: 'RELEASE_NOT_FOUND',
    },
    ...noBodyCases(`/api/v1/releases/${unknownId}/publish`),
    unknownQueryCase(`/api/v1/releases/${unknownId}/publish`),
    {
      name: 'empty override',
      url: `/api/v1/releases/${unknownId}/publish?override=`,
      status: 400,
      code: INVALID,
    },
    {
      name: 'override too long',
      url: `/api/v1/releases/${unknownId}/publish?override=${'x'.repeat(1001)}`,
      status: 400,
      code: INVALID,
    },
  ],
  'GET /api/v1/products/{id}/tuf': (f) => [
    ...badIdCases((id) => `/api/v1/products/${id}/tuf`),
    {
      name: 'no repository yet',
      url: `/api/v1/products/${f.productId}/tuf`,
      status: 404,
      code: 'TUF_REPOSITORY_NOT_FOUND',
    },
    unknownQueryCase(`/api/v1/products/${f.productId}/tuf`),
  ],
  'POST /api/v1/products/{id}/tuf': (f) => {
    const url = `/api/v1/products/${f.productId}/tuf`;
    return [
      ...badIdCases((id) => `/api/v1/products/${id}/tuf`).map((c) => ({ ...c, json: {} })),
      {
        name: 'unknown product',
        url: `/api/v1/products/${unknownId}/tuf`,
        json: {},
        status: 404,
        code: 'PRODUCT_NOT_FOUND',
      },
      {
        name: 'threshold above the signers',
        url,
        json: { signers: [null], targetsThreshold: 2 },
        status: 400,
        code: 'TUF_THRESHOLD_INVALID',
      },
      {
        name: 'root threshold above the root keys',
        url,
        json: { rootKeys: 1, rootThreshold: 3 },
        status: 400,
        code: 'TUF_THRESHOLD_INVALID',
      },
      {
        name: 'unknown signer principal',
        url,
        json: { signers: [unknownId] },
        status: 400,
        code: 'TUF_SIGNER_UNKNOWN',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'no signers': { signers: [] },
        'zero root keys': { rootKeys: 0 },
        'seventeen root keys': { rootKeys: 17 },
        'signer not a uuid': { signers: ['alice'] },
        'fractional threshold': { targetsThreshold: 1.5 },
        'unknown field': { snapshotKeys: 2 },
      }),
    ];
  },
  'POST /api/v1/products/{id}/tuf/rotate-root': (f) => {
    const url = `/api/v1/products/${f.productId}/tuf/rotate-root`;
    return [
      ...badIdCases((id) => `/api/v1/products/${id}/tuf/rotate-root`).map((c) => ({ ...c, json: {} })),
      { name: 'no repository yet', url, json: {}, status: 404, code: 'TUF_REPOSITORY_NOT_FOUND' },
      {
        name: 'threshold above the keys',
        url,
        json: { keys: 1, threshold: 2 },
        status: 400,
        code: 'TUF_THRESHOLD_INVALID',
      },
      ...bodyShapeCases(url),
      ...fieldCases(url, {
        'zero keys': { keys: 0 },
        'threshold as text': { threshold: '1' },
        'unknown field': { role: 'targets' },
      }),
    ];
  },
  'POST /api/v1/products/{id}/tuf/rotate-online-keys': (f) => [
    ...badIdCases((id) => `/api/v1/products/${id}/tuf/rotate-online-keys`),
    {
      name: 'no repository yet',
      url: `/api/v1/products/${f.productId}/tuf/rotate-online-keys`,
      status: 404,
      code: 'TUF_REPOSITORY_NOT_FOUND',
    },
    ...noBodyCases(`/api/v1/products/${f.productId}/tuf/rotate-online-keys`),
  ],
};

function methodOf(operation: string): string {
  return operation.split(' ')[0] ?? 'GET';
}

async function perform(t: TestPlatform, method: string, c: Case): Promise<ApiResponse> {
  if (c.raw !== undefined)
    return send(t, method, c.url, { payload: c.raw.payload, contentType: c.raw.contentType, token: c.token });
  if (c.json !== undefined)
    return send(t, method, c.url, {
      payload: JSON.stringify(c.json),
      contentType: 'application/json',
      token: c.token,
    });
  return send(t, method, c.url, { token: c.token });
}

/** Sends `c`, expects its refusal, and checks that neither the ledger nor any domain table moved. */
async function expectRefused(t: TestPlatform, method: string, c: Case, label: string): Promise<void> {
  const before = await snapshot(t);
  const response = await perform(t, method, c);
  assertProblem(response, c.status, c.code, `${label}: ${c.name}`);
  assert.equal(await snapshot(t), before, `${label}: ${c.name} changed nothing`);
}

describe('bad input is refused with problem+json and changes nothing', () => {
  let t: TestPlatform;
  let f: Fixtures;

  before(async () => {
    t = await startTestPlatform();
    f = await createFixtures(t);
    await t.platform.ledger.integrate();
  });
  after(async () => t?.close());

  test('the table covers every operation of the OpenAPI document', async () => {
    const documented = await openApiOperations(t);
    assert.ok(documented.length >= 20, `the document lists the API (${documented.length} operations)`);
    const missing = documented.filter((operation) => !(operation in operations));
    assert.deepEqual(missing, [], 'every documented operation has bad-input cases');
    const stale = Object.keys(operations).filter((operation) => !documented.includes(operation));
    assert.deepEqual(stale, [], 'every row of the table is a documented operation');
  });

  for (const [operation, casesOf] of Object.entries(operations)) {
    test(operation, async () => {
      const cases = casesOf(f, t);
      assert.ok(cases.length > 0);
      for (const c of cases) await expectRefused(t, methodOf(operation), c, operation);
    });
  }

  test('every write operation refuses a body over its limit (256 KiB; bulk registration and reference values 4 MiB) with 413 REQUEST_TOO_LARGE', async () => {
    const documented = await openApiOperations(t);
    const writes = documented.filter((operation) => !operation.startsWith('GET '));
    assert.ok(writes.length >= 9, writes.join(', '));
    // Bulk registration takes up to 1,000 devices with their IDevID chains: 4 MiB.
    const limits: Record<string, number> = {
      'POST /api/v1/devices/bulk': 4 * 1024 * 1024,
      'POST /api/v1/attestation/reference-values': 4 * 1024 * 1024,
      // SBOMs of large products run to megabytes (kept as sent).
      'POST /api/v1/releases/{id}/sbom': 32 * 1024 * 1024,
      // Advisory feeds: a whole ecosystem's OSV JSON-lines.
      'POST /api/v1/vulns/advisories': 64 * 1024 * 1024,
      // VEX documents of a whole product line.
      'POST /api/v1/releases/{id}/vex': 16 * 1024 * 1024,
    };
    // Artifacts are streamed, not read as JSON: their cap (VIGIL_ARTIFACT_MAX_BYTES, 4 GiB) is
    // the artifact store's, tested with the store (test/updates/artifacts.test.ts).
    const streamed = new Set(['POST /api/v1/releases/{id}/artifacts']);
    for (const operation of writes.filter((write) => !streamed.has(write))) {
      const limit = limits[operation] ?? 256 * 1024;
      const big = JSON.stringify({ name: 'x'.repeat(limit + 1) });
      const justUnder = JSON.stringify({ name: 'x'.repeat(limit - 20) });
      assert.ok(Buffer.byteLength(justUnder) <= limit);
      const [method = 'POST', template = ''] = operation.split(' ');
      const url = template
        .replace(
          '{id}',
          template.startsWith('/api/v1/tokens')
            ? f.tokenId
            : template.startsWith('/api/v1/products')
              ? f.productId
              : template.startsWith('/api/v1/devices')
                ? f.deviceId
                : ['/api/v1/attestations', '/api/v1/releases', '/api/v1/rollouts'].some((prefix) =>
                      template.startsWith(prefix),
                    )
                  ? unknownId
                  : f.principalId,
        )
        .replace('{serial}', '0abc')
        .replace('{role}', 'product-manager')
        .replace('{stage}', 'identity')
        .replace('{report}', 'notification');
      await expectRefused(
        t,
        method,
        {
          name: 'oversized body',
          url,
          raw: { payload: big, contentType: 'application/json' },
          status: 413,
          code: 'REQUEST_TOO_LARGE',
        },
        operation,
      );
      // Just under the limit is read (and then refused by the schema or as an unexpected body), not 413.
      const under = await send(t, method, url, { payload: justUnder, contentType: 'application/json' });
      assert.notEqual(under.status, 413, `${operation}: a body just under the limit is read`);
      assert.ok(under.status < 500, `${operation}: ${under.status}`);
    }
  });

  test('an oversized body is refused even with an unknown content-type, and without reading it as JSON', async () => {
    const before = await snapshot(t);
    const response = await send(t, 'POST', '/api/v1/products', {
      payload: 'x'.repeat(300 * 1024),
      contentType: 'application/json',
    });
    assertProblem(response, 413, 'REQUEST_TOO_LARGE');
    const other = await send(t, 'POST', '/api/v1/products', {
      payload: 'x'.repeat(300 * 1024),
      contentType: 'application/octet-stream',
    });
    assertProblem(other, [413, 415], ['REQUEST_TOO_LARGE', MEDIA]);
    assert.equal(await snapshot(t), before);
  });

  test('an unknown route is 404 ROUTE_NOT_FOUND problem+json', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/nothing-here'],
      ['POST', '/api/v1/products/extra/segments/here'],
      ['GET', '/api/v2/products'],
      ['PUT', '/api/v1/products'],
      ['GET', '/'],
    ] as const) {
      const before = await snapshot(t);
      const response = await send(
        t,
        method,
        url,
        method === 'GET' ? {} : { payload: '{}', contentType: 'application/json' },
      );
      assertProblem(response, 404, 'ROUTE_NOT_FOUND', `${method} ${url}`);
      assert.equal(await snapshot(t), before);
    }
  });
});

describe('domain-level refusals change nothing', () => {
  let t: TestPlatform;
  let f: Fixtures;
  let auditorId: string;
  /** A token of the admin principal holding only tokens:write and products:read. */
  let narrowToken: string;

  before(async () => {
    t = await startTestPlatform();
    f = await createFixtures(t);
    const auditor = await t.call('POST', '/api/v1/principals', {
      kind: 'person',
      name: 'Audrey Auditor',
      roles: ['auditor'],
    });
    assert.equal(auditor.status, 201, auditor.text);
    auditorId = auditor.json.id;
    const narrow = await t.call('POST', '/api/v1/tokens', {
      name: 'narrow',
      scopes: ['tokens:write', 'products:read'],
      expiresAt: inDays(t, 30),
    });
    assert.equal(narrow.status, 201, narrow.text);
    narrowToken = narrow.json.token;
    const second = await t.call('POST', '/api/v1/products', validProduct('Second Wearable'));
    assert.equal(second.status, 201, second.text);
  });
  after(async () => t?.close());

  const refuse = async (method: string, c: Case) => expectRefused(t, method, c, 'domain');

  test('a product whose support ends before (or when) it starts', async () => {
    for (const [supportStart, supportEnd] of [
      ['2030-01-01', '2029-12-31'],
      ['2030-01-01', '2030-01-01'],
    ]) {
      await refuse('POST', {
        name: `support ${supportStart}..${supportEnd}`,
        url: '/api/v1/products',
        json: validProduct('Backwards', { regimes: ['MDR'], supportStart, supportEnd }),
        status: 400,
        code: 'PRODUCT_SUPPORT_PERIOD_INVALID',
      });
    }
    await refuse('PATCH', {
      name: 'patch supportEnd before supportStart',
      url: `/api/v1/products/${f.productId}`,
      json: { supportEnd: '2025-06-01' },
      status: 400,
      code: 'PRODUCT_SUPPORT_PERIOD_INVALID',
    });
  });

  test('a date that is not on the calendar', async () => {
    await refuse('POST', {
      name: 'February 30th',
      url: '/api/v1/products',
      json: validProduct('Impossible Date', { supportStart: '2026-02-30' }),
      status: 400,
      code: ['PRODUCT_DATE_INVALID', INVALID],
    });
  });

  test('a CRA product with under five years of support and no expected-use justification', async () => {
    const short = validProduct('Short Lived', {
      regimes: ['CRA'],
      supportStart: '2026-01-01',
      supportEnd: '2030-12-31',
    });
    await refuse('POST', {
      name: 'no justification',
      url: '/api/v1/products',
      json: short,
      status: 400,
      code: 'PRODUCT_SUPPORT_PERIOD_TOO_SHORT',
    });
    await refuse('POST', {
      name: 'null justification',
      url: '/api/v1/products',
      json: { ...short, expectedUseJustification: null },
      status: 400,
      code: 'PRODUCT_SUPPORT_PERIOD_TOO_SHORT',
    });
    await refuse('POST', {
      name: 'blank justification',
      url: '/api/v1/products',
      json: { ...short, expectedUseJustification: '   ' },
      status: 400,
      code: 'PRODUCT_SUPPORT_PERIOD_TOO_SHORT',
    });
    await refuse('PATCH', {
      name: 'patch shortens a CRA product below five years',
      url: `/api/v1/products/${f.productId}`,
      json: { supportEnd: '2029-01-01' },
      status: 400,
      code: 'PRODUCT_SUPPORT_PERIOD_TOO_SHORT',
    });
    // The rule is the CRA's: the same period is fine without CRA, or with a documented expected use.
    const mdr = await t.call('POST', '/api/v1/products', { ...short, name: 'Short MDR', regimes: ['MDR'] });
    assert.equal(mdr.status, 201, mdr.text);
    const justified = await t.call('POST', '/api/v1/products', {
      ...short,
      name: 'Short Justified',
      expectedUseJustification: 'Single-use sensor, four-year shelf life.',
    });
    assert.equal(justified.status, 201, justified.text);
  });

  test('a duplicate product name is 409', async () => {
    await refuse('POST', {
      name: 'same name',
      url: '/api/v1/products',
      json: validProduct(f.productName),
      status: 409,
      code: 'PRODUCT_NAME_TAKEN',
    });
    await refuse('PATCH', {
      name: 'rename onto another product',
      url: `/api/v1/products/${f.productId}`,
      json: { name: 'Second Wearable' },
      status: 409,
      code: 'PRODUCT_NAME_TAKEN',
    });
  });

  test('a duplicate principal name is 409', async () => {
    await refuse('POST', {
      name: 'same principal',
      url: '/api/v1/principals',
      json: { kind: 'service', name: f.principalName },
      status: 409,
      code: 'ACCESS_PRINCIPAL_EXISTS',
    });
  });

  test('a token with an unknown scope', async () => {
    for (const scope of [
      'products:delete',
      'reactors:admin',
      'products',
      'PRODUCTS:READ',
      'products:read ',
    ]) {
      await refuse('POST', {
        name: `scope ${scope}`,
        url: '/api/v1/tokens',
        json: { name: 'bad scope', scopes: [scope], expiresAt: inDays(t, 7) },
        status: 400,
        code: [INVALID, 'ACCESS_SCOPE_INVALID'],
      });
    }
  });

  test('a token that expires in the past', async () => {
    await refuse('POST', {
      name: 'expired at birth',
      url: '/api/v1/tokens',
      json: { name: 'stale', scopes: ['products:read'], expiresAt: '2020-01-01T00:00:00Z' },
      status: 400,
      code: 'ACCESS_EXPIRY_INVALID',
    });
  });

  test("a token with scopes beyond the principal's roles", async () => {
    await refuse('POST', {
      name: 'auditor token with products:write',
      url: '/api/v1/tokens',
      json: {
        name: 'escalate',
        scopes: ['products:read', 'products:write'],
        expiresAt: inDays(t, 7),
        principalId: auditorId,
      },
      status: 403,
      code: 'ACCESS_SCOPE_ESCALATION',
    });
    await refuse('POST', {
      name: 'product manager token with tokens:admin',
      url: '/api/v1/tokens',
      json: {
        name: 'escalate',
        scopes: ['tokens:admin'],
        expiresAt: inDays(t, 7),
        principalId: f.principalId,
      },
      status: 403,
      code: 'ACCESS_SCOPE_ESCALATION',
    });
    // Within the roles it is granted (positive control).
    const ok = await t.call('POST', '/api/v1/tokens', {
      name: 'audit',
      scopes: ['products:read'],
      expiresAt: inDays(t, 7),
      principalId: auditorId,
    });
    assert.equal(ok.status, 201, ok.text);
  });

  test('a token wider than the calling token, or for another principal without tokens:admin', async () => {
    await refuse('POST', {
      name: 'wider than the caller',
      url: '/api/v1/tokens',
      token: narrowToken,
      json: { name: 'wider', scopes: ['products:write'], expiresAt: inDays(t, 7) },
      status: 403,
      code: 'ACCESS_SCOPE_ESCALATION',
    });
    await refuse('POST', {
      name: 'for another principal',
      url: '/api/v1/tokens',
      token: narrowToken,
      json: { name: 'theirs', scopes: ['products:read'], expiresAt: inDays(t, 7), principalId: auditorId },
      status: 403,
      code: 'ACCESS_SCOPE_MISSING',
    });
  });

  test('the ledger still verifies after all the refusals', async () => {
    await t.platform.ledger.integrate();
    const result = await verifyStoredLog(t.platform.store, t.platform.ledger.verifierKey);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.ok((await ledgerSize(t)) > 0);
  });
});
