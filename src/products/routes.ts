import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf, callerOf } from '../access/index.ts';
import { IdParams, PageQuery, bearerSecurity, withErrors } from '../core/index.ts';
import { memberStates, ownershipStages, regimes, type ProductService } from './service.ts';

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Calendar date YYYY-MM-DD' });
const Text = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000-\\u001f]+$' });
const Regime = Type.Union(regimes.map((regime) => Type.Literal(regime)));
const Stage = Type.Union(ownershipStages.map((stage) => Type.Literal(stage)));
/** An EU or EEA Member State, ISO 3166-1 alpha-2. */
export const MemberStateSchema = Type.Union(
  memberStates.map((state) => Type.Literal(state)),
  { description: 'EU or EEA Member State, ISO 3166-1 alpha-2' },
);

const fields = {
  name: Text(200),
  model: Text(200),
  hardwareRevisions: Type.Array(Text(100), { maxItems: 100, uniqueItems: true }),
  regimes: Type.Array(Regime, { maxItems: regimes.length, uniqueItems: true }),
  supportStart: Day,
  supportEnd: Day,
  expectedUseJustification: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()])),
  memberStates: Type.Optional(
    Type.Array(MemberStateSchema, {
      maxItems: memberStates.length,
      uniqueItems: true,
      description: 'Where the product is made available on the market (named in CRA Art. 14 reports)',
    }),
  ),
};

const Product = Type.Object({
  id: Type.String(),
  name: Type.String(),
  model: Type.String(),
  hardwareRevisions: Type.Array(Type.String()),
  regimes: Type.Array(Regime),
  supportStart: Day,
  supportEnd: Day,
  expectedUseJustification: Type.Union([Type.String(), Type.Null()]),
  memberStates: Type.Array(MemberStateSchema),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  ownershipGaps: Type.Array(Stage, { description: 'Lifecycle stages without an accountable owner' }),
});

const Ownership = Type.Object({
  productId: Type.String(),
  stages: Type.Array(
    Type.Object({
      stage: Stage,
      owner: Type.Union([
        Type.Object({ id: Type.String(), name: Type.String(), kind: Type.String() }),
        Type.Null(),
      ]),
      assignedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    }),
  ),
  gaps: Type.Array(Stage),
});

export function productRoutes(products: ProductService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api/v1/products',
      {
        config: { scope: 'products:write' },
        schema: {
          tags: ['products'],
          summary: 'Create a product with its regimes and support period',
          security: bearerSecurity,
          body: Type.Object(fields, { additionalProperties: false }),
          response: withErrors({ 201: Product }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await products.create(actorOf(callerOf(request)), request.body)),
    );

    app.get(
      '/api/v1/products',
      {
        config: { scope: 'products:read' },
        schema: {
          tags: ['products'],
          summary: 'List products, each with its ownership gaps',
          security: bearerSecurity,
          querystring: PageQuery,
          response: withErrors({
            200: Type.Object({
              products: Type.Array(Product),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
          }),
        },
      },
      async (request) => products.list({ limit: request.query.limit ?? 100, cursor: request.query.cursor }),
    );

    app.get(
      '/api/v1/products/:id',
      {
        config: { scope: 'products:read' },
        schema: {
          tags: ['products'],
          summary: 'Show a product',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: Product }),
        },
      },
      async (request) => products.get(request.params.id),
    );

    app.patch(
      '/api/v1/products/:id',
      {
        config: { scope: 'products:write' },
        schema: {
          tags: ['products'],
          summary: 'Change a product; the whole result is validated again',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Partial(Type.Object(fields), { additionalProperties: false, minProperties: 1 }),
          response: withErrors({ 200: Product }),
        },
      },
      async (request) => products.update(actorOf(callerOf(request)), request.params.id, request.body),
    );

    app.get(
      '/api/v1/products/:id/ownership',
      {
        config: { scope: 'products:read' },
        schema: {
          tags: ['products'],
          summary: 'Lifecycle stages, their accountable owners, and the stages without one',
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({ 200: Ownership }),
        },
      },
      async (request) => products.ownership(request.params.id),
    );

    app.put(
      '/api/v1/products/:id/ownership/:stage',
      {
        config: { scope: 'products:write' },
        schema: {
          tags: ['products'],
          summary: 'Name the accountable owner of a lifecycle stage',
          security: bearerSecurity,
          params: Type.Object(
            { id: Type.String({ format: 'uuid' }), stage: Stage },
            { additionalProperties: false },
          ),
          body: Type.Object(
            { principalId: Type.String({ format: 'uuid' }) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: Ownership }),
        },
      },
      async (request) =>
        products.assignOwner(
          actorOf(callerOf(request)),
          request.params.id,
          request.params.stage,
          request.body.principalId,
        ),
    );

    app.delete(
      '/api/v1/products/:id/ownership/:stage',
      {
        config: { scope: 'products:write' },
        schema: {
          tags: ['products'],
          summary: 'Remove the owner of a lifecycle stage (the stage becomes a gap)',
          security: bearerSecurity,
          params: Type.Object(
            { id: Type.String({ format: 'uuid' }), stage: Stage },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: Ownership }),
        },
      },
      async (request) =>
        products.unassignOwner(actorOf(callerOf(request)), request.params.id, request.params.stage),
    );
  };
}
