import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf, callerOf } from '../access/index.ts';
import { IdParams, PageQuery, bearerSecurity, withErrors } from '../core/index.ts';
import type { Attestation } from './attestation.ts';
import { AppraisalPolicySchema, Base64, ReferenceValuesSchema, TrustStatusSchema } from './schemas.ts';

const Finding = Type.Object({
  check: Type.String(),
  outcome: Type.Union([
    Type.Literal('pass'),
    Type.Literal('warning'),
    Type.Literal('failure'),
    Type.Literal('info'),
  ]),
  detail: Type.String(),
});

const TrustVector = Type.Record(Type.String(), Type.Integer({ minimum: -128, maximum: 127 }), {
  description: 'AR4SI trustworthiness vector (draft-ietf-rats-ar4si §2.3)',
});

const AttestationRecord = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  format: Type.String(),
  status: TrustStatusSchema,
  secureBoot: Type.Union([Type.Literal('enabled'), Type.Literal('disabled'), Type.Literal('unknown')]),
  measuredRelease: Type.Union([Type.String(), Type.Null()]),
  trustVector: TrustVector,
  findings: Type.Array(Finding),
  rebooted: Type.Union([Type.Boolean(), Type.Null()]),
  tpmClock: Type.Union([
    Type.Object({ resetCount: Type.Integer(), restartCount: Type.Integer() }),
    Type.Null(),
  ]),
  receivedAt: Type.String({ format: 'date-time' }),
  nonce: Type.String({ description: 'base64' }),
  verifierVersion: Type.String(),
  policy: Type.Object({ id: Type.String(), version: Type.Integer() }),
  referenceValues: Type.Array(
    Type.Object({
      id: Type.String(),
      release: Type.Union([Type.String(), Type.Null()]),
      version: Type.Integer(),
    }),
  ),
  evidenceDigest: Type.String({
    description:
      'SHA-256 (hex) of the stored evidence as canonical JSON, its event log named by `sha256:<hex>` of its bytes',
  }),
  recordDigest: Type.String({ description: 'SHA-256 (hex) of the record, as the ledger holds it' }),
  ear: Type.String({ description: 'EAT Attestation Result (draft-ietf-rats-ear) as an ES256 JWT' }),
  ledger: Type.Union([
    Type.Object({
      index: Type.Integer(),
      inclusionProof: Type.Union([
        Type.Object({
          treeSize: Type.Integer(),
          hashes: Type.Array(Type.String(), { description: 'RFC 9162 audit path, base64' }),
        }),
        Type.Null(),
      ]),
    }),
    Type.Null(),
  ]),
});

const ReferenceValueSet = Type.Object({
  id: Type.String(),
  productId: Type.String(),
  hardwareRevision: Type.String(),
  release: Type.Union([Type.String(), Type.Null()]),
  version: Type.Integer(),
  source: Type.Union([Type.Literal('upload'), Type.Literal('event-log')]),
  createdAt: Type.String({ format: 'date-time' }),
  values: ReferenceValuesSchema,
});

const Policy = Type.Object({
  id: Type.String({ description: 'URI naming this policy version in results' }),
  productId: Type.Union([Type.String(), Type.Null()]),
  version: Type.Integer({ description: '0 is the built-in default' }),
  createdAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  policy: AppraisalPolicySchema,
});

const AttestationKey = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  kind: Type.Union([Type.Literal('tpm2'), Type.Literal('dice')]),
  method: Type.Union([Type.Literal('activate-credential'), Type.Literal('factory')]),
  akName: Type.Union([Type.String(), Type.Null()]),
  endorsement: Type.Union(
    [Type.Literal('ek-certificate'), Type.Literal('factory'), Type.Literal('first-use')],
    {
      description:
        "What vouches for the key: a TPM manufacturer's EK certificate (VIGIL_TPM_EK_ROOTS), the factory, or only its first use",
    },
  ),
  publicKey: Type.String({ description: 'SubjectPublicKeyInfo PEM' }),
  boundAt: Type.String({ format: 'date-time' }),
  retiredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/** Reference-value uploads may list thousands of components. */
const referenceValuesBodyLimit = 4 * 1024 * 1024;

