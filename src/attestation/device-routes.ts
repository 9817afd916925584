import type { FastifyPluginAsync } from 'fastify';
import { VigilError } from '../core/index.ts';
import type { AttestationNonces } from './nonces.ts';

/** Attestation on the device endpoint; every route needs the device certificate. */
export function attestationDeviceRoutes(nonces: AttestationNonces): FastifyPluginAsync {
  return async (app) => {
    app.post(
      '/device/v1/attestation/nonce',
      { config: { device: 'certificate' } },
      async (request, reply) => {
        const device = request.device;
        if (device === undefined)
          throw new VigilError(
            'DEVICE_CERTIFICATE_MISSING',
            'unauthenticated',
            'this route needs a device certificate',
          );
        const issued = await nonces.issue(device.device.id);
        return reply.code(201).send({ nonce: issued.nonce.toString('base64'), expiresAt: issued.expiresAt });
      },
    );
  };
}
