import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { VigilError, bearerSecurity, withErrors } from '../core/index.ts';
import type { Ledger } from './ledger.ts';
import { TILE_WIDTH, parseTilePath } from './verify/index.ts';

const maxEntriesPerPage = 10_000;
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Hashes = Type.Object({ hashes: Type.Array(Type.String({ contentEncoding: 'base64' })) });

/**
 * The ledger as auditors' own tools read it: C2SP tlog-tiles under /ledger/, and JSON
 * convenience endpoints under /api/v1/ledger/ (shapes fixed by the foundation issue).
 */
export function ledgerRoutes(ledger: Ledger): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/ledger/entries',
      {
        config: { scope: 'ledger:read' },
        schema: {
          tags: ['ledger'],
          summary: `Entries [start, end) with their leaf bytes (at most ${maxEntriesPerPage} per call)`,
          security: bearerSecurity,
          querystring: Type.Object({ start: Count, end: Count }, { additionalProperties: false }),
          response: withErrors({
            200: Type.Object({
              entries: Type.Array(
                Type.Object({ index: Type.Integer(), leaf: Type.String({ contentEncoding: 'base64' }) }),
              ),
            }),
          }),
        },
      },
      async (request) => {
        const { start, end } = request.query;
        if (end < start || end - start > maxEntriesPerPage) {
          throw new VigilError(
            'LEDGER_RANGE_INVALID',
            'invalid',
            `end must be in [start, start + ${maxEntriesPerPage}]`,
          );
        }
        const entries = await ledger.entries(start, end);
        return {
          entries: entries.map((entry) => ({ index: entry.index, leaf: entry.leaf.toString('base64') })),
        };
      },
    );

    app.get(
      '/api/v1/ledger/proofs/inclusion',
      {
        config: { scope: 'ledger:read' },
        schema: {
          tags: ['ledger'],
          summary: 'RFC 9162 inclusion proof of entry `index` in the tree of `size`',
          security: bearerSecurity,
          querystring: Type.Object({ index: Count, size: Count }, { additionalProperties: false }),
          response: withErrors({ 200: Hashes }),
        },
      },
      async (request) => ({
        hashes: (await ledger.inclusionProof(request.query.index, request.query.size)).map((hash) =>
          hash.toString('base64'),
        ),
      }),
    );

    app.get(
      '/api/v1/ledger/proofs/consistency',
      {
        config: { scope: 'ledger:read' },
        schema: {
          tags: ['ledger'],
          summary: 'RFC 9162 consistency proof between the trees of size `from` and `to`',
          security: bearerSecurity,
          querystring: Type.Object({ from: Count, to: Count }, { additionalProperties: false }),
          response: withErrors({ 200: Hashes }),
        },
      },
      async (request) => ({
        hashes: (await ledger.consistencyProof(request.query.from, request.query.to)).map((hash) =>
          hash.toString('base64'),
        ),
      }),
    );

    app.get(
      '/api/v1/ledger/verifier-key',
      {
        config: { scope: 'ledger:read' },
        schema: {
          tags: ['ledger'],
          summary: 'The C2SP signed-note verifier key of the checkpoints (text/plain)',
          security: bearerSecurity,
          produces: ['text/plain'],
          response: withErrors({ 200: Type.String() }),
        },
      },
      async (_request, reply) => reply.type('text/plain; charset=utf-8').send(ledger.verifierKey),
    );

    app.get(
      '/api/v1/ledger/checkpoints',
      {
        config: { scope: 'ledger:read' },
        schema: {
          tags: ['ledger'],
          summary: 'Every signed checkpoint, oldest first',
          security: bearerSecurity,
          response: withErrors({
            200: Type.Object({
              checkpoints: Type.Array(
                Type.Object({
                  size: Type.Integer(),
                  rootHash: Type.String({ contentEncoding: 'base64' }),
                  note: Type.String(),
                  createdAt: Type.String({ format: 'date-time' }),
                }),
              ),
            }),
          }),
        },
      },
      async () => ({
        checkpoints: (await ledger.checkpoints()).map((checkpoint) => ({
          ...checkpoint,
          rootHash: checkpoint.rootHash.toString('base64'),
        })),
      }),
    );

    app.get(
      '/api/v1/ledger/entries/:index/proof',
      {
        config: { scope: 'ledger:read' },
        schema: {
          tags: ['ledger'],
          summary: 'Evidence file for one entry: C2SP tlog-proof, with the entry itself as `extra`',
          security: bearerSecurity,
          params: Type.Object({ index: Count }, { additionalProperties: false }),
          produces: ['text/plain'],
          response: withErrors({ 200: Type.String() }),
        },
      },
      async (request, reply) =>
        reply.type('text/plain; charset=utf-8').send(await ledger.proofFile(request.params.index)),
    );

    // C2SP tlog-tiles: the checkpoint changes, so it is never cached; tiles are immutable once full.
    app.get(
      '/ledger/checkpoint',
      {
        config: { scope: 'ledger:read' },
        schema: {
          tags: ['ledger'],
          summary: 'C2SP tlog-tiles checkpoint',
          security: bearerSecurity,
          produces: ['text/plain'],
        },
      },
      async (_request, reply) => {
        const checkpoint = await ledger.latestCheckpoint();
        if (checkpoint === undefined)
          throw new VigilError('LEDGER_EMPTY', 'not_found', 'no checkpoint has been signed yet');
        return reply
          .header('cache-control', 'no-store')
          .type('text/plain; charset=utf-8')
          .send(checkpoint.note);
      },
    );

    app.get(
      '/ledger/tile/*',
      {
        config: { scope: 'ledger:read' },
        schema: {
          tags: ['ledger'],
          summary:
            'C2SP tlog-tiles hash tiles (tile/<L>/<N>[.p/<W>]) and entry bundles (tile/entries/<N>[.p/<W>])',
          security: bearerSecurity,
          produces: ['application/octet-stream'],
          params: Type.Object({ '*': Type.String({ maxLength: 200 }) }),
        },
      },
      async (request, reply) => {
        const tile = parseTilePath(`tile/${request.params['*']}`);
        const width = tile.width ?? TILE_WIDTH;
        const body =
          tile.level === 'entries'
            ? await ledger.entryBundle(tile.index, width)
            : await ledger.tile(tile.level, tile.index, width);
        const cache = width === TILE_WIDTH ? 'public, max-age=31536000, immutable' : 'public, max-age=60';
        return reply.header('cache-control', cache).type('application/octet-stream').send(body);
      },
    );
  };
}
