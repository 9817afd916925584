import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { VigilError } from '../core/index.ts';
import type { Updates } from './updates.ts';

const TufParams = Type.Object({
  productId: Type.String({ format: 'uuid' }),
  file: Type.String({ maxLength: 64 }),
});
const TargetParams = Type.Object({
  productId: Type.String({ format: 'uuid' }),
  '*': Type.String({ maxLength: 300 }),
});

function deviceOf(request: FastifyRequest) {
  if (request.device === undefined) {
    throw new VigilError(
      'DEVICE_CERTIFICATE_MISSING',
      'unauthenticated',
      'this route needs a device certificate',
    );
  }
  return request.device.device;
}

/** `<version>/<sha256>.<name>`: a consistent-snapshot target path (TUF specification §5.7.3). */
const targetFile = /^([0-9A-Za-z][0-9A-Za-z.+_-]{0,63})\/([0-9a-f]{64})\.([0-9A-Za-z][0-9A-Za-z._-]{0,127})$/;

/**
 * The TUF repositories, read-only, on the device endpoint at `/tuf/<product-id>/`. No client
 * certificate: TUF metadata protects itself, so a hospital mirror or a CDN may serve these files.
 * Versioned metadata and targets never change and may be cached for good; `timestamp.json` (and
 * the unversioned newest of the other roles) must be fetched fresh.
 */
export function updatesDeviceRoutes(updates: Updates): FastifyPluginAsyncTypebox {
  const config = { device: 'open' } as const;
  return async (app) => {
    app.get(
      '/tuf/:productId/targets/*',
      { config, schema: { params: TargetParams } },
      async (request, reply) => {
        const match = targetFile.exec(request.params['*']);
        const published =
          match === null
            ? false
            : await updates.releases.isPublishedArtifact(request.params.productId, {
                version: match[1]!,
                sha256: match[2]!,
                name: match[3]!,
              });
        const file = published ? await updates.artifacts.open(match![2]!) : null;
        if (file === null) {
          throw new VigilError('TUF_TARGET_NOT_FOUND', 'not_found', 'no such target in this repository');
        }
        return reply
          .header('cache-control', 'public, max-age=31536000, immutable')
          .header('content-length', file.length)
          .type('application/octet-stream')
          .send(file.stream);
      },
    );

    app.get('/tuf/:productId/:file', { config, schema: { params: TufParams } }, async (request, reply) => {
      const file = await updates.repositories.file(request.params.productId, request.params.file);
      if (file === null)
        throw new VigilError('TUF_METADATA_NOT_FOUND', 'not_found', 'no such metadata in this repository');
      return reply
        .header('cache-control', file.versioned ? 'public, max-age=31536000, immutable' : 'no-cache')
        .type('application/json')
        .send(file.document);
    });

    const deviceConfig = { device: 'certificate', quarantine: 'allowed' } as const;
    const RolloutParams = Type.Object(
      { rolloutId: Type.String({ format: 'uuid' }) },
      { additionalProperties: false },
    );

    app.post(
      '/device/v1/checkin',
      {
        config: deviceConfig,
        schema: {
          body: Type.Object(
            {
              version: Type.String({ minLength: 1, maxLength: 64 }),
              securityVersion: Type.Optional(Type.Integer({ minimum: 0 })),
              status: Type.Optional(
                Type.Union([
                  Type.Literal('idle'),
                  Type.Literal('downloading'),
                  Type.Literal('installing'),
                  Type.Literal('error'),
                ]),
              ),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => updates.devices.checkin(deviceOf(request), request.body),
    );

    app.post(
      '/device/v1/updates/:rolloutId/report',
      {
        config: deviceConfig,
        schema: {
          params: RolloutParams,
          body: Type.Object(
            {
              step: Type.Union([
                Type.Literal('downloading'),
                Type.Literal('downloaded'),
                Type.Literal('installing'),
                Type.Literal('installed'),
                Type.Literal('failed'),
              ]),
              version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
              reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => updates.devices.report(deviceOf(request), request.params.rolloutId, request.body),
    );

    app.post(
      '/device/v1/updates/:rolloutId/postpone',
      {
        config: deviceConfig,
        schema: {
          params: RolloutParams,
          body: Type.Object(
            {
              hours: Type.Integer({ minimum: 1, maximum: 168 }),
              reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => updates.devices.postpone(deviceOf(request), request.params.rolloutId, request.body),
    );
  };
}
