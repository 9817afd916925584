import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Selectable } from 'kysely';
import type { ReferenceValueStore } from '../attestation/index.ts';
import type { ReferenceValues } from '../attestation/index.ts';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger, LedgerEvent } from '../ledger/index.ts';
import type { ProductService } from '../products/index.ts';
import {
  isUniqueViolation,
  type Queryable,
  type ReleasesTable,
  type Store,
  type Tx,
} from '../store/index.ts';
import type { ArtifactDeclaration, ArtifactStore } from './artifacts.ts';
import type { TufRepositories } from './repository.ts';
import type { TargetDescription } from './tuf/index.ts';

type ReleaseRow = Selectable<ReleasesTable>;

export interface ReleaseArtifact {
  name: string;
  /** The TUF target path devices ask for: `<version>/<name>`. */
  targetPath: string;
  sha256: string;
  sha512: string;
  length: number;
}

export interface Release {
  id: string;
  productId: string;
  version: string;
  securityVersion: number;
  hardwareRevisions: string[];
  notes: string;
  securityUpdate: boolean;
  status: 'draft' | 'published';
  artifacts: ReleaseArtifact[];
  sbom: { digest: string; mediaType: string } | null;
  approvals: { keyid: string; principalId: string; approvedAt: string }[];
  createdAt: string;
  createdBy: string;
  publishedAt: string | null;
  targetsVersion: number | null;
}

export interface ReleaseInput {
  productId: string;
  version: string;
  securityVersion: number;
  hardwareRevisions: string[];
  notes?: string | undefined;
  securityUpdate?: boolean | undefined;
  /** Attestation reference values the release brings, per hardware revision. */
  referenceValues?: { hardwareRevision: string; values: ReferenceValues }[] | undefined;
}

/**
 * Reads a release's SBOM while it is uploaded (the vulnerability module is one). `read` runs before
 * anything is stored and refuses a document with a typed error; `store` runs inside the attach
 * transaction with what `read` returned. Kept as an interface here so that updates does not depend
 * on the module above it that implements it.
 */
export interface SbomReader {
  /** Reads the document as its bytes arrive (the iterable throws if the upload breaks a limit). */
  read(chunks: AsyncIterable<Uint8Array>): Promise<unknown>;
  store(
    tx: Tx,
    record: (event: LedgerEvent) => void,
    release: Pick<Release, 'id' | 'productId' | 'version'>,
    read: unknown,
  ): Promise<void>;
}

/** What may stand in the way of publishing a release (CRA Annex I Part I (2)(a): no known exploitable vulnerability). */
export interface PublicationGate {
  /** Why the release may not be published now; empty when nothing stands in the way. */
  blockers(release: Release): Promise<string[]>;
}

/** Versions and artifact names become TUF target paths and URLs: a safe, bounded alphabet. */
const versionPattern = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
const artifactNamePattern = /^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$/;

/** SBOMs are kept opaque here (the vulnerability module parses them); at most 32 MiB. */
export const sbomMaxBytes = 32 * 1024 * 1024;

/**
 * Releases of a product: created as drafts, artifacts streamed into the content-addressed store,
 * approved by the product's release signers (k of n), published as TUF targets.
 */
export class ReleaseService {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly products: ProductService;
  private readonly artifacts: ArtifactStore;
  private readonly repositories: TufRepositories;
  private readonly referenceValues: ReferenceValueStore;

