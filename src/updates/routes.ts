import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { actorOf, callerOf } from '../access/index.ts';
import { ReferenceValuesSchema } from '../attestation/index.ts';
import { IdParams, VigilError, bearerSecurity, withErrors } from '../core/index.ts';
import { sbomMaxBytes } from './releases.ts';
import type { Updates } from './updates.ts';

const Hex = (length: number) => Type.String({ pattern: `^[0-9a-fA-F]{${length}}$` });

const ReleaseSchema = Type.Object({
  id: Type.String(),
  productId: Type.String(),
  version: Type.String(),
  securityVersion: Type.Integer(),
  hardwareRevisions: Type.Array(Type.String()),
  notes: Type.String(),
  securityUpdate: Type.Boolean(),
  status: Type.Union([Type.Literal('draft'), Type.Literal('published')]),
  artifacts: Type.Array(
    Type.Object({
      name: Type.String(),
      targetPath: Type.String({ description: 'The TUF target path: <version>/<name>' }),
      sha256: Type.String(),
      sha512: Type.String(),
      length: Type.Integer(),
    }),
  ),
  sbom: Type.Union([Type.Object({ digest: Type.String(), mediaType: Type.String() }), Type.Null()]),
  approvals: Type.Array(
    Type.Object({
      keyid: Type.String(),
      principalId: Type.String(),
      approvedAt: Type.String({ format: 'date-time' }),
    }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String(),
  publishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  targetsVersion: Type.Union([Type.Integer(), Type.Null()]),
});

const RoleStatus = Type.Object({
  version: Type.Integer(),
  expires: Type.String(),
  threshold: Type.Integer(),
  keys: Type.Array(
    Type.Object({
      keyid: Type.String(),
      principalId: Type.Union([Type.String(), Type.Null()]),
      backend: Type.String(),
    }),
  ),
});

const RepositorySchema = Type.Object({
  productId: Type.String(),
  consistentSnapshot: Type.Literal(true),
  roles: Type.Object({ root: RoleStatus, targets: RoleStatus, snapshot: RoleStatus, timestamp: RoleStatus }),
});

const ReleaseQuery = Type.Object(
  {
    productId: Type.Optional(Type.String({ format: 'uuid' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

const ArtifactQuery = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'File name of the artifact inside the release',
    }),
    sha256: Type.Optional(Hex(64)),
    sha512: Type.Optional(Hex(128)),
  },
  { additionalProperties: false },
);

const Percent = Type.Number({ exclusiveMinimum: 0, maximum: 100 });

const WaveSpecSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    devices: Type.Optional(
      Type.Array(Type.String({ format: 'uuid' }), {
        maxItems: 10_000,
        description: 'Explicit devices (bench devices) for this wave',
      }),
    ),
    share: Type.Optional({
      ...Percent,
      description: 'Cumulative share of the selection this wave brings the rollout up to, in percent',
    }),
    success: Type.Optional(
      Type.Object(
        {
          validatedShare: Type.Optional({
            ...Percent,
            description: 'Share of the wave validated for success (default 100)',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    failure: Type.Optional(
      Type.Object(
        {
          count: Type.Optional(
            Type.Integer({ minimum: 1, description: 'Failures and timeouts that fail the wave' }),
          ),
          share: Type.Optional({
            ...Percent,
            description: 'Share of finished devices failed or timed out that fails the wave',
          }),
          minimumSample: Type.Optional(
            Type.Integer({
              minimum: 1,
              description: 'Finished devices needed before the share counts (default 1)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    onSuccess: Type.Optional(Type.Union([Type.Literal('continue'), Type.Literal('pause')])),
    onFailure: Type.Optional(Type.Union([Type.Literal('pause'), Type.Literal('abort')])),
  },
  { additionalProperties: false },
);

const SelectionSchema = Type.Union([
  Type.Object({ kind: Type.Literal('product') }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('hardware-revision'),
      hardwareRevisions: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        minItems: 1,
        maxItems: 100,
      }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('devices'),
      deviceIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 10_000 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('filter'), filterId: Type.String({ format: 'uuid' }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('site'),
      siteIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000 }),
    },
    { additionalProperties: false },
  ),
]);

const DeviceState = Type.Union(
  [
    'assigned',
    'offered',
    'downloading',
    'downloaded',
    'installing',
    'installed',
    'validated',
    'failed',
    'timed-out',
    'ineligible',
    'left',
  ].map((state) => Type.Literal(state)),
);

const RolloutSchema = Type.Object({
  id: Type.String(),
  releaseId: Type.String(),
  productId: Type.String(),
  version: Type.String(),
  name: Type.String(),
  selection: SelectionSchema,
  status: Type.Union([
    Type.Literal('active'),
    Type.Literal('paused'),
    Type.Literal('aborted'),
    Type.Literal('completed'),
  ]),
  pauseReason: Type.Union([Type.String(), Type.Null()]),
  currentWave: Type.Integer(),
  waveStartedAt: Type.String({ format: 'date-time' }),
  validationMinutes: Type.Integer(),
  waves: Type.Array(
    Type.Object({
      index: Type.Integer(),
      spec: WaveSpecSchema,
      devices: Type.Integer(),
      states: Type.Record(Type.String(), Type.Integer()),
    }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String(),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const RolloutDeviceSchema = Type.Object({
  deviceId: Type.String(),
  wave: Type.Integer(),
  state: DeviceState,
  stateAt: Type.String({ format: 'date-time' }),
  offeredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  installedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  deadline: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  postponements: Type.Integer(),
  postponedUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const MaintenanceWindowSchema = Type.Object(
  {
    cron: Type.String({
      minLength: 9,
      maxLength: 100,
      description: 'When the window opens: 5-field cron (minute hour day-of-month month day-of-week)',
    }),
    durationMinutes: Type.Integer({ minimum: 1, maximum: 10_080 }),
    timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Berlin' }),
  },
  { additionalProperties: false },
);

const SiteSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  maintenanceWindow: Type.Union([MaintenanceWindowSchema, Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

const DeviceFilterSchema = Type.Object(
  {
    hardwareRevisions: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 100 }),
    ),
    siteIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000 })),
    versions: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }),
    ),
  },
  { additionalProperties: false },
);

const SavedFilterSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  filter: DeviceFilterSchema,
  createdAt: Type.String({ format: 'date-time' }),
});

const Reason = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
);

/** The request's media type, without parameters, in lower case. */
function mediaTypeOf(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The media types an SBOM upload may carry (CycloneDX and SPDX JSON). */
const sbomMediaTypes = ['application/vnd.cyclonedx+json', 'application/spdx+json', 'application/json'];

/**
 * Uploads: artifacts as raw streams (never buffered whole) and SBOMs as the exact bytes sent. Kept
 * in their own plugin so their body parsers do not reach the JSON routes.
 */
function uploadRoutes(updates: Updates): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    app.removeContentTypeParser('application/json');
    // The SBOM is read as it arrives; a declared length over the limit is refused before any of it.
    app.addContentTypeParser(sbomMediaTypes, (request, payload, done) => {
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > sbomMaxBytes) {
        done(
          new VigilError(
            'REQUEST_TOO_LARGE',
            'too_large',
            `the request body exceeds the size limit (${sbomMaxBytes} bytes)`,
          ),
          undefined,
        );
        return;
      }
      done(null, payload);
    });

    app.post(
      '/api/v1/releases/:id/artifacts',
      {
        config: { scope: 'releases:write' },
        schema: {
          tags: ['updates'],
          summary: 'Stream an artifact into a draft release (hashed with SHA-256 and SHA-512 as it arrives)',
          description:
            'The body is the artifact (application/octet-stream). A declared sha256/sha512 that the bytes do not match refuses the upload and keeps nothing.',
          security: bearerSecurity,
          consumes: ['application/octet-stream'],
          params: IdParams,
          querystring: ArtifactQuery,
          body: Type.String({
            format: 'binary',
            description: 'The artifact bytes, hashed as they stream in',
          }),
          response: withErrors({ 201: ReleaseSchema }),
        },
      },
      async (request, reply) => {
        if (mediaTypeOf(request) !== 'application/octet-stream') {
          throw new VigilError(
            'REQUEST_MEDIA_TYPE_UNSUPPORTED',
            'unsupported_media',
            'send the artifact as application/octet-stream',
          );
        }
        const body = request.body as unknown as Readable;
        const release = await updates.releases.addArtifact(
          actorOf(callerOf(request)),
          request.params.id,
          request.query.name,
          body,
          {
            sha256: request.query.sha256,
            sha512: request.query.sha512,
          },
        );
        return reply.code(201).send(release);
      },
    );

    app.post(
      '/api/v1/releases/:id/sbom',
      {
        config: { scope: 'releases:write' },
        schema: {
          tags: ['updates'],
          summary: "Attach the release's SBOM (CycloneDX or SPDX JSON), kept exactly as sent",
          security: bearerSecurity,
          consumes: sbomMediaTypes,
          params: IdParams,
          body: Type.String({ format: 'binary', description: 'The SBOM document (JSON)' }),
          response: withErrors({ 200: ReleaseSchema }),
        },
      },
      async (request) => {
        const mediaType = mediaTypeOf(request);
        if (!sbomMediaTypes.includes(mediaType)) {
          throw new VigilError(
            'REQUEST_MEDIA_TYPE_UNSUPPORTED',
            'unsupported_media',
            `send the SBOM as ${sbomMediaTypes.join(' or ')}`,
          );
        }
        const body = request.body as unknown as Readable;
        return updates.releases.attachSbom(actorOf(callerOf(request)), request.params.id, body, mediaType);
      },
    );
  };
}

/** The secure-updates part of the admin API: releases and the product's TUF repository. */
export function updatesRoutes(updates: Updates): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(uploadRoutes(updates));

    app.post(
      '/api/v1/releases',
      {
        config: { scope: 'releases:write' },
        schema: {
          tags: ['updates'],
          summary: 'Create a draft release of a product',
          security: bearerSecurity,
          body: Type.Object(
            {
              productId: Type.String({ format: 'uuid' }),
              version: Type.String({ minLength: 1, maxLength: 64 }),
              securityVersion: Type.Integer({ minimum: 0, description: 'Monotonic anti-rollback counter' }),
              hardwareRevisions: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
                minItems: 1,
                maxItems: 100,
              }),
              notes: Type.Optional(Type.String({ maxLength: 20_000 })),
              securityUpdate: Type.Optional(Type.Boolean()),
              referenceValues: Type.Optional(
                Type.Array(
                  Type.Object(
                    {
                      hardwareRevision: Type.String({ minLength: 1, maxLength: 100 }),
                      values: ReferenceValuesSchema,
                    },
                    { additionalProperties: false },
                  ),
                  { maxItems: 100 },
                ),
              ),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: ReleaseSchema }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await updates.releases.create(actorOf(callerOf(request)), request.body)),
    );

    app.get(
      '/api/v1/releases',
      {
        config: { scope: 'releases:read' },
        schema: {
          tags: ['updates'],
          summary: 'List releases, optionally of one product',
          security: bearerSecurity,
          querystring: ReleaseQuery,
          response: withErrors({
            200: Type.Object({
              releases: Type.Array(ReleaseSchema),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
          }),
        },
      },
      async (request) =>
        updates.releases.list({
          productId: request.query.productId,
          limit: request.query.limit ?? 100,
          cursor: request.query.cursor,
        }),
    );

    app.get(
      '/api/v1/releases/:id',
      {
        config: { scope: 'releases:read' },
        schema: {
          tags: ['updates'],
          summary: 'One release with its artifacts, SBOM digest and approvals',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: ReleaseSchema }),
        },
      },
      async (request) => updates.releases.get(request.params.id),
    );

    app.post(
      '/api/v1/releases/:id/approvals',
      {
        config: { scope: 'releases:admin' },
        schema: {
          tags: ['updates'],
          summary: "Approve a draft release with one of the product's release signers (k of n)",
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object(
            { signer: Type.Optional(Hex(64)) },
            {
              additionalProperties: false,
              description: 'signer: the TUF key id; by default the first the caller may use',
            },
          ),
          response: withErrors({ 200: ReleaseSchema }),
        },
      },
      async (request) =>
        updates.releases.approve(actorOf(callerOf(request)), request.params.id, request.body.signer),
    );

    app.post(
      '/api/v1/releases/:id/publish',
      {
        config: { scope: 'releases:admin' },
        schema: {
          tags: ['updates'],
          summary: "Publish a draft release into the product's TUF repository, signed by its approvers",
          description:
            'A release that a publication gate blocks (an affected, exploitable, unjustified finding: CRA Annex I Part I (2)(a)) is refused with 409 RELEASE_GATE_BLOCKED unless `override` gives the reason to publish anyway, which the ledger records.',
          security: bearerSecurity,
          params: IdParams,
          querystring: Type.Object(
            { override: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: ReleaseSchema }),
        },
      },
      async (request) =>
        updates.releases.publish(actorOf(callerOf(request)), request.params.id, {
          override: request.query.override,
        }),
    );

    app.get(
      '/api/v1/products/:id/tuf',
      {
        config: { scope: 'releases:read' },
        schema: {
          tags: ['updates'],
          summary: "The product's TUF repository: keys, thresholds, versions and expiry of each role",
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: RepositorySchema }),
        },
      },
      async (request) => updates.repositories.status(request.params.id),
    );

    app.post(
      '/api/v1/products/:id/tuf',
      {
        config: { scope: 'releases:admin' },
        schema: {
          tags: ['updates'],
          summary: "Create the product's TUF repository with its root keys and release signers",
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object(
            {
              rootKeys: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
              rootThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
              signers: Type.Optional(
                Type.Array(Type.Union([Type.String({ format: 'uuid' }), Type.Null()]), {
                  minItems: 1,
                  maxItems: 16,
                  description:
                    'One entry per release signer: the principal who approves with it, or null for any release admin',
                }),
              ),
              targetsThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: RepositorySchema }),
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send(
            await updates.repositories.initialize(
              actorOf(callerOf(request)),
              request.params.id,
              request.body,
            ),
          ),
    );

    app.post(
      '/api/v1/products/:id/tuf/rotate-root',
      {
        config: { scope: 'releases:admin' },
        schema: {
          tags: ['updates'],
          summary: 'Rotate the root keys: root N+1 signed by the old and the new threshold',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object(
            {
              keys: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
              threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: RepositorySchema }),
        },
      },
      async (request) =>
        updates.repositories.rotateRoot(actorOf(callerOf(request)), request.params.id, request.body),
    );

    app.post(
      '/api/v1/products/:id/tuf/rotate-online-keys',
      {
        config: { scope: 'releases:admin' },
        schema: {
          tags: ['updates'],
          summary: 'Rotate the online snapshot and timestamp keys (a new root lists them)',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: RepositorySchema }),
        },
      },
      async (request) => updates.repositories.rotateOnlineKeys(actorOf(callerOf(request)), request.params.id),
    );

    app.post(
      '/api/v1/rollouts',
      {
        config: { scope: 'rollouts:write' },
        schema: {
          tags: ['updates'],
          summary: 'Start a rollout of a published release to a selection of devices, in waves',
          security: bearerSecurity,
          body: Type.Object(
            {
              releaseId: Type.String({ format: 'uuid' }),
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
              selection: SelectionSchema,
              waves: Type.Array(WaveSpecSchema, { minItems: 1, maxItems: 20 }),
              validationMinutes: Type.Optional(
                Type.Integer({
                  minimum: 1,
                  maximum: 525_600,
                  description: 'Time a device of a started wave has to validate (default 1440)',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: RolloutSchema }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await updates.rollouts.create(actorOf(callerOf(request)), request.body)),
    );

    app.get(
      '/api/v1/rollouts',
      {
        config: { scope: 'rollouts:read' },
        schema: {
          tags: ['updates'],
          summary: 'List rollouts with their progress per wave',
          security: bearerSecurity,
          querystring: Type.Object(
            {
              productId: Type.Optional(Type.String({ format: 'uuid' })),
              status: Type.Optional(
                Type.Union([
                  Type.Literal('active'),
                  Type.Literal('paused'),
                  Type.Literal('aborted'),
                  Type.Literal('completed'),
                ]),
              ),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
              cursor: Type.Optional(Type.String({ maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
          response: withErrors({
            200: Type.Object({
              rollouts: Type.Array(RolloutSchema),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
          }),
        },
      },
      async (request) =>
        updates.rollouts.list({
          productId: request.query.productId,
          status: request.query.status,
          limit: request.query.limit ?? 100,
          cursor: request.query.cursor,
        }),
    );

    app.get(
      '/api/v1/rollouts/:id',
      {
        config: { scope: 'rollouts:read' },
        schema: {
          tags: ['updates'],
          summary: 'One rollout with its progress per wave',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: RolloutSchema }),
        },
      },
      async (request) => updates.rollouts.get(request.params.id),
    );

    app.get(
      '/api/v1/rollouts/:id/devices',
      {
        config: { scope: 'rollouts:read' },
        schema: {
          tags: ['updates'],
          summary: "The rollout's devices with their wave, state, deadline and postponements",
          security: bearerSecurity,
          params: IdParams,
          querystring: Type.Object(
            {
              wave: Type.Optional(Type.Integer({ minimum: 0, maximum: 19 })),
              state: Type.Optional(DeviceState),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
              cursor: Type.Optional(Type.String({ maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
          response: withErrors({
            200: Type.Object({
              devices: Type.Array(RolloutDeviceSchema),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
          }),
        },
      },
      async (request) =>
        updates.rollouts.devices(request.params.id, {
          wave: request.query.wave,
          state: request.query.state as never,
          limit: request.query.limit ?? 100,
          cursor: request.query.cursor,
        }),
    );

    for (const [verb, summary, withReason] of [
      ['pause', 'Pause a rollout: no device of a later wave is offered the update', true],
      ['abort', 'Abort a rollout: nothing more is offered', true],
      ['resume', 'Resume a paused rollout at its current wave', false],
      [
        'approve',
        'Approve the next wave of a paused rollout (after a wave that asks for approval, or over a failure)',
        false,
      ],
    ] as const) {
      app.post(
        `/api/v1/rollouts/:id/${verb}`,
        {
          config: { scope: 'rollouts:write' },
          schema: {
            tags: ['updates'],
            summary,
            security: bearerSecurity,
            params: IdParams,
            ...(withReason ? { body: Reason } : {}),
            response: withErrors({ 200: RolloutSchema }),
          },
        },
        async (request) => {
          const actor = actorOf(callerOf(request));
          const id = (request.params as { id: string }).id;
          const reason = (request.body as { reason?: string } | undefined)?.reason ?? '';
          switch (verb) {
            case 'pause':
              return updates.rollouts.pause(actor, id, reason);
            case 'abort':
              return updates.rollouts.abort(actor, id, reason);
            case 'resume':
              return updates.rollouts.resume(actor, id);
            case 'approve':
              return updates.rollouts.approve(actor, id);
          }
        },
      );
    }

    app.post(
      '/api/v1/sites',
      {
        config: { scope: 'rollouts:write' },
        schema: {
          tags: ['updates'],
          summary: 'Create a site (a hospital, a ward) with its maintenance window',
          security: bearerSecurity,
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 200 }),
              maintenanceWindow: Type.Optional(MaintenanceWindowSchema),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: SiteSchema }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await updates.fleet.createSite(actorOf(callerOf(request)), request.body)),
    );

    app.get(
      '/api/v1/sites',
      {
        config: { scope: 'rollouts:read' },
        schema: {
          tags: ['updates'],
          summary: 'List sites',
          security: bearerSecurity,
          response: withErrors({ 200: Type.Object({ sites: Type.Array(SiteSchema) }) }),
        },
      },
      async () => ({ sites: await updates.fleet.sites() }),
    );

    app.put(
      '/api/v1/devices/:id/site',
      {
        config: { scope: 'rollouts:write' },
        schema: {
          tags: ['updates'],
          summary: 'Put a device at a site (its maintenance window then applies)',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object({ siteId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
          response: withErrors({ 200: Type.Object({ deviceId: Type.String(), siteId: Type.String() }) }),
        },
      },
      async (request) =>
        updates.fleet.assignSite(actorOf(callerOf(request)), request.params.id, request.body.siteId),
    );

    app.post(
      '/api/v1/device-filters',
      {
        config: { scope: 'rollouts:write' },
        schema: {
          tags: ['updates'],
          summary: 'Save a device filter for rollouts to select by',
          security: bearerSecurity,
          body: Type.Object(
            { name: Type.String({ minLength: 1, maxLength: 200 }), filter: DeviceFilterSchema },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: SavedFilterSchema }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await updates.fleet.createFilter(actorOf(callerOf(request)), request.body)),
    );

    app.get(
      '/api/v1/device-filters',
      {
        config: { scope: 'rollouts:read' },
        schema: {
          tags: ['updates'],
          summary: 'List saved device filters',
          security: bearerSecurity,
          response: withErrors({ 200: Type.Object({ deviceFilters: Type.Array(SavedFilterSchema) }) }),
        },
      },
      async () => ({ deviceFilters: await updates.fleet.filters() }),
    );

    app.put(
      '/api/v1/products/:id/update-policy',
      {
        config: { scope: 'releases:admin' },
        schema: {
          tags: ['updates'],
          summary: 'How many times a device may postpone one update (CRA Annex I Part I (2)(c))',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object(
            { postponeLimit: Type.Integer({ minimum: 0, maximum: 100 }) },
            { additionalProperties: false },
          ),
          response: withErrors({
            200: Type.Object({ productId: Type.String(), postponeLimit: Type.Integer() }),
          }),
        },
      },
      async (request) =>
        updates.fleet.setPostponeLimit(
          actorOf(callerOf(request)),
          request.params.id,
          request.body.postponeLimit,
        ),
    );
  };
}
