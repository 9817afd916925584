import { VigilError, toRfc3339, type Clock } from '../../core/index.ts';
import type { Actor, Ledger } from '../../ledger/index.ts';
import { requireProduct } from '../../products/index.ts';
import { isUniqueViolation, type Store } from '../../store/index.ts';
import { csafDocument, type CsafFinding, type CsafPublisher } from './documents.ts';

const publisherKey = 'csaf.publisher';

export interface PublishedDocument {
  trackingId: string;
  version: number;
  category: 'csaf_vex' | 'csaf_security_advisory';
  productId: string;
  publishedAt: string;
  /** Where it is served: /.well-known/csaf/white/<year>/<file>. */
  path: string;
}

/** CSAF 2.0 §5.1: the file name is the tracking id, lower-cased, with other characters as `_`. */
export function csafFileName(trackingId: string): string {
  return `${trackingId.toLowerCase().replace(/[^+\-a-z0-9]+/g, '_')}.json`;
}

/**
 * CSAF publication: each product's `csaf_vex` and `csaf_security_advisory`, generated from its
 * findings, checked with the BSI validator (`validateStrict`: the CSAF 2.0 strict schema and every
 * mandatory test of §6.1) before anything is stored, versioned under a stable tracking id, and
 * served as a CSAF provider's directory (§7.1) with its provider-metadata.json.
 */
export class CsafPublications {
  constructor(private readonly options: { store: Store; ledger: Ledger; clock: Clock; build: string }) {}

  async publisher(): Promise<CsafPublisher | null> {
    const row = await this.options.store.db
      .selectFrom('meta')
      .select('value')
      .where('key', '=', publisherKey)
      .executeTakeFirst();
    return row === undefined ? null : (JSON.parse(row.value) as CsafPublisher);
  }

  async setPublisher(actor: Actor, publisher: CsafPublisher): Promise<CsafPublisher> {
    let url: URL;
    try {
      url = new URL(publisher.namespace);
    } catch {
      throw new VigilError(
        'CSAF_PUBLISHER_INVALID',
        'invalid',
        'the namespace is a URL (CSAF 2.0 §3.2.1.8.3)',
      );
    }
    if (url.protocol !== 'https:')
      throw new VigilError('CSAF_PUBLISHER_INVALID', 'invalid', 'the namespace is an https URL');
    await this.options.ledger.transact(actor, async (tx, record) => {
      await tx
        .insertInto('meta')
        .values({ key: publisherKey, value: JSON.stringify(publisher) })
        .onConflict((conflict) => conflict.column('key').doUpdateSet({ value: JSON.stringify(publisher) }))
        .execute();
      record({ type: 'csaf.publisher-set', subject: publisherKey, details: { ...publisher } });
    });
    return publisher;
  }

