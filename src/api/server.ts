import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { accessRoutes, authenticationHook, usageHook } from '../access/index.ts';
import { ProblemSchema, VigilError } from '../core/index.ts';
import {
  certificateToPem,
  deviceAuthenticationHook,
  deviceRoutes,
  identityRoutes,
  statusRoutes,
} from '../identity/index.ts';
import { attestationDeviceRoutes, attestationRoutes } from '../attestation/index.ts';
import { ledgerRoutes } from '../ledger/index.ts';
import { productRoutes } from '../products/index.ts';
import { updatesDeviceRoutes, updatesRoutes } from '../updates/index.ts';
import { vulnsRoutes } from '../vulns/index.ts';
import { registerMetrics } from './metrics.ts';
import type { Platform } from './platform.ts';
import { problem, problemOf, routeNotFound } from './problem.ts';

import { version } from '../core/index.ts';

export { version };
/** Admin API bodies are small JSON documents; anything bigger is refused with 413. */
export const adminBodyLimit = 256 * 1024;

// ajv-formats is CommonJS with an ES-style default in its typings.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(options: ConstructorParameters<typeof Ajv>[0]): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, ...options });
  addFormats(ajv);
  return ajv;
}

/** The query string of a route that takes none. */
const NoQuery = Type.Object({}, { additionalProperties: false });

/** Refuses a request body sent to a route that declares none. */
async function refuseBody(request: FastifyRequest): Promise<void> {
  if (request.body !== undefined) {
    throw new VigilError('REQUEST_BODY_UNEXPECTED', 'invalid', 'this endpoint takes no request body');
  }
}

export interface ServerOptions {
  logger?: FastifyServerOptions['logger'];
}

/** Pino options: JSON logs with request ids, secrets redacted by path. */
export const loggerOptions = {
  level: process.env.VIGIL_LOG_LEVEL ?? 'info',
  redact: {
    paths: [
      'req.headers.authorization',
      'req.headers.cookie',
      '*.token',
      '*.secret',
      '*.enrollmentSecret',
      '*.privateKey',
    ],
    censor: '[redacted]',
  },
};

/**
 * The admin API: every domain module's routes, OpenAPI 3.1 at /openapi.json, rendered docs at
 * /docs, health and Prometheus metrics. Every error leaves as RFC 9457 problem+json.
 */
export async function buildAdminServer(
  platform: Platform,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: adminBodyLimit,
    genReqId: () => crypto.randomUUID(),
    requestIdHeader: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Bodies are validated strictly (no coercion, unknown fields refused); query strings and path
  // parameters arrive as text and are coerced to their declared types.
  const bodyAjv = makeAjv({ coerceTypes: false, removeAdditional: false, useDefaults: true });
  const textAjv = makeAjv({ coerceTypes: true, removeAdditional: false, useDefaults: true });
  // A body declared as raw bytes (`format: binary`: artifacts, SBOMs) reaches its route unparsed,
  // as a stream or text the route checks itself.
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body'
      ? (schema as { format?: string }).format === 'binary'
        ? () => true
        : bodyAjv.compile(schema)
      : textAjv.compile(schema),
  );

  app.setErrorHandler((error, request, reply) => {
    const problem = problemOf(error);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    // RFC 6750 §3: a 401 names the scheme the client should use.
    if (problem.status === 401) void reply.header('www-authenticate', 'Bearer realm="vigil"');
    return reply.code(problem.status).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type('application/problem+json').send(routeNotFound(request.method, request.url)),
  );

  // The admin API reads JSON only: without Fastify's default text/plain parser, any other media
  // type is 415 before it reaches a schema.
  app.removeContentTypeParser('text/plain');
  // Every documented route validates its whole request: one that declares no query string accepts
  // none, and one that declares no body (DELETE) refuses one instead of ignoring it.
  app.addHook('onRoute', (route) => {
    if (route.schema === undefined || route.schema.hide === true) return;
    route.schema.querystring ??= NoQuery;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.schema.body === undefined && methods.some((method) => method !== 'GET' && method !== 'HEAD')) {
      const existing =
        route.preValidation === undefined
          ? []
          : Array.isArray(route.preValidation)
            ? route.preValidation
            : [route.preValidation];
      route.preValidation = [refuseBody, ...existing];
    }
  });

  app.addSchema(ProblemSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Vigil admin API',
        version,
        description:
          'Device trust for medical-technology manufacturers. Errors are RFC 9457 problem+json with a stable `code`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      tags: [
        { name: 'platform', description: 'Health, metrics, documentation' },
        {
          name: 'attestation',
          description: 'Evidence appraisal (RATS), reference values, policies, EAR results and keys',
        },
        {
          name: 'vulnerabilities',
          description: 'SBOMs, advisories, findings and their triage',
        },
        {
          name: 'updates',
          description: 'Releases, artifacts, approvals and the TUF repository of each product',
        },
        { name: 'access', description: 'Principals, roles, API tokens, least-privilege review' },
        { name: 'products', description: 'Products, regimes, support periods, lifecycle owners' },
        { name: 'ledger', description: 'The tamper-evident ledger: entries, proofs, checkpoints, tiles' },
        {
          name: 'identity',
          description: 'CAs, certificate profiles, devices, revocation, identity evidence',
        },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  const registry = registerMetrics(app, platform.ledger);
  app.addHook('onRequest', authenticationHook(platform.access));
  app.addHook('onSend', usageHook(platform.access));

  app.get(
    '/healthz',
    {
      schema: {
        tags: ['platform'],
        summary: 'Liveness and store reachability',
        response: {
          200: Type.Object({ status: Type.Literal('ok'), version: Type.String(), store: Type.String() }),
        },
      },
    },
    async () => {
      await platform.store.db.selectFrom('meta').select('key').limit(1).execute();
      return { status: 'ok' as const, version, store: platform.store.dialect };
    },
  );
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(accessRoutes(platform.access));
  await app.register(productRoutes(platform.products));
  await app.register(ledgerRoutes(platform.ledger));
  await app.register(identityRoutes(platform.identity, platform.products));
  await app.register(attestationRoutes(platform.attestation));
  await app.register(updatesRoutes(platform.updates));
  await app.register(vulnsRoutes(platform.vulns));
  return app;
}

