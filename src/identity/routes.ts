import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf, callerOf } from '../access/index.ts';
import { IdParams, PageQuery, VigilError, bearerSecurity, withErrors } from '../core/index.ts';
import type { ProductService } from '../products/index.ts';
import { serialPattern } from './devices.ts';
import { keyAlgorithms } from './profiles.ts';
import type { Authority as AuthorityRecord } from './authorities.ts';
import type { Identity } from './identity.ts';
import { revocationReasons } from './revocation.ts';
import { certificateToPem } from './x509/index.ts';

const Algorithm = Type.Union(keyAlgorithms.map((algorithm) => Type.Literal(algorithm)));
const Reason = Type.Union(revocationReasons.map((reason) => Type.Literal(reason)));
const Pem = Type.String({ minLength: 40, maxLength: 16_384, pattern: '^-----BEGIN CERTIFICATE-----' });

const Bootstrap = Type.Union([
  Type.Object(
    {
      method: Type.Literal('secret'),
      expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { method: Type.Literal('idevid'), chain: Type.Array(Pem, { minItems: 1, maxItems: 8 }) },
    { additionalProperties: false },
  ),
]);

const Registration = Type.Object(
  {
    serial: Type.String({ pattern: serialPattern, maxLength: 64 }),
    productId: Type.String({ format: 'uuid' }),
    hardwareRevision: Type.String({ minLength: 1, maxLength: 100 }),
    bootstrap: Bootstrap,
  },
  { additionalProperties: false },
);

const TrustStatus = Type.Union([
  Type.Literal('affirming'),
  Type.Literal('warning'),
  Type.Literal('contraindicated'),
  Type.Literal('none'),
]);

const Device = Type.Object({
  id: Type.String(),
  serial: Type.String(),
  productId: Type.String(),
  hardwareRevision: Type.String(),
  status: Type.Union([
    Type.Literal('registered'),
    Type.Literal('enrolled'),
    Type.Literal('revoked'),
    Type.Literal('decommissioned'),
  ]),
  bootstrapMethod: Type.Union([Type.Literal('secret'), Type.Literal('idevid')]),
  registeredAt: Type.String({ format: 'date-time' }),
  enrolledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revocationReason: Type.Union([Type.String(), Type.Null()]),
  decommissionedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  wipeConfirmation: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  trust: Type.Union(
    [
      Type.Object({
        status: TrustStatus,
        appraisedAt: Type.String({ format: 'date-time' }),
        secureBoot: Type.Union([Type.Literal('enabled'), Type.Literal('disabled'), Type.Literal('unknown')]),
        measuredRelease: Type.Union([Type.String(), Type.Null()]),
        attestationId: Type.String(),
      }),
      Type.Null(),
    ],
    { description: 'The latest attestation appraisal; null until the device attests' },
  ),
  quarantine: Type.Union([
    Type.Object({ at: Type.String({ format: 'date-time' }), reason: Type.String() }),
    Type.Null(),
  ]),
});

const QuarantineBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);

const WipeConfirmation = Type.Object(
  {
    confirmedBy: Type.Union([Type.Literal('device'), Type.Literal('operator')]),
    method: Type.String({ minLength: 1, maxLength: 200 }),
    at: Type.Optional(Type.String({ format: 'date-time' })),
    evidence: Type.Optional(Type.String({ maxLength: 4000 })),
  },
  { additionalProperties: false },
);

const RegistrationResult = Type.Object({
  serial: Type.String(),
  outcome: Type.Union([Type.Literal('created'), Type.Literal('existing'), Type.Literal('rejected')]),
  id: Type.Optional(Type.String()),
  enrollmentSecret: Type.Optional(
    Type.String({ description: 'Returned once, at creation; stored only as a hash.' }),
  ),
  error: Type.Optional(Type.Object({ code: Type.String(), detail: Type.String() })),
});

