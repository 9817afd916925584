import { VigilError, isVigilError, toRfc3339, type Clock } from '../core/index.ts';
import type { LedgerEvent } from '../ledger/index.ts';
import type { Store, Tx } from '../store/index.ts';
import type { Release, SbomReader } from '../updates/index.ts';
import {
  completenessReport,
  readSbomStream,
  type CompletenessReport,
  type ParsedSbom,
} from './sbom/index.ts';

/** What reading an SBOM yields: the normalised document and its completeness against NTIA and BSI TR-03183-2. */
export interface ReadSbom {
  parsed: ParsedSbom;
  completeness: CompletenessReport;
}

export interface StoredSbom {
  releaseId: string;
  format: string;
  specVersion: string;
  components: number;
  parsedAt: string;
  completeness: CompletenessReport;
}

/**
 * Release SBOMs as the vulnerability module reads them: parsed and validated against their schema
 * when attached (a refusal lists the violations and stores nothing), kept normalised with their
 * completeness report, and handed on to matching.
 */
export class ReleaseSboms implements SbomReader {
  private readonly database: Store;
  private readonly clock: Clock;
  private readonly listeners: ((
    tx: Tx,
    record: (event: LedgerEvent) => void,
    release: Pick<Release, 'id' | 'productId' | 'version'>,
    sbom: ParsedSbom,
  ) => Promise<void>)[] = [];

  constructor(options: { store: Store; clock: Clock }) {
    this.database = options.store;
    this.clock = options.clock;
  }

  /** Calls `listener` inside the attach transaction of every SBOM read from now on. */
  onStored(
    listener: (
      tx: Tx,
      record: (event: LedgerEvent) => void,
      release: Pick<Release, 'id' | 'productId' | 'version'>,
      sbom: ParsedSbom,
    ) => Promise<void>,
  ): void {
    this.listeners.push(listener);
  }

  async read(chunks: AsyncIterable<Uint8Array>): Promise<ReadSbom> {
    let parsed: ParsedSbom;
    try {
      parsed = await readSbomStream(chunks);
    } catch (error) {
      // The API's problem documents list violations as {path, message}.
      if (isVigilError(error) && Array.isArray(error.facts?.errors)) {
        const errors = (error.facts.errors as { instancePath?: string; message?: string }[]).map(
          (violation) => ({
            path: violation.instancePath || '/',
            message: violation.message ?? 'invalid',
          }),
        );
        throw new VigilError(error.code, error.kind, error.message, { facts: { ...error.facts, errors } });
      }
      throw error;
    }
    return { parsed, completeness: completenessReport(parsed) };
  }

  async store(
    tx: Tx,
    record: (event: LedgerEvent) => void,
    release: Pick<Release, 'id' | 'productId' | 'version'>,
    read: unknown,
  ): Promise<void> {
    const { parsed, completeness } = read as ReadSbom;
    const row = {
      release_id: release.id,
      format: parsed.format,
      spec_version: parsed.specVersion,
      components: parsed.components.length,
      parsed: JSON.stringify(parsed),
      completeness: JSON.stringify(completeness),
      parsed_at: toRfc3339(this.clock.now()),
    };
    await tx
      .insertInto('release_sboms')
      .values(row)
      .onConflict((conflict) => conflict.column('release_id').doUpdateSet({ ...row }))
      .execute();
    record({
      type: 'sbom.ingested',
      subject: release.id,
      details: {
        format: parsed.format,
        specVersion: parsed.specVersion,
        components: parsed.components.length,
      },
    });
    for (const listener of this.listeners) await listener(tx, record, release, parsed);
  }

  async get(releaseId: string): Promise<StoredSbom> {
    const row = await this.database.db
      .selectFrom('release_sboms')
      .selectAll()
      .where('release_id', '=', releaseId)
      .executeTakeFirst();
    if (row === undefined)
      throw new VigilError('SBOM_NOT_FOUND', 'not_found', `release ${releaseId} has no SBOM`);
    return {
      releaseId: row.release_id,
      format: row.format,
      specVersion: row.spec_version,
      components: row.components,
      parsedAt: row.parsed_at,
      completeness: JSON.parse(row.completeness) as CompletenessReport,
    };
  }
}
