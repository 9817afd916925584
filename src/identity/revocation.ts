import { sql } from 'kysely';
import { VigilError, toRfc3339, type Clock } from '../core/index.ts';
import type { Queryable, Store } from '../store/index.ts';
import type { CertificateAuthorities } from './authorities.ts';
import {
  buildCrl,
  buildOcspResponse,
  certificateId,
  ocspErrorResponse,
  parseOcspRequest,
  revocationReasons,
  type RevocationReason,
} from './x509/index.ts';

export { revocationReasons, type RevocationReason };

const hour = 3_600_000;
/** CRLs promise the next one within a day and are re-signed when half of that has passed. */
const crlLifetime = 24 * hour;
/** Pre-signed OCSP responses are good for an hour and re-signed when less than half of it is left. */
const ocspLifetime = hour;

interface CachedResponse {
  der: Buffer;
  refreshAfter: number;
}

/**
 * Revocation status: CRLs per issuing CA (regenerated on each revocation and on schedule) and an
 * RFC 6960 OCSP responder that serves pre-signed responses, re-signed when status changes on any
 * process (a shared change counter, polled) or when they near their nextUpdate.
 */
export class Revocations {
  private readonly store: Store;
  private readonly authorities: CertificateAuthorities;
  private readonly clock: Clock;
  private readonly ocspCache = new Map<string, CachedResponse>();
  private issuerHashes:
    { caId: string; algorithm: 'sha1' | 'sha256'; nameHash: string; keyHash: string }[] | undefined;
  private seenRevocations = -1;

  constructor(options: { store: Store; authorities: CertificateAuthorities; clock: Clock }) {
    this.store = options.store;
    this.authorities = options.authorities;
    this.clock = options.clock;
  }

  /** Marks certificates revoked inside the caller's transaction and bumps the shared change counter. */
  async revokeInTransaction(
    tx: Queryable,
    where: { serials?: string[]; deviceId?: string },
    reason: RevocationReason,
  ): Promise<{ serial: string; caId: string }[]> {
    let query = tx.selectFrom('certificates').select(['serial', 'ca_id']).where('status', '=', 'valid');
    if (where.serials !== undefined)
      query = query.where('serial', 'in', where.serials.length > 0 ? where.serials : ['']);
    if (where.deviceId !== undefined) query = query.where('device_id', '=', where.deviceId);
    const rows = await query.execute();
    if (rows.length === 0) return [];
    await tx
      .updateTable('certificates')
      .set({ status: 'revoked', revoked_at: toRfc3339(this.clock.now()), revocation_reason: reason })
      .where(
        'serial',
        'in',
        rows.map((row) => row.serial),
      )
      .execute();
    await tx
      .updateTable('change_counters')
      .set({ value: sql`value + 1` })
      .where('name', '=', 'revocations')
      .execute();
    return rows.map((row) => ({ serial: row.serial, caId: row.ca_id }));
  }

  /** After a revocation committed: fresh CRLs for the CAs concerned, no stale OCSP answers here. */
  async published(caIds: Iterable<string>): Promise<void> {
    this.ocspCache.clear();
    for (const caId of new Set(caIds)) await this.regenerateCrl(caId);
  }