const Authority = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  productId: Type.Union([Type.String(), Type.Null()]),
  parentId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  algorithm: Algorithm,
  serial: Type.String(),
  notBefore: Type.String({ format: 'date-time' }),
  notAfter: Type.String({ format: 'date-time' }),
  status: Type.String(),
  certificate: Type.String({ description: 'PEM' }),
});

const Profile = Type.Object({
  validityDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  keyTypes: Type.Array(Algorithm, { minItems: 1, uniqueItems: true }),
  renewalWindowDays: Type.Integer({ minimum: 0, maximum: 3649 }),
  enrollmentSecretDays: Type.Integer({ minimum: 1, maximum: 365 }),
});

function authorityView(authority: AuthorityRecord) {
  return { ...authority, certificate: certificateToPem(authority.certificate) };
}

/** Parses `30d`, `12h` or `90m` (the expiry watch's `within`). */
function parseWithin(value: string): number {
  const match = /^(\d{1,5})([dhm])$/.exec(value);
  if (match === null)
    throw new VigilError('IDENTITY_WITHIN_INVALID', 'invalid', 'within must look like 30d, 12h or 90m');
  return Number(match[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as 'd' | 'h' | 'm'];
}

export function identityRoutes(identity: Identity, products: ProductService): FastifyPluginAsyncTypebox {
  const { authorities, devices, evidence, profiles } = identity;
  return async (app) => {
    app.get(
      '/api/v1/cas',
      {
        config: { scope: 'certificates:read' },
        schema: {
          tags: ['identity'],
          summary: 'The root and issuing CAs',
          security: bearerSecurity,
          response: withErrors({ 200: Type.Object({ cas: Type.Array(Authority) }) }),
        },
      },
      async () => ({ cas: (await authorities.list()).map(authorityView) }),
    );

    const issuingCaRoutes = [
      {
        url: '/api/v1/products/:id/ca',
        summary: "Create the product's issuing CA under the installation root",
        make: identity.createIssuingCa.bind(identity),
      },
      {
        url: '/api/v1/products/:id/ca/rotate',
        summary:
          'Introduce a new issuing CA; the old one keeps validating its certificates until they expire',
        make: identity.rotateIssuingCa.bind(identity),
      },
    ];
    for (const route of issuingCaRoutes) {
      app.post(
        route.url,
        {
          config: { scope: 'certificates:admin' },
          schema: {
            tags: ['identity'],
            summary: route.summary,
            security: bearerSecurity,
            params: IdParams,
            body: Type.Object({ algorithm: Type.Optional(Algorithm) }, { additionalProperties: false }),
            response: withErrors({ 201: Authority }),
          },
        },
        async (request, reply) => {
          const product = await products.get(request.params.id);
          const created = await route.make(actorOf(callerOf(request)), product, request.body.algorithm);
          return reply.code(201).send(authorityView(created));
        },
      );
    }

    app.get(
      '/api/v1/products/:id/certificate-profile',
      {
        config: { scope: 'certificates:read' },
        schema: {
          tags: ['identity'],
          summary: "The product's device certificate profile",
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: Type.Intersect([Profile, Type.Object({ version: Type.Integer() })]) }),
        },
      },
      async (request) => {
        await products.get(request.params.id);
        return profiles.get(request.params.id);
      },
    );

    app.patch(
      '/api/v1/products/:id/certificate-profile',
      {
        config: { scope: 'certificates:admin' },
        schema: {
          tags: ['identity'],
          summary: "Change the product's device certificate profile (a new version)",
          security: bearerSecurity,
          params: IdParams,
          body: Type.Partial(Profile, { additionalProperties: false, minProperties: 1 }),
          response: withErrors({ 200: Type.Intersect([Profile, Type.Object({ version: Type.Integer() })]) }),
        },
      },
      async (request) => profiles.set(actorOf(callerOf(request)), request.params.id, request.body),
    );

    app.post(
      '/api/v1/devices',
      {
        config: { scope: 'devices:write' },
        schema: {
          tags: ['identity'],
          summary: 'Register a device at the factory; the secret method answers a one-time enrollment secret',
          security: bearerSecurity,
          body: Registration,
          response: withErrors({
            201: Type.Intersect([Device, Type.Object({ enrollmentSecret: Type.Optional(Type.String()) })]),
            200: Device,
          }),
        },
      },
      async (request, reply) => {
        const result = await devices.register(actorOf(callerOf(request)), request.body);
        if (result.outcome === 'existing') return reply.code(200).send(result.device!);
        return reply.code(201).send({
          ...result.device!,
          ...(result.enrollmentSecret === undefined ? {} : { enrollmentSecret: result.enrollmentSecret }),
        });
      },
    );

    app.post(
      '/api/v1/devices/bulk',
      {
        config: { scope: 'devices:write' },
        bodyLimit: 4 * 1024 * 1024,
        schema: {
          tags: ['identity'],
          summary:
            'Register up to 1,000 devices; idempotent (an identical re-registration is reported as existing)',
          security: bearerSecurity,
          body: Type.Object(
            { devices: Type.Array(Registration, { minItems: 1, maxItems: 1000 }) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: Type.Object({ results: Type.Array(RegistrationResult) }) }),
        },
      },
      async (request) => ({
        results: (await devices.registerMany(actorOf(callerOf(request)), request.body.devices)).map(
          (result) => ({
            serial: result.serial,
            outcome: result.outcome,
            ...(result.device === undefined ? {} : { id: result.device.id }),
            ...(result.enrollmentSecret === undefined ? {} : { enrollmentSecret: result.enrollmentSecret }),
            ...(result.error === undefined ? {} : { error: result.error }),
          }),
        ),
      }),
    );

    app.get(
      '/api/v1/devices',
      {
        config: { scope: 'devices:read' },
        schema: {
          tags: ['identity'],
          summary: 'List devices',
          security: bearerSecurity,
          querystring: Type.Object(
            {
              ...PageQuery.properties,
              productId: Type.Optional(Type.String({ format: 'uuid' })),
              status: Type.Optional(
                Type.Union([
                  Type.Literal('registered'),
                  Type.Literal('enrolled'),
                  Type.Literal('revoked'),
                  Type.Literal('decommissioned'),
                ]),
              ),
              trust: Type.Optional(
                Type.Union([TrustStatus, Type.Literal('unattested')], {
                  description: 'Only devices whose latest appraisal has this status (or none yet)',
                }),
              ),
              quarantined: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          response: withErrors({
            200: Type.Object({
              devices: Type.Array(Device),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
          }),
        },
      },
      async (request) =>
        devices.list({
          limit: request.query.limit ?? 100,
          cursor: request.query.cursor,
          productId: request.query.productId,
          status: request.query.status,
          trust: request.query.trust,
          quarantined: request.query.quarantined,
        }),
    );

    app.get(
      '/api/v1/devices/:id',
      {
        config: { scope: 'devices:read' },
        schema: {
          tags: ['identity'],
          summary: 'Show a device',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: Device }),
        },
      },
      async (request) => devices.get(request.params.id),
    );

    app.post(
      '/api/v1/devices/:id/revoke',
      {
        config: { scope: 'devices:admin' },
        schema: {
          tags: ['identity'],
          summary: 'Revoke a device and all its certificates with an RFC 5280 reason',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object({ reason: Reason }, { additionalProperties: false }),
          response: withErrors({ 200: Device }),
        },
      },
      async (request) => devices.revoke(actorOf(callerOf(request)), request.params.id, request.body.reason),
    );

    app.post(
      '/api/v1/devices/:id/decommission',
      {
        config: { scope: 'devices:admin' },
        // The body is optional: a device retired before its wipe is confirmed gets the confirmation later.
        preValidation: async (request) => {
          if (request.body === undefined) request.body = {};
        },
        schema: {
          tags: ['identity'],
          summary:
            'Retire a device: revoke its certificates and record the wipe confirmation (CRA Annex I Part I (2)(m)); without one the wipe stays pending',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object(
            { wipeConfirmation: Type.Optional(WipeConfirmation) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: Device }),
        },
      },
      async (request) =>
        devices.decommission(actorOf(callerOf(request)), request.params.id, request.body.wipeConfirmation),
    );

    // Quarantine and its release: the same shape, a reason recorded in the ledger either way.
    for (const [path, summary, change] of [
      [
        '/api/v1/devices/:id/quarantine',
        'Quarantine a device: the device endpoint then serves it only attestation and update routes',
        devices.quarantine.bind(devices),
      ],
      [
        '/api/v1/devices/:id/quarantine/release',
        'Release a device from quarantine',
        devices.releaseQuarantine.bind(devices),
      ],
    ] as const) {
      app.post(
        path,
        {
          config: { scope: 'devices:admin' },
          schema: {
            tags: ['identity'],
            summary,
            security: bearerSecurity,
            params: IdParams,
            body: QuarantineBody,
            response: withErrors({ 200: Device }),
          },
        },
        async (request) => change(actorOf(callerOf(request)), request.params.id, request.body.reason),
      );
    }

    app.post(
      '/api/v1/devices/:id/wipe-confirmation',
      {
        config: { scope: 'devices:admin' },
        schema: {
          tags: ['identity'],
          summary: 'Record the wipe confirmation of a device decommissioned while it was pending',
          security: bearerSecurity,
          params: IdParams,
          body: WipeConfirmation,
          response: withErrors({ 200: Device }),
        },
      },
      async (request) => devices.confirmWipe(actorOf(callerOf(request)), request.params.id, request.body),
    );

    app.get(
      '/api/v1/devices/:id/identity',
      {
        config: { scope: 'devices:read' },
        schema: {
          tags: ['identity'],
          summary:
            "The device's identity evidence: certificates, chains, bootstrap, revocation, each event with its ledger inclusion proof",
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: Type.Object({}, { additionalProperties: true }) }),
        },
      },
      async (request) => evidence.identity(request.params.id),
    );

    app.post(
      '/api/v1/certificates/:serial/revoke',
      {
        config: { scope: 'certificates:write' },
        schema: {
          tags: ['identity'],
          summary: 'Revoke one device certificate with an RFC 5280 reason',
          security: bearerSecurity,
          params: Type.Object(
            { serial: Type.String({ pattern: '^[0-9a-f]{2,40}$' }) },
            { additionalProperties: false },
          ),
          body: Type.Object({ reason: Reason }, { additionalProperties: false }),
          response: withErrors({
            200: Type.Object({ serial: Type.String(), status: Type.Literal('revoked'), reason: Reason }),
          }),
        },
      },
      async (request) => {
        await devices.revokeCertificate(
          actorOf(callerOf(request)),
          request.params.serial,
          request.body.reason,
        );
        return { serial: request.params.serial, status: 'revoked' as const, reason: request.body.reason };
      },
    );

    app.get(
      '/api/v1/identity/expiring',
      {
        config: { scope: 'certificates:read' },
        schema: {
          tags: ['identity'],
          summary: 'Valid device certificates expiring within a period (e.g. within=30d), soonest first',
          security: bearerSecurity,
          querystring: Type.Object(
            { within: Type.String({ pattern: '^\\d{1,5}[dhm]$', default: '30d' }) },
            { additionalProperties: false },
          ),
          response: withErrors({
            200: Type.Object({
              certificates: Type.Array(
                Type.Object({
                  deviceId: Type.String(),
                  serial: Type.String(),
                  deviceSerial: Type.String(),
                  productId: Type.String(),
                  notAfter: Type.String(),
                  renewFrom: Type.String(),
                }),
              ),
            }),
          }),
        },
      },
      async (request) => ({ certificates: await evidence.expiring(parseWithin(request.query.within)) }),
    );
  };
}
