import type { FastifyRequest, onRequestHookHandler, onSendHookHandler } from 'fastify';
import { VigilError } from '../core/index.ts';
import type { Scope } from './scopes.ts';
import type { AccessService, Caller } from './service.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one are public (health, metrics, docs). */
    scope?: Scope;
  }
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** Authenticates every request to a route that declares a scope, before its body is read. */
export function authenticationHook(access: AccessService): onRequestHookHandler {
  return async (request) => {
    const scope = request.routeOptions.config.scope;
    if (scope === undefined) return;
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    request.caller = await access.authenticate(match?.[1], scope);
  };
}

/**
 * Records every use of an authenticated token before the reply leaves. Only a request that
 * succeeded counts as needing its scope: a refused or malformed one must not make a scope look
 * used in the least-privilege report.
 */
export function usageHook(access: AccessService): onSendHookHandler {
  return async (request, reply) => {
    if (request.caller === undefined) return;
    await access.recordUse(
      request.caller,
      reply.statusCode < 400 ? request.routeOptions.config.scope : undefined,
    );
  };
}

/** The authenticated caller of a scoped route. */
export function callerOf(request: FastifyRequest): Caller {
  if (request.caller === undefined) {
    throw new VigilError('ACCESS_TOKEN_MISSING', 'unauthenticated', 'a bearer token is required');
  }
  return request.caller;
}
