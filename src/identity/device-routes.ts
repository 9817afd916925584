import type { TLSSocket } from 'node:tls';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../core/index.ts';
import type { CertificateAuthorities } from './authorities.ts';
import { toDevice } from './devices.ts';
import type { EnrollmentCredential, EnrollmentService, Issued } from './enrollment.ts';
import type { IdentityProfiles } from './profile-store.ts';
import type { Revocations } from './revocation.ts';
import { encodeCertsOnlyPkcs7, encodeCsrAttributes } from './x509/index.ts';

const ecdsaWithSha256 = '1.2.840.10045.4.3.2';
const ecPublicKey = '1.2.840.10045.2.1';
const secp256r1 = '1.2.840.10045.3.1.7';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Device routes: 'certificate' needs a valid device certificate in TLS; 'open' needs none. */
    device?: 'certificate' | 'open';
    /** 'allowed' on the routes a quarantined device may still use (attestation and updates). */
    quarantine?: 'allowed';
  }
  interface FastifyRequest {
    device?: Awaited<ReturnType<EnrollmentService['authenticateCertificate']>>;
  }
}

/** Client certificates per TLS connection: read once, however many requests the connection carries. */
const peerCertificates = new WeakMap<TLSSocket, { der: Buffer } | undefined>();

/** The DER of the TLS client certificate, if the peer sent one (the handshake proved it holds the key). */
export function peerCertificate(request: FastifyRequest): { der: Buffer } | undefined {
  const socket = request.raw.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  if (peerCertificates.has(socket)) return peerCertificates.get(socket);
  const peer = socket.getPeerCertificate(false);
  const found =
    peer === null || peer === undefined || !('raw' in peer) || peer.raw === undefined
      ? undefined
      : { der: peer.raw };
  peerCertificates.set(socket, found);
  return found;
}

/**
 * Authenticates device routes. The TLS handshake proves the client holds the certificate's key;
 * the certificate itself must be one this installation issued (looked up byte for byte, so a
 * lookalike signed by another key is unknown), valid now, unrevoked and of a live device, checked
 * against the store on every request: a revocation is refused at once, on every process.
 */
export function deviceAuthenticationHook(enrollment: EnrollmentService) {
  return async (request: FastifyRequest): Promise<void> => {
    if (request.routeOptions.config.device !== 'certificate') return;
    const peer = peerCertificate(request);
    if (peer === undefined) {
      throw new VigilError(
        'DEVICE_CERTIFICATE_MISSING',
        'unauthenticated',
        'this route needs a device certificate in TLS',
      );
    }
    const device = await enrollment.authenticateCertificate(peer.der);
    if (device.device.quarantined_at !== null && request.routeOptions.config.quarantine !== 'allowed') {
      throw new VigilError(
        'DEVICE_QUARANTINED',
        'forbidden',
        'the device is in quarantine: only attestation and update routes are served until it is released',
      );
    }
    request.device = device;
  };
}

function sendBase64(reply: FastifyReply, contentType: string, der: Buffer): FastifyReply {
  // RFC 7030 §4.1.3, §4.2.3: base64 bodies (RFC 8951: no Content-Transfer-Encoding needed; kept for old clients).
  return reply
    .header('content-type', contentType)
    .header('content-transfer-encoding', 'base64')
    .send(der.toString('base64').replace(/(.{64})/g, '$1\n'));
}