  constructor(options: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    products: ProductService;
    artifacts: ArtifactStore;
    repositories: TufRepositories;
    referenceValues: ReferenceValueStore;
  }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.products = options.products;
    this.artifacts = options.artifacts;
    this.repositories = options.repositories;
    this.referenceValues = options.referenceValues;
  }

  async create(actor: Actor, input: ReleaseInput): Promise<Release> {
    if (!versionPattern.test(input.version)) {
      throw new VigilError(
        'RELEASE_VERSION_INVALID',
        'invalid',
        'a release version is 1-64 characters of letters, digits and . + _ -, starting with a letter or digit',
      );
    }
    if (!Number.isSafeInteger(input.securityVersion) || input.securityVersion < 0) {
      throw new VigilError(
        'RELEASE_SECURITY_VERSION_INVALID',
        'invalid',
        'securityVersion is a whole number ≥ 0',
      );
    }
    const product = await this.products.get(input.productId);
    if (input.hardwareRevisions.length === 0) {
      throw new VigilError(
        'RELEASE_HARDWARE_REVISION_UNKNOWN',
        'invalid',
        'a release fits at least one hardware revision',
      );
    }
    const unknown = input.hardwareRevisions.filter(
      (revision) => !product.hardwareRevisions.includes(revision),
    );
    if (unknown.length > 0) {
      throw new VigilError(
        'RELEASE_HARDWARE_REVISION_UNKNOWN',
        'invalid',
        `product ${product.name} has no hardware revision ${unknown.join(', ')} (it has ${product.hardwareRevisions.join(', ')})`,
      );
    }
    for (const set of input.referenceValues ?? []) {
      if (!input.hardwareRevisions.includes(set.hardwareRevision)) {
        throw new VigilError(
          'RELEASE_HARDWARE_REVISION_UNKNOWN',
          'invalid',
          `reference values for hardware revision ${set.hardwareRevision}, which the release does not fit`,
        );
      }
    }
    const id = newId();
    const now = toRfc3339(this.clock.now());
    try {
      await this.ledger.transact(actor, async (tx, record) => {
        // Anti-rollback (CRA Annex I Part I (2)(c)): a security update never lowers the security
        // version below one the product already shipped.
        const highest = await tx
          .selectFrom('releases')
          .select(({ fn }) => fn.max('security_version').as('highest'))
          .where('product_id', '=', input.productId)
          .executeTakeFirst();
        const floor =
          highest?.highest === null || highest?.highest === undefined ? null : Number(highest.highest);
        if (input.securityUpdate === true && floor !== null && input.securityVersion < floor) {
          throw new VigilError(
            'RELEASE_SECURITY_VERSION_REGRESSION',
            'conflict',
            `a security update needs a security version of at least ${floor}, the highest this product has released; got ${input.securityVersion}`,
            { facts: { highest: floor } },
          );
        }
        await tx
          .insertInto('releases')
          .values({
            id,
            product_id: input.productId,
            version: input.version,
            security_version: input.securityVersion,
            hardware_revisions: JSON.stringify(input.hardwareRevisions),
            notes: input.notes ?? '',
            security_update: input.securityUpdate === true ? 1 : 0,
            status: 'draft',
            sbom: null,
            sbom_media_type: null,
            sbom_digest: null,
            created_at: now,
            created_by: actor.principal,
            published_at: null,
            targets_version: null,
          })
          .execute();
        for (const set of input.referenceValues ?? []) {
          await this.referenceValues.addWithin(tx, record, {
            productId: input.productId,
            hardwareRevision: set.hardwareRevision,
            release: input.version,
            values: set.values,
            source: 'upload',
          });
        }
        record({
          type: 'release.created',
          subject: id,
          details: {
            productId: input.productId,
            version: input.version,
            securityVersion: input.securityVersion,
            hardwareRevisions: input.hardwareRevisions,
            securityUpdate: input.securityUpdate === true,
          },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new VigilError(
          'RELEASE_VERSION_EXISTS',
          'conflict',
          `product ${product.name} already has release ${input.version}`,
        );
      }
      throw error;
    }
    return this.get(id);
  }

  async get(id: string): Promise<Release> {
    const row = await this.requireRow(this.store.db, id);
    return (await this.withDetails([row]))[0]!;
  }

  async list(options: {
    productId?: string | undefined;
    limit: number;
    cursor?: string | undefined;
  }): Promise<{ releases: Release[]; nextCursor: string | null }> {
    let query = this.store.db
      .selectFrom('releases')
      .selectAll()
      .orderBy('id')
      .limit(options.limit + 1);
    if (options.productId !== undefined) query = query.where('product_id', '=', options.productId);
    if (options.cursor !== undefined) query = query.where('id', '>', options.cursor);
    const rows = await query.execute();
    const page = rows.slice(0, options.limit);
    return {
      releases: await this.withDetails(page),
      nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  /**
   * Streams an artifact into the store and adds it to a draft release. A declared hash or length
   * that the bytes do not match refuses the upload and keeps nothing.
   */
  async addArtifact(
    actor: Actor,
    id: string,
    name: string,
    body: Readable,
    declared: ArtifactDeclaration,
  ): Promise<Release> {
    if (!artifactNamePattern.test(name)) {
      body.resume();
      throw new VigilError(
        'RELEASE_ARTIFACT_NAME_INVALID',
        'invalid',
        'an artifact name is 1-128 characters of letters, digits and . _ -, starting with a letter or digit',
      );
    }
    const before = await this.requireRow(this.store.db, id);
    try {
      requireDraft(before);
    } catch (error) {
      body.resume();
      throw error;
    }
    const digest = await this.artifacts.put(body, declared);
    try {
      await this.ledger.transact(actor, async (tx, record) => {
        requireDraft(await this.requireRow(tx, id));
        await tx
          .insertInto('artifacts')
          .values({ ...digest, created_at: toRfc3339(this.clock.now()) })
          .onConflict((conflict) => conflict.column('sha256').doNothing())
          .execute();
        await tx
          .insertInto('release_artifacts')
          .values({ release_id: id, name, sha256: digest.sha256, added_at: toRfc3339(this.clock.now()) })
          .execute();
        record({
          type: 'release.artifact-added',
          subject: id,
          details: { name, sha256: digest.sha256, sha512: digest.sha512, length: digest.length },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new VigilError(
          'RELEASE_ARTIFACT_EXISTS',
          'conflict',
          `release ${before.version} already has an artifact ${name}`,
        );
      }
      throw error;
    }
    return this.get(id);
  }

  /**
   * Keeps a release's SBOM exactly as uploaded; a draft may replace it, a published release only gain
   * one. The document is read (by the SBOM reader, when there is one) as its bytes arrive, and is
   * refused past {@link sbomMaxBytes} without reading further.
   */
  async attachSbom(
    actor: Actor,
    id: string,
    upload: AsyncIterable<Uint8Array> | Uint8Array | string,
    mediaType: string,
  ): Promise<Release> {
    // An unknown release is refused before its SBOM is read (which may take a while).
    await this.requireRow(this.store.db, id);
    const received = new UploadedDocument(sbomMaxBytes);
    const chunks = received.collect(
      typeof upload === 'string' || upload instanceof Uint8Array ? [upload] : upload,
    );
    const read =
      this.sbomReader === undefined ? await opaqueJsonObject(chunks) : await this.sbomReader.read(chunks);
    const document = received.text();
    const digest = `sha256:${received.sha256()}`;
    await this.ledger.transact(actor, async (tx, record) => {
      const row = await this.requireRow(tx, id);
      if (row.status === 'published' && row.sbom !== null) {
        throw new VigilError(
          'RELEASE_PUBLISHED',
          'conflict',
          `release ${row.version} is published; its SBOM stays as it was shipped`,
        );
      }
      await tx
        .updateTable('releases')
        .set({ sbom: document, sbom_media_type: mediaType, sbom_digest: digest })
        .where('id', '=', id)
        .execute();
      record({
        type: 'release.sbom-attached',
        subject: id,
        details: { digest, mediaType, bytes: received.length },
      });
      await this.sbomReader?.store(tx, record, { id, productId: row.product_id, version: row.version }, read);
    });
    return this.get(id);
  }

  private sbomReader: SbomReader | undefined;
  private readonly gates: PublicationGate[] = [];

  /** Has `reader` read every SBOM attached from now on. */
  useSbomReader(reader: SbomReader): void {
    this.sbomReader = reader;
  }

  /** Adds a gate every publication must pass (or override, recorded). */
  addPublicationGate(gate: PublicationGate): void {
    this.gates.push(gate);
  }

  async sbom(id: string): Promise<{ document: string; mediaType: string }> {
    const row = await this.requireRow(this.store.db, id);
    if (row.sbom === null || row.sbom_media_type === null) {
      throw new VigilError('RELEASE_SBOM_NOT_FOUND', 'not_found', `release ${row.version} has no SBOM`);
    }
    return { document: row.sbom, mediaType: row.sbom_media_type };
  }

  /**
   * Records one signer's approval of a draft. A signer bound to a principal approves only as that
   * principal; an unbound one as any release admin. Without `keyid`, the first signer the caller
   * may use that has not approved yet.
   */
  async approve(actor: Actor, id: string, keyid?: string): Promise<Release> {
    const row = await this.requireRow(this.store.db, id);
    requireDraft(row);
    await this.repositories.ensure(actor, row.product_id);
    const signer = await this.usableSigners(actor, row, keyid).then((signers) => signers[0]);
    if (signer === undefined) {
      throw new VigilError(
        'RELEASE_NO_SIGNER_AVAILABLE',
        'conflict',
        'no release signer is left that this principal may approve with',
      );
    }
    try {
      await this.ledger.transact(actor, async (tx, record) => {
        requireDraft(await this.requireRow(tx, id));
        await tx
          .insertInto('release_approvals')
          .values({
            release_id: id,
            keyid: signer,
            principal_id: actor.principal,
            approved_at: toRfc3339(this.clock.now()),
          })
          .execute();
        record({ type: 'release.approved', subject: id, details: { keyid: signer } });
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new VigilError(
          'RELEASE_ALREADY_APPROVED',
          'conflict',
          `signer ${signer} already approved this release`,
        );
      throw error;
    }
    return this.get(id);
  }

  /**
   * Publishes a draft as TUF targets, signed by the signers that approved it. When approvals are
   * short of the product's threshold, the caller approves too (once, as any signer would); if
   * that is still not enough, nothing is published.
   */
  async publish(actor: Actor, id: string, options: { override?: string | undefined } = {}): Promise<Release> {
    const row = await this.requireRow(this.store.db, id);
    requireDraft(row);
    const [release] = await this.withDetails([row]);
    if (release!.artifacts.length === 0) {
      throw new VigilError(
        'RELEASE_ARTIFACTS_MISSING',
        'conflict',
        `release ${row.version} has no artifact to publish`,
      );
    }
    const blockers = (await Promise.all(this.gates.map((gate) => gate.blockers(release!)))).flat();
    if (blockers.length > 0 && (options.override === undefined || options.override.trim() === '')) {
      throw new VigilError(
        'RELEASE_GATE_BLOCKED',
        'conflict',
        `release ${row.version} cannot be published: ${blockers.slice(0, 5).join('; ')}${blockers.length > 5 ? ` (and ${blockers.length - 5} more)` : ''}; publish with an override reason to proceed anyway (recorded)`,
        { facts: { blockers } },
      );
    }
    await this.repositories.ensure(actor, row.product_id);
    const signers = await this.repositories.signers(row.product_id);
    const threshold = await this.repositories.targetsThreshold(row.product_id);
    const approved = release!.approvals
      .map((approval) => approval.keyid)
      .filter((key) => signers.some((signer) => signer.keyid === key));
    const added: string[] = [];
    const approvedByCaller = release!.approvals.some((approval) => approval.principalId === actor.principal);
    if (approved.length < threshold && !approvedByCaller) {
      const usable = await this.usableSigners(actor, row);
      if (usable[0] !== undefined) added.push(usable[0]);
    }
    if (approved.length + added.length < threshold) {
      throw new VigilError(
        'RELEASE_APPROVALS_MISSING',
        'conflict',
        `release ${row.version} needs ${threshold} signer approvals, has ${approved.length + added.length}`,
        { facts: { have: approved.length + added.length, need: threshold } },
      );
    }
    const targets: TargetDescription[] = release!.artifacts.map((artifact) => ({
      path: artifact.targetPath,
      length: artifact.length,
      sha256: artifact.sha256,
      sha512: artifact.sha512,
      custom: {
        releaseId: row.id,
        version: row.version,
        securityVersion: Number(row.security_version),
        hardwareRevisions: release!.hardwareRevisions,
        securityUpdate: row.security_update === 1,
        sbomDigest: row.sbom_digest,
      },
    }));
    const now = toRfc3339(this.clock.now());
    await this.repositories.addTargets(
      actor,
      row.product_id,
      targets,
      [...approved, ...added],
      async (tx, record, targetsVersion) => {
        const current = await this.requireRow(tx, id);
        requireDraft(current);
        for (const keyid of added) {
          await tx
            .insertInto('release_approvals')
            .values({ release_id: id, keyid, principal_id: actor.principal, approved_at: now })
            .execute();
          record({ type: 'release.approved', subject: id, details: { keyid } });
        }
        await tx
          .updateTable('releases')
          .set({ status: 'published', published_at: now, targets_version: targetsVersion })
          .where('id', '=', id)
          .execute();
        if (blockers.length > 0) {
          record({
            type: 'release.gate-overridden',
            subject: id,
            details: { blockers, reason: options.override ?? '' },
          });
        }
        record({
          type: 'release.published',
          subject: id,
          details: {
            productId: row.product_id,
            version: row.version,
            securityVersion: Number(row.security_version),
            targetsVersion,
            signers: [...approved, ...added],
            targets: targets.map((target) => ({ path: target.path, sha256: target.sha256 })),
          },
        });
      },
    );
    return this.get(id);
  }

  /** Whether a published release of the product carries this artifact (what the TUF targets may name). */
  async isPublishedArtifact(
    productId: string,
    target: { version: string; name: string; sha256: string },
  ): Promise<boolean> {
    const row = await this.store.db
      .selectFrom('release_artifacts')
      .innerJoin('releases', 'releases.id', 'release_artifacts.release_id')
      .select('releases.id')
      .where('releases.product_id', '=', productId)
      .where('releases.status', '=', 'published')
      .where('releases.version', '=', target.version)
      .where('release_artifacts.name', '=', target.name)
      .where('release_artifacts.sha256', '=', target.sha256)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The signers the caller may approve with now. k of n means k people: a principal that already
   * approved the release has none left, whichever signers it could use.
   */
  private async usableSigners(actor: Actor, row: ReleaseRow, keyid?: string): Promise<string[]> {
    const signers = await this.repositories.signers(row.product_id);
    const approvals = await this.store.db
      .selectFrom('release_approvals')
      .select(['keyid', 'principal_id'])
      .where('release_id', '=', row.id)
      .execute();
    if (approvals.some((approval) => approval.principal_id === actor.principal)) {
      throw new VigilError(
        'RELEASE_ALREADY_APPROVED',
        'conflict',
        'this principal already approved the release',
      );
    }
    if (keyid !== undefined) {
      const signer = signers.find((candidate) => candidate.keyid === keyid);
      if (signer === undefined)
        throw new VigilError(
          'RELEASE_SIGNER_UNKNOWN',
          'invalid',
          `${keyid} is not a release signer of this product`,
        );
      if (signer.principalId !== null && signer.principalId !== actor.principal) {
        throw new VigilError(
          'RELEASE_SIGNER_FORBIDDEN',
          'forbidden',
          `signer ${keyid} belongs to another principal`,
        );
      }
      if (approvals.some((approval) => approval.keyid === keyid)) {
        throw new VigilError(
          'RELEASE_ALREADY_APPROVED',
          'conflict',
          `signer ${keyid} already approved this release`,
        );
      }
      return [keyid];
    }
    return signers
      .filter((signer) => signer.principalId === null || signer.principalId === actor.principal)
      .filter((signer) => !approvals.some((approval) => approval.keyid === signer.keyid))
      .sort((a, b) => Number(a.principalId === null) - Number(b.principalId === null))
      .map((signer) => signer.keyid);
  }

  private async requireRow(db: Queryable, id: string): Promise<ReleaseRow> {
    const row = await db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new VigilError('RELEASE_NOT_FOUND', 'not_found', `no release ${id}`);
    return row;
  }

  private async withDetails(rows: ReleaseRow[]): Promise<Release[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const artifacts = await this.store.db
      .selectFrom('release_artifacts')
      .innerJoin('artifacts', 'artifacts.sha256', 'release_artifacts.sha256')
      .select([
        'release_artifacts.release_id',
        'release_artifacts.name',
        'artifacts.sha256',
        'artifacts.sha512',
        'artifacts.length',
      ])
      .where('release_artifacts.release_id', 'in', ids)
      .orderBy('release_artifacts.name')
      .execute();
    const approvals = await this.store.db
      .selectFrom('release_approvals')
      .selectAll()
      .where('release_id', 'in', ids)
      .orderBy('approved_at')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      productId: row.product_id,
      version: row.version,
      securityVersion: Number(row.security_version),
      hardwareRevisions: JSON.parse(row.hardware_revisions) as string[],
      notes: row.notes,
      securityUpdate: row.security_update === 1,
      status: row.status,
      artifacts: artifacts
        .filter((artifact) => artifact.release_id === row.id)
        .map((artifact) => ({
          name: artifact.name,
          targetPath: `${row.version}/${artifact.name}`,
          sha256: artifact.sha256,
          sha512: artifact.sha512,
          length: Number(artifact.length),
        })),
      sbom:
        row.sbom_digest === null || row.sbom_media_type === null
          ? null
          : { digest: row.sbom_digest, mediaType: row.sbom_media_type },
      approvals: approvals
        .filter((approval) => approval.release_id === row.id)
        .map((approval) => ({
          keyid: approval.keyid,
          principalId: approval.principal_id,
          approvedAt: approval.approved_at,
        })),
      createdAt: row.created_at,
      createdBy: row.created_by,
      publishedAt: row.published_at,
      targetsVersion: row.targets_version,
    }));
  }
}

function requireDraft(row: ReleaseRow): void {
  if (row.status !== 'draft') {
    throw new VigilError('RELEASE_PUBLISHED', 'conflict', `release ${row.version} is already published`);
  }
}

/** An uploaded document passed on chunk by chunk while it is kept, hashed and held to a size limit. */
class UploadedDocument {
  private readonly chunks: Buffer[] = [];
  private readonly hash = createHash('sha256');
  length = 0;

  constructor(private readonly maxBytes: number) {}

  async *collect(
    upload: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  ): AsyncGenerator<Uint8Array> {
    for await (const chunk of upload) {
      const bytes =
        typeof chunk === 'string'
          ? Buffer.from(chunk, 'utf8')
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      this.length += bytes.length;
      if (this.length > this.maxBytes) {
        throw new VigilError(
          'REQUEST_TOO_LARGE',
          'too_large',
          `the request body exceeds the size limit (${this.maxBytes} bytes)`,
        );
      }
      this.hash.update(bytes);
      this.chunks.push(bytes);
      yield bytes;
    }
  }

  text(): string {
    return Buffer.concat(this.chunks, this.length).toString('utf8');
  }

  sha256(): string {
    return this.hash.digest('hex');
  }
}

/** Without an SBOM reader the document stays opaque, but it must at least be a JSON object. */
async function opaqueJsonObject(chunks: AsyncIterable<Uint8Array>): Promise<undefined> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    throw new VigilError('RELEASE_SBOM_MALFORMED', 'invalid', 'the SBOM is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new VigilError('RELEASE_SBOM_MALFORMED', 'invalid', 'an SBOM is a JSON object');
  }
  return undefined;
}
