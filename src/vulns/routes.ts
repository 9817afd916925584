import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf, callerOf } from '../access/index.ts';
import { IdParams, VigilError, bearerSecurity, toRfc3339, withErrors } from '../core/index.ts';
import { MemberStateSchema } from '../products/index.ts';
import { craReports } from './clocks.ts';
import { notAffectedJustifications, type FindingView } from './findings.ts';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Vulns } from './vulns.ts';
import { csafFileName } from './csaf/publication.ts';
import { cycloneDxVex, openVex } from './vex-export.ts';

const ElementCoverage = Type.Object({}, { additionalProperties: true });

const VexStateSchema = Type.Union([
  Type.Literal('under_investigation'),
  Type.Literal('affected'),
  Type.Literal('not_affected'),
  Type.Literal('fixed'),
]);

const FindingSchema = Type.Object({
  id: Type.String(),
  vulnerability: Type.String(),
  aliases: Type.Array(Type.String()),
  advisories: Type.Array(Type.String()),
  releaseId: Type.String(),
  productId: Type.String(),
  component: Type.String(),
  purl: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.String(), Type.Null()]),
  confidence: Type.Union([Type.Literal('high'), Type.Literal('low')], {
    description: 'low: matched by CPE only (the component has no purl)',
  }),
  severity: Type.Union([
    Type.Object({
      score: Type.Union([Type.Number(), Type.Null()]),
      rating: Type.Union([Type.String(), Type.Null()]),
      vector: Type.Union([Type.String(), Type.Null()]),
      overridden: Type.Optional(
        Type.Boolean({ description: "A person's assessment, over the advisory's CVSS" }),
      ),
    }),
    Type.Null(),
  ]),
  state: VexStateSchema,
  justification: Type.Union([Type.String(), Type.Null()]),
  fixedReleaseId: Type.Union([Type.String(), Type.Null()]),
  exploited: Type.Boolean(),
  withdrawn: Type.Boolean(),
  deadline: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  exposure: Type.Integer({
    minimum: 0,
    description: 'Devices in the field still running the release (last check-in or last appraisal)',
  }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const vexMediaTypes = ['application/vnd.cyclonedx+json', 'application/json'];
const vexUploadLimit = 16 * 1024 * 1024;
const advisoryMediaTypes = [
  'application/octet-stream',
  'application/json',
  'application/gzip',
  'application/x-ndjson',
];

const VexImportReportSchema = Type.Object({
  applied: Type.Array(
    Type.Object({
      findingId: Type.String(),
      vulnerability: Type.String(),
      componentRef: Type.String(),
      from: VexStateSchema,
      to: VexStateSchema,
      justification: Type.Optional(Type.String()),
    }),
  ),
  unchanged: Type.Integer({ description: 'Findings that already stood as the VEX says' }),
  withoutFinding: Type.Array(Type.Object({ vulnerability: Type.String(), componentRef: Type.String() }), {
    description: 'Statements on a component for a vulnerability the release has no finding of',
  }),
  unresolved: Type.Array(
    Type.Object({ vulnerability: Type.String(), ref: Type.String(), reason: Type.String() }),
  ),
  notApplicable: Type.Array(
    Type.Object({
      vulnerability: Type.String(),
      componentRef: Type.String(),
      version: Type.Optional(Type.String()),
    }),
  ),
});

const FindingsPage = Type.Object({
  findings: Type.Array(FindingSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

const FindingsQuery = Type.Object(
  {
    state: Type.Optional(VexStateSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

const ImportReportSchema = Type.Object({
  format: Type.String(),
  added: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  rejected: Type.Integer(),
  errors: Type.Array(Type.Object({ where: Type.String(), message: Type.String() })),
  findings: Type.Integer(),
  exploited: Type.Integer(),
});

const ReportName = Type.Union(craReports.map((report) => Type.Literal(report)));

const ClockSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('exploited-vulnerability'), Type.Literal('severe-incident')]),
  productId: Type.String(),
  vulnerability: Type.Union([Type.String(), Type.Null()]),
  title: Type.String(),
  description: Type.String(),
  memberStates: Type.Array(Type.String()),
  awareAt: Type.String({ format: 'date-time' }),
  correctiveMeasure: Type.Union([
    Type.Object({ at: Type.String({ format: 'date-time' }), description: Type.String() }),
    Type.Null(),
  ]),
  reports: Type.Array(
    Type.Object({
      report: ReportName,
      dueAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      sentAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      reference: Type.Union([Type.String(), Type.Null()]),
      overdue: Type.Boolean(),
    }),
  ),
  overdue: Type.Boolean(),
});

const ClockParams = Type.Object(
  { id: Type.String({ format: 'uuid' }), report: ReportName },
  { additionalProperties: false },
);

/** Advisory feeds run to tens of megabytes (gzip JSON-lines of a whole ecosystem). */
const advisoryUploadLimit = 64 * 1024 * 1024;

/** The vulnerability part of the admin API. */
export function vulnsRoutes(vulns: Vulns): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/releases/:id/sbom/completeness',
      {
        config: { scope: 'vulnerabilities:read' },
        schema: {
          tags: ['vulnerabilities'],
          summary: "The release SBOM's completeness against the NTIA minimum elements and BSI TR-03183-2",
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({
            200: Type.Object({
              releaseId: Type.String(),
              format: Type.String(),
              specVersion: Type.String(),
              components: Type.Integer(),
              parsedAt: Type.String({ format: 'date-time' }),
              completeness: ElementCoverage,
            }),
          }),
        },
      },
      async (request) => vulns.sboms.get(request.params.id),
    );

    for (const [path, summary, scope] of [
      [
        '/api/v1/releases/:id/findings',
        "A release's findings: vulnerability, component, VEX state, severity, deadline",
        'release',
      ],
      ['/api/v1/products/:id/findings', "A product's findings over all its releases", 'product'],
    ] as const) {
      app.get(
        path,
        {
          config: { scope: 'vulnerabilities:read' },
          schema: {
            tags: ['vulnerabilities'],
            summary,
            security: bearerSecurity,
            params: IdParams,
            querystring: FindingsQuery,
            response: withErrors({ 200: FindingsPage }),
          },
        },
        async (request) =>
          vulns.findings.list({
            ...(scope === 'release' ? { releaseId: request.params.id } : { productId: request.params.id }),
            state: request.query.state,
            limit: request.query.limit ?? 100,
            cursor: request.query.cursor,
          }),
      );
    }

    app.get(
      '/api/v1/findings',
      {
        config: { scope: 'vulnerabilities:read' },
        schema: {
          tags: ['vulnerabilities'],
          summary: 'Every finding of the portfolio',
          security: bearerSecurity,
          querystring: FindingsQuery,
          response: withErrors({ 200: FindingsPage }),
        },
      },
      async (request) =>
        vulns.findings.list({
          state: request.query.state,
          limit: request.query.limit ?? 100,
          cursor: request.query.cursor,
        }),
    );

    app.patch(
      '/api/v1/findings/:id',
      {
        config: { scope: 'vulnerabilities:write' },
        schema: {
          tags: ['vulnerabilities'],
          summary:
            'Triage a finding: its VEX state, why, and (fixed) the fixing release; recorded as finding.triaged',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object(
            {
              state: VexStateSchema,
              justification: Type.Optional(
                Type.Union(notAffectedJustifications.map((value) => Type.Literal(value))),
              ),
              fixedReleaseId: Type.Optional(Type.String({ format: 'uuid' })),
              exploited: Type.Optional(
                Type.Boolean({ description: 'Actively exploited, as a person knows it' }),
              ),
              severity: Type.Optional(
                Type.Object(
                  {
                    rating: Type.Union([
                      Type.Literal('critical'),
                      Type.Literal('high'),
                      Type.Literal('medium'),
                      Type.Literal('low'),
                      Type.Literal('none'),
                    ]),
                    score: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
                  },
                  {
                    additionalProperties: false,
                    description: "A person's severity assessment, over the advisory's CVSS",
                  },
                ),
              ),
              reason: Type.String({ minLength: 1, maxLength: 2000 }),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: FindingSchema }),
        },
      },
      async (request) => vulns.findings.triage(actorOf(callerOf(request)), request.params.id, request.body),
    );

    app.get(
      '/api/v1/vulns/clocks',
      {
        config: { scope: 'vulnerabilities:read' },
        schema: {
          tags: ['vulnerabilities'],
          summary: 'CRA Art. 14 reporting clocks: early warning, notification, final report; overdue first',
          security: bearerSecurity,
          response: withErrors({ 200: Type.Object({ clocks: Type.Array(ClockSchema) }) }),
        },
      },
      async () => vulns.clocks.list(),
    );

    app.post(
      '/api/v1/vulns/clocks',
      {
        config: { scope: 'vulnerabilities:write' },
        schema: {
          tags: ['vulnerabilities'],
          summary:
            "Report a severe incident having an impact on a product's security (CRA Art. 14(3)): its clock starts",
          security: bearerSecurity,
          body: Type.Object(
            {
              productId: Type.String({ format: 'uuid' }),
              title: Type.String({ minLength: 1, maxLength: 300 }),
              description: Type.String({ minLength: 1, maxLength: 20_000 }),
              awareAt: Type.Optional(Type.String({ format: 'date-time' })),
              memberStates: Type.Optional(
                Type.Array(MemberStateSchema, {
                  maxItems: 30,
                  uniqueItems: true,
                  description: "Where the incident matters; by default the product's Member States",
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 201: ClockSchema }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await vulns.clocks.reportIncident(actorOf(callerOf(request)), request.body)),
    );

    app.get(
      '/api/v1/vulns/clocks/:id/reports/:report',
      {
        config: { scope: 'vulnerabilities:read' },
        schema: {
          tags: ['vulnerabilities'],
          summary: 'A report drafted from the record (product, Member States, nature, measures, timeline)',
          security: bearerSecurity,
          params: ClockParams,
          response: withErrors({ 200: Type.Object({}, { additionalProperties: true }) }),
        },
      },
      async (request) => vulns.clocks.draft(request.params.id, request.params.report),
    );

    app.post(
      '/api/v1/vulns/clocks/:id/reports/:report/sent',
      {
        config: { scope: 'vulnerabilities:admin' },
        schema: {
          tags: ['vulnerabilities'],
          summary:
            'Mark a report sent (to the CSIRT and ENISA single reporting platform), by a person; recorded',
          security: bearerSecurity,
          params: ClockParams,
          body: Type.Object(
            { reference: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: ClockSchema }),
        },
      },
      async (request) =>
        vulns.clocks.markSent(
          actorOf(callerOf(request)),
          request.params.id,
          request.params.report,
          request.body.reference,
        ),
    );

    app.post(
      '/api/v1/vulns/clocks/:id/corrective-measure',
      {
        config: { scope: 'vulnerabilities:write' },
        schema: {
          tags: ['vulnerabilities'],
          summary:
            'Record that a corrective or mitigating measure is available: the final report falls due 14 days later',
          security: bearerSecurity,
          params: IdParams,
          body: Type.Object(
            { description: Type.String({ minLength: 1, maxLength: 5000 }) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: ClockSchema }),
        },
      },
      async (request) =>
        vulns.clocks.recordCorrectiveMeasure(
          actorOf(callerOf(request)),
          request.params.id,
          request.body.description,
        ),
    );

    const PublisherSchema = Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 200 }),
        namespace: Type.String({
          format: 'uri',
          maxLength: 500,
          description: 'https URL identifying the publisher (CSAF 2.0 §3.2.1.8.3)',
        }),
        contact: Type.Optional(
          Type.String({
            pattern: '^(mailto:|https://)',
            maxLength: 300,
            description: 'The product security contact: a mailto: or https: URI (RFC 9116 §2.5.3)',
          }),
        ),
      },
      { additionalProperties: false },
    );

    app.put(
      '/api/v1/vulns/publisher',
      {
        config: { scope: 'vulnerabilities:admin' },
        schema: {
          tags: ['vulnerabilities'],
          summary: 'The CSAF publisher (the manufacturer) and its product security contact (security.txt)',
          security: bearerSecurity,
          body: PublisherSchema,
          response: withErrors({ 200: PublisherSchema }),
        },
      },
      async (request) => vulns.csaf.setPublisher(actorOf(callerOf(request)), request.body),
    );

    app.post(
      '/api/v1/products/:id/csaf',
      {
        config: { scope: 'vulnerabilities:admin' },
        schema: {
          tags: ['vulnerabilities'],
          summary:
            "Publish a new version of the product's csaf_vex and csaf_security_advisory (validated with the BSI CSAF validator) at /.well-known/csaf/",
          security: bearerSecurity,
          params: IdParams,
          response: withErrors({
            201: Type.Object({
              documents: Type.Array(
                Type.Object({
                  trackingId: Type.String(),
                  version: Type.Integer(),
                  category: Type.String(),
                  productId: Type.String(),
                  publishedAt: Type.String({ format: 'date-time' }),
                  path: Type.String(),
                }),
              ),
            }),
          }),
        },
      },
      async (request, reply) =>
        reply
          .code(201)
          .send({ documents: await vulns.csaf.publish(actorOf(callerOf(request)), request.params.id) }),
    );

    // The CSAF provider's directory (OASIS CSAF 2.0 §7.1) and security.txt (RFC 9116): public,
    // at their standard paths.
    const baseUrl = (request: FastifyRequest) =>
      process.env.VIGIL_PUBLIC_URL || `${request.protocol}://${request.host}`;
    const hidden = { schema: { hide: true } };

    app.get('/.well-known/csaf/provider-metadata.json', hidden, async (request, reply) => {
      const publisher = await vulns.csaf.publisher();
      if (publisher === null)
        throw new VigilError('CSAF_PUBLISHER_MISSING', 'not_found', 'no CSAF publisher is set');
      const documents = await vulns.csaf.published();
      const base = baseUrl(request);
      return reply.type('application/json').send({
        canonical_url: `${base}/.well-known/csaf/provider-metadata.json`,
        distributions: [{ directory_url: `${base}/.well-known/csaf/white/` }],
        last_updated:
          documents
            .map((document) => document.publishedAt)
            .sort()
            .at(-1) ?? '1970-01-01T00:00:00Z',
        list_on_CSAF_aggregators: true,
        metadata_version: '2.0',
        mirror_on_CSAF_aggregators: true,
        publisher: {
          category: 'vendor',
          name: publisher.name,
          namespace: publisher.namespace,
          ...(publisher.contact === undefined ? {} : { contact_details: publisher.contact }),
        },
        role: 'csaf_provider',
      });
    });

    app.get('/.well-known/csaf/white/index.txt', hidden, async (_request, reply) =>
      reply
        .type('text/plain')
        .send((await vulns.csaf.published()).map((document) => `${document.path}\n`).join('')),
    );

    app.get('/.well-known/csaf/white/changes.csv', hidden, async (_request, reply) => {
      const documents = (await vulns.csaf.published()).sort((a, b) =>
        a.publishedAt < b.publishedAt ? 1 : -1,
      );
      return reply
        .type('text/csv')
        .send(documents.map((document) => `"${document.path}","${document.publishedAt}"\n`).join(''));
    });

    app.get<{ Params: { year: string; file: string } }>(
      '/.well-known/csaf/white/:year/:file',
      hidden,
      async (request, reply) => {
        const found = (await vulns.csaf.published()).find(
          (document) =>
            document.path === `${request.params.year}/${request.params.file}` &&
            csafFileName(document.trackingId) === request.params.file,
        );
        if (found === undefined)
          throw new VigilError('CSAF_DOCUMENT_NOT_FOUND', 'not_found', 'no such CSAF document');
        return reply.type('application/json').send(found.document);
      },
    );

    app.get('/.well-known/security.txt', hidden, async (request, reply) => {
      const publisher = await vulns.csaf.publisher();
      if (publisher?.contact === undefined)
        throw new VigilError('SECURITY_CONTACT_MISSING', 'not_found', 'no product security contact is set');
      const base = baseUrl(request);
      const expires = toRfc3339(new Date(Date.now() + 365 * 86_400_000));
      return reply
        .type('text/plain; charset=utf-8')
        .send(
          [
            `Contact: ${publisher.contact}`,
            `Expires: ${expires}`,
            `Canonical: ${base}/.well-known/security.txt`,
            `CSAF: ${base}/.well-known/csaf/provider-metadata.json`,
            'Preferred-Languages: en',
            '',
          ].join('\n'),
        );
    });

    app.get(
      '/api/v1/releases/:id/vex',
      {
        config: { scope: 'vulnerabilities:read' },
        schema: {
          tags: ['vulnerabilities'],
          summary: "The release's VEX as CycloneDX 1.6 (default) or OpenVEX 0.2.0",
          security: bearerSecurity,
          params: IdParams,
          querystring: Type.Object(
            {
              format: Type.Optional(
                Type.Union([Type.Literal('cyclonedx'), Type.Literal('openvex')], { default: 'cyclonedx' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: Type.Object({}, { additionalProperties: true }) }),
        },
      },
      async (request, reply) => {
        const release = await vulns.releaseSummary(request.params.id);
        const findings: FindingView[] = [];
        let cursor: string | undefined;
        do {
          const page = await vulns.findings.list({ releaseId: request.params.id, limit: 1000, cursor });
          findings.push(...page.findings);
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        const now = toRfc3339(new Date());
        if (request.query.format === 'openvex') {
          const publisher = await vulns.csaf.publisher();
          return reply
            .type('application/json')
            .send(openVex(release, publisher?.name ?? 'Vigil', findings, now));
        }
        return reply.type('application/vnd.cyclonedx+json').send(cycloneDxVex(release, findings, now));
      },
    );

    const DaysSchema = Type.Integer({ minimum: 1, maximum: 3650 });
    const PolicySchema = Type.Object(
      {
        critical: DaysSchema,
        high: DaysSchema,
        medium: DaysSchema,
        low: DaysSchema,
        unknown: DaysSchema,
        exploited: DaysSchema,
      },
      { additionalProperties: false },
    );
    app.put(
      '/api/v1/products/:id/remediation-policy',
      {
        config: { scope: 'vulnerabilities:admin' },
        schema: {
          tags: ['vulnerabilities'],
          summary: 'Days the product allows to remediate a finding, by severity and when actively exploited',
          security: bearerSecurity,
          params: IdParams,
          body: PolicySchema,
          response: withErrors({ 200: PolicySchema }),
        },
      },
      async (request) =>
        vulns.findings.setPolicy(actorOf(callerOf(request)), request.params.id, request.body),
    );

    // Documents arrive as the bytes sent, read whole (no JSON parsing before their own readers).
    const fileName = Type.Object(
      {
        name: Type.Optional(
          Type.String({ maxLength: 300, description: 'The file the document came from, for the record' }),
        ),
      },
      { additionalProperties: false },
    );
    await app.register(
      byteUploads(vexMediaTypes, vexUploadLimit, 'the VEX', (uploads, bytesOf) =>
        uploads.post(
          '/api/v1/releases/:id/vex',
          {
            config: { scope: 'vulnerabilities:write' },
            schema: {
              tags: ['vulnerabilities'],
              summary:
                "Apply a CycloneDX VEX to the release's findings (each change recorded as finding.triaged)",
              description:
                "Statements are resolved against the release's SBOM (bom-ref, BOM-Link or purl; version ranges evaluated) and matched to findings by vulnerability id or alias. All or nothing; up to 16 MiB.",
              security: bearerSecurity,
              consumes: vexMediaTypes,
              params: IdParams,
              querystring: fileName,
              body: Type.String({ format: 'binary', description: 'The CycloneDX VEX (JSON)' }),
              response: withErrors({ 200: VexImportReportSchema }),
            },
          },
          async (request) =>
            vulns.findings.applyVex(
              actorOf(callerOf(request)),
              (request.params as { id: string }).id,
              bytesOf(request),
              (request.query as { name?: string }).name ?? '',
            ),
        ),
      ),
    );
    // Advisory files: JSON, JSON-lines or gzip, detected by content.
    await app.register(
      byteUploads(advisoryMediaTypes, advisoryUploadLimit, 'the advisory file', (uploads, bytesOf) =>
        uploads.post(
          '/api/v1/vulns/advisories',
          {
            config: { scope: 'vulnerabilities:write' },
            schema: {
              tags: ['vulnerabilities'],
              summary:
                'Import advisories: an OSV record or JSON-lines (gzip or not), a CSAF 2.0 document, or the CISA KEV catalogue',
              description:
                'Re-importing changes nothing; a changed advisory replaces its record and is matched again. Up to 64 MiB.',
              security: bearerSecurity,
              consumes: advisoryMediaTypes,
              querystring: fileName,
              body: Type.String({ format: 'binary' }),
              response: withErrors({ 200: ImportReportSchema }),
            },
          },
          async (request) =>
            vulns.advisories.import(
              actorOf(callerOf(request)),
              bytesOf(request),
              (request.query as { name?: string }).name ?? '',
            ),
        ),
      ),
    );
  };
}

/**
 * A plugin whose routes read their body as the bytes sent, for these media types and up to `limit`
 * (its own content-type parsers, so they do not reach the JSON routes). `bytesOf` refuses any other
 * media type with 415.
 */
function byteUploads(
  mediaTypes: string[],
  limit: number,
  what: string,
  routes: (uploads: FastifyInstance, bytesOf: (request: FastifyRequest) => Buffer) => void,
): FastifyPluginAsync {
  return async (uploads) => {
    uploads.removeContentTypeParser('application/json');
    uploads.addContentTypeParser(
      mediaTypes,
      { parseAs: 'buffer', bodyLimit: limit },
      (_request, body, done) => done(null, body),
    );
    routes(uploads, (request) => {
      const body = request.body as unknown;
      if (!Buffer.isBuffer(body)) {
        throw new VigilError(
          'REQUEST_MEDIA_TYPE_UNSUPPORTED',
          'unsupported_media',
          `send ${what} as ${mediaTypes.join(' or ')}`,
        );
      }
      return body;
    });
  };
}
