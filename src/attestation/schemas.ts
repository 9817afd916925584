/** The JSON shapes of reference values and appraisal policies, shared by routes, store and CLI. */
import { Type } from '@sinclair/typebox';

/** Standard base64 (RFC 4648 §4) of binary evidence and keys, at most `maxLength` characters. */
export const Base64 = (maxLength: number, description?: string, minLength = 1) =>
  Type.String({
    pattern: '^[A-Za-z0-9+/]*={0,2}$',
    minLength,
    maxLength,
    ...(description === undefined ? {} : { description }),
  });

const Digests = Type.Record(
  Type.String({ pattern: '^(sha1|sha256|sha384|sha512|sha3-256|sha3-384|sha3-512)$' }),
  Type.String({ pattern: '^[0-9a-f]{40,128}$' }),
  {
    minProperties: 1,
    additionalProperties: false,
    description: 'Approved digest per hash algorithm (sha256, sha384, ...), lower-case hex',
  },
);

export const ReferenceComponentSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('tpm-event'),
      pcr: Type.Integer({ minimum: 0, maximum: 23 }),
      eventType: Type.Optional(Type.String({ maxLength: 64 })),
      digests: Digests,
      label: Type.Optional(Type.String({ maxLength: 200 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('dice-layer'),
      vendor: Type.Optional(Type.String({ maxLength: 200 })),
      model: Type.Optional(Type.String({ maxLength: 200 })),
      digests: Digests,
      label: Type.Optional(Type.String({ maxLength: 200 })),
    },
    { additionalProperties: false },
  ),
]);

export const ReferenceValuesSchema = Type.Object(
  {
    components: Type.Array(ReferenceComponentSchema, { maxItems: 10_000 }),
    securityVersion: Type.Optional(Type.Integer({ minimum: 0 })),
    minimumSecurityVersion: Type.Optional(Type.Integer({ minimum: 0 })),
    secureBootRequired: Type.Boolean(),
  },
  { additionalProperties: false },
);

const Outcome = Type.Union([Type.Literal('failure'), Type.Literal('warning')]);

export const AppraisalPolicySchema = Type.Object(
  {
    tpmPcrs: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0, maximum: 23 }), {
        uniqueItems: true,
        maxItems: 24,
        description: 'PCRs a TPM quote must cover and its event log reproduce (default 0-7)',
      }),
    ),
    requiredClaims: Type.Array(
      Type.Union([
        Type.Literal('secure-boot'),
        Type.Literal('security-version'),
        Type.Literal('measured-release'),
      ]),
      { uniqueItems: true, description: 'Claims the evidence must establish; one it does not is a failure' },
    ),
    secureBootDisabled: Type.Union([Outcome, Type.Literal('ignore')], {
      description: 'Secure Boot off where the reference values require it',
    }),
    unrecognizedComponent: Outcome,
    belowMinimumSecurityVersion: Outcome,
    missingReferenceValues: Type.Union([Outcome], {
      description: 'No reference values for the product and hardware revision (never affirming)',
    }),
    quarantineOnContraindicated: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const TrustStatusSchema = Type.Union([
  Type.Literal('affirming'),
  Type.Literal('warning'),
  Type.Literal('contraindicated'),
  Type.Literal('none'),
]);