/** The device endpoint's TLS material: its key and its own chain under the installation root. */
export interface DeviceTls {
  key: string;
  cert: string;
}

/** Host names and addresses the device endpoint's certificate names (VIGIL_DEVICE_HOSTNAMES adds more). */
export function deviceHostNames(host: string): { dnsNames: string[]; ipAddresses: string[] } {
  const extra = (process.env.VIGIL_DEVICE_HOSTNAMES ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const names = new Set([
    'localhost',
    '127.0.0.1',
    '::1',
    ...(host === '0.0.0.0' || host === '::' ? [] : [host]),
    ...extra,
  ]);
  const isIp = (name: string) => isIP(name) !== 0;
  return {
    dnsNames: [...names].filter((name) => !isIp(name)).sort(),
    ipAddresses: [...names].filter(isIp).sort(),
  };
}

export async function deviceTls(platform: Platform, host: string): Promise<DeviceTls> {
  const credentials = await platform.identity.authorities.deviceTlsCredentials(deviceHostNames(host));
  return { key: credentials.keyPem, cert: credentials.chain.map(certificateToPem).join('') };
}

/**
 * A connection-level failure on the device endpoint. OpenSSL can leave the error of a failed
 * client-certificate signature check to surface on the first read, before any request is parsed:
 * answer it as the refusal it is (401 problem+json) rather than resetting the connection.
 */
function deviceClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tlsFailure = /routines|SSL|certificate/i.test(error.message);
  const refusal = tlsFailure
    ? problem(401, 'DEVICE_CERTIFICATE_UNKNOWN', 'the client certificate does not verify')
    : problem(400, 'REQUEST_MALFORMED', 'the request could not be read');
  const body = JSON.stringify(refusal);
  socket.end(
    `HTTP/1.1 ${refusal.status} ${refusal.title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * The device endpoint: TLS, asking every client for a certificate (RFC 7030 §3.3.2). Routes that
 * need a device certificate refuse one that does not chain to our CAs or is revoked, expired or of
 * a retired device; EST bootstrap, /cacerts, CRLs and OCSP need none.
 */
export async function buildDeviceServer(
  platform: Platform,
  tls: DeviceTls,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 64 * 1024,
    https: {
      key: tls.key,
      cert: tls.cert,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    clientErrorHandler: deviceClientError,
  });
  // A client certificate is read once per connection: no renegotiation may swap it mid-connection.
  app.server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  // Device JSON bodies are validated as strictly as admin ones: unknown fields refused, no coercion.
  const bodyAjv = makeAjv({ coerceTypes: false, removeAdditional: false, useDefaults: true });
  const textAjv = makeAjv({ coerceTypes: true, removeAdditional: false, useDefaults: true });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyAjv.compile(schema) : textAjv.compile(schema),
  );
  app.setErrorHandler((error, _request, reply) => {
    const problem = problemOf(error);
    return reply.code(problem.status).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type('application/problem+json').send(routeNotFound(request.method, request.url)),
  );
  app.addHook('onRequest', deviceAuthenticationHook(platform.identity.enrollment));
  app.get('/healthz', { config: { device: 'open' } }, async () => {
    await platform.store.db.selectFrom('meta').select('key').limit(1).execute();
    return { status: 'ok', version, endpoint: 'device' };
  });
  await app.register(attestationDeviceRoutes(platform.attestation));
  await app.register(updatesDeviceRoutes(platform.updates));
  await app.register(
    deviceRoutes({
      authorities: platform.identity.authorities,
      enrollment: platform.identity.enrollment,
      revocations: platform.identity.revocations,
      profiles: platform.identity.profiles,
    }),
  );
  return app;
}

/**
 * The status listener: plain HTTP, as relying parties fetch CRLs and ask OCSP (RFC 5280
 * §4.2.1.13, RFC 6960 Appendix A). Responses are signed, so the transport needs no protection.
 */
export async function buildStatusServer(
  platform: Platform,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 64 * 1024 });
  app.setErrorHandler((error, _request, reply) => {
    const problem = problemOf(error);
    return reply.code(problem.status).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type('application/problem+json').send(routeNotFound(request.method, request.url)),
  );
  app.get('/healthz', async () => ({ status: 'ok', version, endpoint: 'status' }));
  await app.register(statusRoutes(platform.identity.revocations));
  return app;
}
