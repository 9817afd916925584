import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { IdParams, PageQuery, bearerSecurity, withErrors } from '../core/index.ts';
import { callerOf } from './http.ts';
import { scopePattern } from './scopes.ts';
import { actorOf, type AccessService } from './service.ts';

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f]+$' });

const Principal = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('person'), Type.Literal('service')]),
  name: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});

const Token = Type.Object({
  id: Type.String(),
  principalId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const ScopeString = Type.String({ pattern: scopePattern });

export function accessRoutes(access: AccessService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api/v1/tokens',
      {
        config: { scope: 'tokens:write' },
        schema: {
          tags: ['access'],
          summary: 'Create an API token; the secret is returned once and stored only as a hash',
          security: bearerSecurity,
          body: Type.Object(
            {
              name: Name,
              scopes: Type.Array(ScopeString, { minItems: 1, maxItems: 64, uniqueItems: true }),
              expiresAt: Type.String({ format: 'date-time' }),
              principalId: Type.Optional(Type.String({ format: 'uuid' })),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: Type.Intersect([Token, Type.Object({ token: Type.String() })]) }),
        },
      },
      async (request, reply) => {
        const { token, secret } = await access.createToken(callerOf(request), request.body);
        return reply.code(201).send({ ...token, token: secret });
      },
    );

    app.get(
      '/api/v1/tokens',
      {
        config: { scope: 'tokens:read' },
        schema: {
          tags: ['access'],
          summary: "List tokens (the caller's own; every token with tokens:admin)",
          security: bearerSecurity,
          response: withErrors({ 200: Type.Object({ tokens: Type.Array(Token), nextCursor: Type.Null() }) }),
        },
      },
      async (request) => ({ tokens: await access.listTokens(callerOf(request)), nextCursor: null }),
    );

    app.delete(
      '/api/v1/tokens/:id',
      {
        config: { scope: 'tokens:write' },
        schema: {
          tags: ['access'],
          summary: 'Revoke a token; it is refused from its next request on',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: Token }),
        },
      },
      async (request) => access.revokeToken(callerOf(request), request.params.id),
    );

    app.post(
      '/api/v1/principals',
      {
        config: { scope: 'principals:write' },
        schema: {
          tags: ['access'],
          summary: 'Create a person or service principal, optionally with roles',
          security: bearerSecurity,
          body: Type.Object(
            {
              kind: Type.Union([Type.Literal('person'), Type.Literal('service')]),
              name: Name,
              email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
              roles: Type.Optional(
                Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16, uniqueItems: true }),
              ),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: Principal }),
        },
      },
      async (request, reply) => {
        const principal = await access.createPrincipal(actorOf(callerOf(request)), request.body);
        return reply.code(201).send(principal);
      },
    );

    app.get(
      '/api/v1/principals',
      {
        config: { scope: 'principals:read' },
        schema: {
          tags: ['access'],
          summary: 'List principals',
          security: bearerSecurity,
          querystring: PageQuery,
          response: withErrors({
            200: Type.Object({
              principals: Type.Array(Principal),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
          }),
        },
      },
      async (request) =>
        access.listPrincipals({ limit: request.query.limit ?? 100, cursor: request.query.cursor }),
    );

    app.get(
      '/api/v1/principals/:id',
      {
        config: { scope: 'principals:read' },
        schema: {
          tags: ['access'],
          summary: 'Show a principal',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: Principal }),
        },
      },
      async (request) => access.getPrincipal(request.params.id),
    );

    app.post(
      '/api/v1/principals/:id/roles',
      {
        config: { scope: 'principals:admin' },
        schema: {
          tags: ['access'],
          summary: 'Grant a role to a principal',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object(
            { role: Type.String({ minLength: 1, maxLength: 64 }) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: Principal }),
        },
      },
      async (request) => access.grantRole(actorOf(callerOf(request)), request.params.id, request.body.role),
    );

    app.delete(
      '/api/v1/principals/:id/roles/:role',
      {
        config: { scope: 'principals:admin' },
        schema: {
          tags: ['access'],
          summary: 'Revoke a role from a principal',
          security: bearerSecurity,
          params: Type.Object(
            { id: Type.String({ format: 'uuid' }), role: Type.String({ minLength: 1, maxLength: 64 }) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: Principal }),
        },
      },
      async (request) =>
        access.revokeRole(actorOf(callerOf(request)), request.params.id, request.params.role),
    );

    app.get(
      '/api/v1/roles',
      {
        config: { scope: 'principals:read' },
        schema: {
          tags: ['access'],
          summary: 'Roles, the lifecycle stage each serves, and the scopes each grants',
          security: bearerSecurity,
          response: withErrors({
            200: Type.Object({
              roles: Type.Array(
                Type.Object({
                  name: Type.String(),
                  stage: Type.Union([Type.String(), Type.Null()]),
                  description: Type.String(),
                  scopes: Type.Array(Type.String()),
                }),
              ),
            }),
          }),
        },
      },
      async () => ({ roles: access.listRoles().map((role) => ({ ...role, scopes: [...role.scopes] })) }),
    );

    app.get(
      '/api/v1/access/report',
      {
        config: { scope: 'access:read' },
        schema: {
          tags: ['access'],
          summary: 'Least-privilege findings: expired-but-unrevoked, unused, and over-scoped tokens',
          security: bearerSecurity,
          response: withErrors({
            200: Type.Object({
              generatedAt: Type.String({ format: 'date-time' }),
              windowDays: Type.Integer(),
              findings: Type.Array(
                Type.Object({
                  kind: Type.Union([
                    Type.Literal('expired-unrevoked'),
                    Type.Literal('unused'),
                    Type.Literal('unused-scopes'),
                  ]),
                  token: Token,
                  detail: Type.String(),
                  unusedScopes: Type.Optional(Type.Array(Type.String())),
                  suggestedScopes: Type.Optional(Type.Array(Type.String())),
                }),
              ),
            }),
          }),
        },
      },
      async () => access.report(),
    );
  };
}
