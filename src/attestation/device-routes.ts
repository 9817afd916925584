import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { VigilError } from '../core/index.ts';
import type { Attestation } from './attestation.ts';
import { evidenceFormats, maxEventLogBytes } from './formats.ts';
import { Base64 } from './schemas.ts';

/** Evidence carries a firmware event log; the rest of the device endpoint keeps its small limit. */
const evidenceBodyLimit = Math.ceil((maxEventLogBytes * 4) / 3) + 64 * 1024;

function deviceOf(request: FastifyRequest) {
  const device = request.device;
  if (device === undefined)
    throw new VigilError(
      'DEVICE_CERTIFICATE_MISSING',
      'unauthenticated',
      'this route needs a device certificate',
    );
  return device.device;
}

/**
 * Attestation on the device endpoint (RFC 9334: the device is the Attester). Every route needs
 * the device certificate, and each stays open to a quarantined device: a quarantined device can still prove its state
 * (release from quarantine is an operator's recorded decision).
 */
export function attestationDeviceRoutes(attestation: Attestation): FastifyPluginAsyncTypebox {
  const config = { device: 'certificate', quarantine: 'allowed' } as const;
  return async (app) => {
    app.post('/device/v1/attestation/nonce', { config }, async (request, reply) => {
      const issued = await attestation.nonces.issue(deviceOf(request).id);
      return reply.code(201).send({ nonce: issued.nonce.toString('base64'), expiresAt: issued.expiresAt });
    });

    app.post(
      '/device/v1/attestation/keys',
      {
        config,
        schema: {
          body: Type.Object(
            {
              format: Type.Literal('tpm2'),
              ekPublic: Base64(2048),
              akPublic: Base64(2048),
              ekCertificate: Type.Optional(Base64(8192)),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const challenge = await attestation.keys.challenge(
          deviceOf(request).id,
          Buffer.from(request.body.ekPublic, 'base64'),
          Buffer.from(request.body.akPublic, 'base64'),
          request.body.ekCertificate === undefined
            ? undefined
            : Buffer.from(request.body.ekCertificate, 'base64'),
        );
        return reply.code(201).send(challenge);
      },
    );

    app.post(
      '/device/v1/attestation/keys/:challengeId/activate',
      {
        config,
        schema: {
          params: Type.Object({ challengeId: Type.String({ format: 'uuid' }) }),
          body: Type.Object({ secret: Base64(256) }, { additionalProperties: false }),
        },
      },
      async (request, reply) => {
        const key = await attestation.keys.activate(
          deviceOf(request).id,
          request.params.challengeId,
          Buffer.from(request.body.secret, 'base64'),
        );
        return reply.code(201).send(key);
      },
    );

    app.get('/device/v1/attestation/keys', { config }, async (request) => ({
      keys: await attestation.keys.list(deviceOf(request).id),
    }));

    app.post(
      '/device/v1/attestation/evidence',
      {
        config,
        bodyLimit: evidenceBodyLimit,
        schema: {
          body: Type.Object(
            {
              format: Type.String({
                maxLength: 64,
                description: `One of: ${evidenceFormats.map((format) => format.id).join(', ')}`,
              }),
              evidence: Type.Object({}, { additionalProperties: true }),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const device = deviceOf(request);
        const record = await attestation.service.submit(device, request.body.format, request.body.evidence);
        // Like ACME's Replay-Nonce: the next attestation needs no extra round trip for its nonce.
        const next = attestation.nonces.issue(device.id);
        return reply.code(201).send({
          ...record,
          nextNonce: { nonce: next.nonce.toString('base64'), expiresAt: next.expiresAt },
        });
      },
    );
  };
}