  /** Publishes a new version of both documents of a product; nothing is stored unless both validate. */
  async publish(actor: Actor, productId: string): Promise<PublishedDocument[]> {
    const publisher = await this.publisher();
    if (publisher === null) {
      throw new VigilError(
        'CSAF_PUBLISHER_MISSING',
        'conflict',
        'set the publisher first (PUT /api/v1/vulns/publisher)',
      );
    }
    const db = this.options.store.db;
    const product = await requireProduct(db, productId);
    const releases = await db
      .selectFrom('releases')
      .select(['id', 'version'])
      .where('product_id', '=', productId)
      .where('status', '=', 'published')
      .orderBy('id')
      .execute();
    const findings: CsafFinding[] = (
      await db
        .selectFrom('findings')
        .selectAll()
        .where('product_id', '=', productId)
        .where('withdrawn', '=', 0)
        .execute()
    ).map((row) => ({
      vulnerability: row.vulnerability_id,
      aliases: JSON.parse(row.aliases) as string[],
      releaseId: row.release_id,
      component: row.purl ?? row.component_ref,
      state: row.state,
      justification: row.justification,
      fixedReleaseId: row.fixed_release_id,
    }));
    const now = toRfc3339(this.options.clock.now());
    const drafts: {
      trackingId: string;
      version: number;
      category: 'csaf_vex' | 'csaf_security_advisory';
      document: Record<string, unknown>;
      initialReleaseDate: string;
    }[] = [];
    for (const category of ['csaf_vex', 'csaf_security_advisory'] as const) {
      const trackingId = `VIGIL-${category === 'csaf_vex' ? 'VEX' : 'SA'}-${productId}`;
      const earlier = await db
        .selectFrom('csaf_documents')
        .select(['version', 'published_at', 'document'])
        .where('tracking_id', '=', trackingId)
        .orderBy('version', 'desc')
        .executeTakeFirst();
      const version = (earlier?.version ?? 0) + 1;
      const history = [
        ...((earlier === undefined
          ? []
          : (
              JSON.parse(earlier.document) as {
                document: {
                  tracking: { revision_history: { number: string; date: string; summary: string }[] };
                };
              }
            ).document.tracking.revision_history.map((entry) => ({
              number: Number(entry.number),
              date: entry.date,
              summary: entry.summary,
            }))) as { number: number; date: string; summary: string }[]),
        { number: version, date: now, summary: version === 1 ? 'Initial version.' : 'Findings reassessed.' },
      ];
      const document = csafDocument({
        category,
        publisher,
        product,
        releases,
        findings,
        tracking: {
          id: trackingId,
          version,
          initialReleaseDate: history[0]!.date,
          currentReleaseDate: now,
          history,
        },
        generator: { name: 'Vigil', version: this.options.build },
      });
      const result = await validateCsaf(document);
      if (!result.isValid) {
        const errors = result.tests.flatMap((test) =>
          test.errors.map((error) => ({
            path: error.instancePath || '/',
            message: `${test.name}: ${error.message}`,
          })),
        );
        throw new VigilError(
          'CSAF_INVALID',
          'internal',
          `the ${category} document did not pass the CSAF validator`,
          { facts: { errors: errors.slice(0, 20) } },
        );
      }
      drafts.push({ trackingId, version, category, document, initialReleaseDate: history[0]!.date });
    }
    try {
      await this.options.ledger.transact(actor, async (tx, record) => {
        for (const draft of drafts) {
          await tx
            .insertInto('csaf_documents')
            .values({
              tracking_id: draft.trackingId,
              version: draft.version,
              product_id: productId,
              category: draft.category,
              document: JSON.stringify(draft.document),
              published_at: now,
            })
            .execute();
          record({
            type: 'csaf.published',
            subject: draft.trackingId,
            details: { version: draft.version, category: draft.category, productId },
          });
        }
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new VigilError(
          'CSAF_PUBLISH_RACE',
          'conflict',
          'another publication of this product won the race; publish again',
        );
      throw error;
    }
    return drafts.map((draft) => ({
      trackingId: draft.trackingId,
      version: draft.version,
      category: draft.category,
      productId,
      publishedAt: now,
      path: pathOf(draft.initialReleaseDate, draft.trackingId),
    }));
  }

  /** The newest version of every published document (the provider's directory). */
  async published(): Promise<(PublishedDocument & { document: string })[]> {
    const rows = await this.options.store.db
      .selectFrom('csaf_documents')
      .selectAll()
      .orderBy('tracking_id')
      .orderBy('version', 'desc')
      .execute();
    const newest = new Map<string, (typeof rows)[number]>();
    for (const row of rows) if (!newest.has(row.tracking_id)) newest.set(row.tracking_id, row);
    return [...newest.values()].map((row) => {
      const initial = (
        JSON.parse(row.document) as { document: { tracking: { initial_release_date: string } } }
      ).document.tracking.initial_release_date;
      return {
        trackingId: row.tracking_id,
        version: row.version,
        category: row.category,
        productId: row.product_id,
        publishedAt: row.published_at,
        path: pathOf(initial, row.tracking_id),
        document: row.document,
      };
    });
  }
}

/**
 * The BSI validator, loaded on first use: it pulls in large dictionaries and polyfills that every
 * `vigil` command and server start would otherwise pay for.
 */
async function validateCsaf(document: unknown) {
  const [{ default: validateStrict }, mandatoryTests, { csaf_2_0_strict }] = await Promise.all([
    import('@secvisogram/csaf-validator-lib/validateStrict.js'),
    import('@secvisogram/csaf-validator-lib/mandatoryTests.js'),
    import('@secvisogram/csaf-validator-lib/schemaTests.js'),
  ]);
  return validateStrict([csaf_2_0_strict, ...Object.values(mandatoryTests)], document);
}

/** §7.1.11: the year folder is the year of the initial release date. */
function pathOf(initialReleaseDate: string, trackingId: string): string {
  return `${initialReleaseDate.slice(0, 4)}/${csafFileName(trackingId)}`;
}