function parseBasic(header: string | undefined): { serial: string; secret: string } | undefined {
  const match = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { serial: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

const estChallenge = 'Basic realm="vigil-est", charset="UTF-8"';
const estCerts = 'application/pkcs7-mime; smime-type=certs-only';

export interface DeviceRouteServices {
  authorities: CertificateAuthorities;
  enrollment: EnrollmentService;
  revocations: Revocations;
  profiles: IdentityProfiles;
}

/** RFC 7030 EST, RFC 6960 OCSP, RFC 5280 CRLs and the device's own view, on the device endpoint. */
export function deviceRoutes(services: DeviceRouteServices): FastifyPluginAsync {
  return async (app) => {
    app.addContentTypeParser(
      ['application/pkcs10', 'application/pkcs7-mime'],
      { parseAs: 'string' },
      (_request, body, done) => done(null, body),
    );

    app.get('/.well-known/est/cacerts', { config: { device: 'open' } }, async (_request, reply) =>
      sendBase64(
        reply,
        'application/pkcs7-mime',
        encodeCertsOnlyPkcs7(await services.authorities.trustedCertificates()),
      ),
    );

    app.get('/.well-known/est/csrattrs', { config: { device: 'open' } }, async (_request, reply) =>
      // RFC 7030 §4.5.2: the key and signature types we want (P-256 with SHA-256 by default).
      sendBase64(
        reply,
        'application/csrattrs',
        encodeCsrAttributes([ecdsaWithSha256, { type: ecPublicKey, values: [secp256r1] }]),
      ),
    );

    const enrolled = (reply: FastifyReply, issued: Issued) =>
      sendBase64(reply, estCerts, encodeCertsOnlyPkcs7([issued.certificate]));
    const csrBody = (request: FastifyRequest): string => {
      const type = String(request.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if (type !== 'application/pkcs10') {
        throw new VigilError(
          'EST_CONTENT_TYPE_INVALID',
          'unsupported_media',
          'send the CSR as application/pkcs10 (RFC 7030 §4.2.1)',
        );
      }
      return typeof request.body === 'string' ? request.body : '';
    };

    app.post('/.well-known/est/simpleenroll', { config: { device: 'open' } }, async (request, reply) => {
      const basic = parseBasic(request.headers.authorization);
      const peer = peerCertificate(request);
      let credential: EnrollmentCredential;
      if (basic !== undefined) credential = { kind: 'secret', ...basic };
      else if (peer !== undefined) credential = { kind: 'idevid', certificate: peer.der };
      else {
        void reply.header('www-authenticate', estChallenge);
        throw new VigilError(
          'EST_AUTH_REQUIRED',
          'unauthenticated',
          'enroll with HTTP Basic (serial and enrollment secret) or an IDevID client certificate (RFC 7030 §3.2.3)',
        );
      }
      try {
        return enrolled(reply, await services.enrollment.enroll(csrBody(request), credential));
      } catch (error) {
        if (error instanceof VigilError && error.kind === 'unauthenticated' && credential.kind === 'secret')
          void reply.header('www-authenticate', estChallenge);
        throw error;
      }
    });

    app.post(
      '/.well-known/est/simplereenroll',
      { config: { device: 'certificate' } },
      async (request, reply) => {
        const peer = peerCertificate(request);
        return enrolled(reply, await services.enrollment.reenroll(csrBody(request), peer!.der));
      },
    );

    app.get('/device/v1/whoami', { config: { device: 'certificate' } }, async (request) => {
      const { device, current } = request.device!;
      const certificate = await services.enrollment.certificateOf(current.serial);
      const profile = await services.profiles.get(device.product_id);
      return {
        deviceId: device.id,
        serial: device.serial,
        productId: device.product_id,
        hardwareRevision: device.hardware_revision,
        status: device.status,
        // The latest appraisal of this device, as the admin API shows it.
        trust: toDevice(device).trust,
        certificate: {
          serial: current.serial,
          subject: current.subject,
          notAfter: certificate.notAfter,
          renewFrom: new Date(
            new Date(certificate.notAfter).getTime() - profile.renewalWindowDays * 86_400_000,
          )
            .toISOString()
            .replace(/\.\d{3}Z$/, 'Z'),
        },
      };
    });

    await app.register(statusRoutes(services.revocations));
  };
}

/**
 * Revocation status (RFC 5280 CRLs, RFC 6960 OCSP): served on the plain-HTTP status listener,
 * where certificates point, and on the device endpoint.
 */
export function statusRoutes(revocations: Revocations): FastifyPluginAsync {
  return async (app) => {
    app.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    app.get<{ Params: { file: string } }>(
      '/crl/:file',
      { config: { device: 'open' } },
      async (request, reply) => {
        const match = /^([0-9a-f-]{36})\.crl$/.exec(request.params.file);
        if (match === null)
          throw new VigilError('CRL_NOT_FOUND', 'not_found', 'CRLs are served as /crl/<ca-id>.crl');
        await revocations.requireIssuing(match[1]!);
        return reply
          .header('content-type', 'application/pkix-crl')
          .header('cache-control', 'public, max-age=300')
          .send(await revocations.currentCrl(match[1]!));
      },
    );

    // RFC 6960 Appendix A.1: POST with the DER request, or GET with its base64 in the path.
    app.post('/ocsp', { config: { device: 'open' } }, async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      return reply.header('content-type', 'application/ocsp-response').send(await revocations.respond(body));
    });
    app.get<{ Params: { '*': string } }>(
      '/ocsp/*',
      { config: { device: 'open' } },
      async (request, reply) => {
        const encoded = decodeURIComponent(request.params['*']);
        const der = /^[A-Za-z0-9+/=_-]+$/.test(encoded)
          ? Buffer.from(encoded.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
          : Buffer.alloc(0);
        return reply
          .header('content-type', 'application/ocsp-response')
          .header('cache-control', 'public, max-age=60')
          .send(await revocations.respond(der));
      },
    );
  };
}