  /** Signs a new CRL for an issuing CA with every certificate it revoked (RFC 5280 §5). */
  async regenerateCrl(caId: string): Promise<Buffer> {
    const context = await this.authorities.issuingContext(caId);
    const revoked = await this.store.db
      .selectFrom('certificates')
      .select(['serial', 'revoked_at', 'revocation_reason'])
      .where('ca_id', '=', caId)
      .where('status', '=', 'revoked')
      .execute();
    const now = new Date(Math.floor(this.clock.now().getTime() / 1000) * 1000);
    for (let attempt = 0; ; attempt++) {
      const last = await this.store.db
        .selectFrom('crls')
        .select((eb) => eb.fn.max('crl_number').as('number'))
        .where('ca_id', '=', caId)
        .executeTakeFirst();
      const crlNumber = Number(last?.number ?? 0) + 1;
      const der = await buildCrl({
        issuerCertificate: context.authority.certificate,
        signer: context.signer,
        crlNumber,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + crlLifetime),
        entries: revoked.map((row) => ({
          serial: Buffer.from(row.serial, 'hex'),
          revokedAt: new Date(row.revoked_at ?? now),
          reason: (row.revocation_reason ?? 'unspecified') as RevocationReason,
        })),
      });
      try {
        await this.store.db
          .insertInto('crls')
          .values({
            ca_id: caId,
            crl_number: crlNumber,
            der,
            this_update: toRfc3339(now),
            next_update: toRfc3339(new Date(now.getTime() + crlLifetime)),
          })
          .execute();
        return der;
      } catch (error) {
        // Another process took this CRL number at the same moment: number the next one.
        if (attempt >= 3) throw error;
      }
    }
  }

  /** The current CRL of an issuing CA, regenerated when none exists or half its life has passed. */
  async currentCrl(caId: string): Promise<Buffer> {
    const latest = await this.store.db
      .selectFrom('crls')
      .select(['der', 'this_update'])
      .where('ca_id', '=', caId)
      .orderBy('crl_number', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (
      latest !== undefined &&
      new Date(latest.this_update).getTime() + crlLifetime / 2 > this.clock.now().getTime()
    ) {
      return latest.der;
    }
    return this.regenerateCrl(caId);
  }

  /** Regenerates every CRL that is due; the serve loop calls this on schedule. */
  async refreshDueCrls(): Promise<void> {
    for (const authority of await this.authorities.list()) {
      if (authority.kind === 'issuing' && authority.status !== 'retired') await this.currentCrl(authority.id);
    }
  }

  /** Drops pre-signed OCSP responses when any process revoked something since the last look. */
  async pollRevocations(): Promise<void> {
    const row = await this.store.db
      .selectFrom('change_counters')
      .select('value')
      .where('name', '=', 'revocations')
      .executeTakeFirst();
    const value = Number(row?.value ?? 0);
    if (value !== this.seenRevocations) {
      this.seenRevocations = value;
      this.ocspCache.clear();
    }
  }

  /** Forgets the CA hashes (after a CA was created or rotated). */
  forgetAuthorities(): void {
    this.issuerHashes = undefined;
  }

  private async findIssuer(
    algorithm: string,
    nameHash: Buffer,
    keyHash: Buffer,
  ): Promise<string | undefined> {
    const match = (hashes: NonNullable<typeof this.issuerHashes>) =>
      hashes.find(
        (entry) =>
          entry.algorithm === algorithm &&
          entry.nameHash === nameHash.toString('hex') &&
          entry.keyHash === keyHash.toString('hex'),
      )?.caId;
    if (this.issuerHashes !== undefined) {
      const found = match(this.issuerHashes);
      if (found !== undefined) return found;
    }
    const hashes: NonNullable<typeof this.issuerHashes> = [];
    for (const authority of await this.authorities.list()) {
      if (authority.kind !== 'issuing') continue;
      for (const hash of ['sha1', 'sha256'] as const) {
        const id = certificateId(authority.certificate, Buffer.from([1]), hash);
        hashes.push({
          caId: authority.id,
          algorithm: hash,
          nameHash: id.issuerNameHash.toString('hex'),
          keyHash: id.issuerKeyHash.toString('hex'),
        });
      }
    }
    this.issuerHashes = hashes;
    return match(hashes);
  }

  /**
   * Answers an OCSP request (RFC 6960 §4.1, §4.2). Attacker-controlled input: a request that
   * does not parse gets a signed-nothing `malformedRequest`. A single request without a nonce is
   * answered from the pre-signed cache; a nonce (RFC 8954) gets a freshly signed answer.
   */
  async respond(requestDer: Buffer): Promise<Buffer> {
    let request: ReturnType<typeof parseOcspRequest>;
    try {
      request = parseOcspRequest(requestDer);
    } catch {
      return ocspErrorResponse('malformedRequest');
    }
    if (request.requests.length === 0 || request.requests.length > 16)
      return ocspErrorResponse('malformedRequest');
    const now = this.clock.now().getTime();
    const cacheKey =
      request.requests.length === 1 && request.nonce === undefined
        ? request.requests.map(
            (one) =>
              `${one.hashAlgorithm}:${one.issuerKeyHash.toString('hex')}:${one.serial.toString('hex')}`,
          )[0]
        : undefined;
    if (cacheKey !== undefined) {
      const cached = this.ocspCache.get(cacheKey);
      if (cached !== undefined && cached.refreshAfter > now) return cached.der;
    }

    const caIds = new Set<string>();
    const answers = [];
    const thisUpdate = new Date(Math.floor(now / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + ocspLifetime);
    for (const one of request.requests) {
      const caId = await this.findIssuer(one.hashAlgorithm, one.issuerNameHash, one.issuerKeyHash);
      const certId = one;
      if (caId === undefined) {
        answers.push({ certId, status: 'unknown' as const, thisUpdate, nextUpdate });
        continue;
      }
      caIds.add(caId);
      const row = await this.store.db
        .selectFrom('certificates')
        .select(['status', 'revoked_at', 'revocation_reason'])
        .where('serial', '=', one.serial.toString('hex'))
        .where('ca_id', '=', caId)
        .executeTakeFirst();
      if (row === undefined) answers.push({ certId, status: 'unknown' as const, thisUpdate, nextUpdate });
      else if (row.status === 'revoked') {
        answers.push({
          certId,
          status: 'revoked' as const,
          revokedAt: new Date(row.revoked_at ?? thisUpdate),
          reason: (row.revocation_reason ?? 'unspecified') as RevocationReason,
          thisUpdate,
          nextUpdate,
        });
      } else answers.push({ certId, status: 'good' as const, thisUpdate, nextUpdate });
    }
    // Requests about certificates of several CAs get no answer we could sign with one delegated key.
    if (caIds.size > 1) return ocspErrorResponse('unauthorized');
    const [caId] = [...caIds];
    if (caId === undefined) {
      // Nothing of ours: RFC 6960 §2.3 "unauthorized" when we are not a responder for the issuer.
      return ocspErrorResponse('unauthorized');
    }
    const responder = await this.authorities.ocspResponder(caId);
    const der = await buildOcspResponse({
      responderCertificate: responder.certificate,
      signer: responder.signer,
      producedAt: thisUpdate,
      responses: answers,
      nonce: request.nonce,
    });
    if (cacheKey !== undefined) {
      if (this.ocspCache.size > 200_000) this.ocspCache.clear();
      this.ocspCache.set(cacheKey, { der, refreshAfter: now + ocspLifetime / 2 });
    }
    return der;
  }

  /** Fails closed when a CA id is not one of ours. */
  async requireIssuing(caId: string): Promise<void> {
    const authority = await this.authorities.byId(caId).catch(() => undefined);
    if (authority?.kind !== 'issuing')
      throw new VigilError('IDENTITY_CA_NOT_FOUND', 'not_found', `no issuing CA ${caId}`);
  }
}