/** The attestation part of the admin API. */
export function attestationRoutes(attestation: Attestation): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/devices/:id/attestations',
      {
        config: { scope: 'attestations:read' },
        schema: {
          tags: ['attestation'],
          summary:
            "A device's attestation history, newest first, each with its EAR and ledger inclusion proof",
          security: bearerSecurity,
          params: IdParams,
          querystring: PageQuery,
          response: withErrors({
            200: Type.Object({
              attestations: Type.Array(AttestationRecord),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
          }),
        },
      },
      async (request) =>
        attestation.service.history(request.params.id, {
          limit: request.query.limit ?? 100,
          cursor: request.query.cursor,
        }),
    );

    app.get(
      '/api/v1/attestations/:id',
      {
        config: { scope: 'attestations:read' },
        schema: {
          tags: ['attestation'],
          summary: 'One attestation record with the raw evidence the device sent',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({
            200: Type.Intersect([AttestationRecord, Type.Object({ evidence: Type.Unknown() })]),
          }),
        },
      },
      async (request) => attestation.service.get(request.params.id),
    );

    app.post(
      '/api/v1/attestations/:id/reappraise',
      {
        config: { scope: 'attestations:read' },
        schema: {
          tags: ['attestation'],
          summary:
            'Appraise an archived record again at its own time (keys, policy and reference values it cites) and compare',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({
            200: Type.Object({
              attestationId: Type.String(),
              matches: Type.Boolean(),
              recordIntact: Type.Boolean({
                description:
                  'The stored record still hashes to the digest its ledger entry holds, and its EAR verifies',
              }),
              recorded: Type.Object({ status: Type.String(), trustVector: TrustVector }),
              reappraised: Type.Object({
                status: Type.String(),
                trustVector: TrustVector,
                findings: Type.Array(Finding),
              }),
            }),
          }),
        },
      },
      async (request) => attestation.service.reappraise(request.params.id),
    );

    app.get(
      '/api/v1/attestation/ear-keys',
      {
        schema: {
          tags: ['attestation'],
          summary: 'The public keys that verify EARs, as a JWK Set (RFC 7517); public',
          response: {
            200: Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }),
            400: withErrors({})[400],
          },
        },
      },
      async (_request, reply) =>
        reply.header('cache-control', 'public, max-age=300').send(await attestation.earKeys.jwks()),
    );

    app.post(
      '/api/v1/devices/:id/attestation-keys',
      {
        config: { scope: 'attestations:write' },
        schema: {
          tags: ['attestation'],
          summary:
            'Register an attestation key at the factory: a TPM AK public area, or a DICE DeviceID certificate',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Union([
            Type.Object(
              {
                kind: Type.Literal('tpm2'),
                akPublic: Base64(2048, 'TPM2B_PUBLIC as tpm2_createak -u writes it, base64', 4),
              },
              { additionalProperties: false },
            ),
            Type.Object(
              {
                kind: Type.Literal('dice'),
                deviceIdCertificate: Type.String({
                  minLength: 40,
                  maxLength: 16_384,
                  pattern: '^-----BEGIN CERTIFICATE-----',
                }),
              },
              { additionalProperties: false },
            ),
          ]),
          response: withErrors({ 201: AttestationKey }),
        },
      },
      async (request, reply) => {
        const body = request.body;
        const key = await attestation.keys.register(
          actorOf(callerOf(request)),
          request.params.id,
          body.kind === 'tpm2'
            ? { kind: 'tpm2', akPublic: Buffer.from(body.akPublic, 'base64') }
            : { kind: 'dice', deviceIdCertificate: body.deviceIdCertificate },
        );
        return reply.code(201).send(key);
      },
    );

    app.get(
      '/api/v1/devices/:id/attestation-keys',
      {
        config: { scope: 'attestations:read' },
        schema: {
          tags: ['attestation'],
          summary: "A device's attestation keys, bound or registered, newest first",
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: Type.Object({ keys: Type.Array(AttestationKey) }) }),
        },
      },
      async (request) => ({ keys: await attestation.keys.list(request.params.id) }),
    );

    app.post(
      '/api/v1/attestation/reference-values',
      {
        config: { scope: 'attestations:write' },
        bodyLimit: referenceValuesBodyLimit,
        schema: {
          tags: ['attestation'],
          summary:
            'Add reference values for a product, hardware revision and (optionally) release: a new version',
          security: bearerSecurity,
          body: Type.Object(
            {
              productId: Type.String({ format: 'uuid' }),
              hardwareRevision: Type.String({ minLength: 1, maxLength: 100 }),
              release: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
              source: Type.Optional(Type.Union([Type.Literal('upload'), Type.Literal('event-log')])),
              values: ReferenceValuesSchema,
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: ReferenceValueSet }),
        },
      },
      async (request, reply) => {
        const { productId, hardwareRevision, release, values, source } = request.body;
        const stored = await attestation.referenceValues.add(actorOf(callerOf(request)), {
          productId,
          hardwareRevision,
          release,
          values,
          source: source ?? 'upload',
        });
        return reply.code(201).send(stored);
      },
    );

    app.get(
      '/api/v1/attestation/reference-values',
      {
        config: { scope: 'attestations:read' },
        schema: {
          tags: ['attestation'],
          summary: 'Reference values of a product (every version), newest first',
          security: bearerSecurity,
          querystring: Type.Object(
            {
              productId: Type.String({ format: 'uuid' }),
              hardwareRevision: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: Type.Object({ referenceValues: Type.Array(ReferenceValueSet) }) }),
        },
      },
      async (request) => ({
        referenceValues: await attestation.referenceValues.list({
          productId: request.query.productId,
          hardwareRevision: request.query.hardwareRevision,
        }),
      }),
    );

    app.post(
      '/api/v1/attestation/policies',
      {
        config: { scope: 'attestations:admin' },
        schema: {
          tags: ['attestation'],
          summary: "Set a product's appraisal policy: a new version, in force from now on",
          security: bearerSecurity,
          body: Type.Object(
            { productId: Type.String({ format: 'uuid' }), policy: AppraisalPolicySchema },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: Policy }),
        },
      },
      async (request, reply) => {
        const stored = await attestation.policies.set(
          actorOf(callerOf(request)),
          request.body.productId,
          request.body.policy,
        );
        return reply.code(201).send(stored);
      },
    );

    app.get(
      '/api/v1/attestation/policies',
      {
        config: { scope: 'attestations:read' },
        schema: {
          tags: ['attestation'],
          summary:
            "A product's appraisal policy versions, newest first; the first is in force (the default when none)",
          security: bearerSecurity,
          querystring: Type.Object(
            { productId: Type.String({ format: 'uuid' }) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: Type.Object({ policies: Type.Array(Policy) }) }),
        },
      },
      async (request) => {
        const history = await attestation.policies.history(request.query.productId);
        if (history.length > 0) return { policies: history };
        return {
          policies: [await attestation.policies.inForce(request.query.productId, '9999-12-31T23:59:59Z')],
        };
      },
    );
  };
}
