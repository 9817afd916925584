import { randomBytes } from 'node:crypto';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger } from '../ledger/index.ts';
import type { CertificateAuthoritiesTable, Queryable, Store } from '../store/index.ts';
import type { KeyAlgorithm, KeyRef, Keystore, SoftwareKeystore } from './keystore/index.ts';
import {
  LeafCertificateTemplate,
  createCaCertificate,
  describeCertificate,
  type X509Signer,
} from './x509/index.ts';

export type AuthorityKind = CertificateAuthoritiesTable['kind'];

export interface Authority {
  id: string;
  kind: AuthorityKind;
  productId: string | null;
  parentId: string | null;
  name: string;
  algorithm: KeyAlgorithm;
  serial: string;
  notBefore: string;
  notAfter: string;
  status: CertificateAuthoritiesTable['status'];
  certificate: Buffer;
}

/** An issuing CA ready to sign: its record, its signer and its leaf template. */
export interface IssuingContext {
  authority: Authority;
  signer: X509Signer;
  template: LeafCertificateTemplate;
  /** The chain a device needs above its certificate: issuing CA, then root. */
  chain: Buffer[];
}

/** Where devices fetch revocation status; embedded in every device certificate. */
export interface RevocationUrls {
  crlUrl(caId: string): string;
  ocspUrl: string;
}

const year = 365 * 86_400_000;
const day = 86_400_000;
const lifetimes = { root: 20 * year, issuing: 10 * year, ocsp: year, tls: year } as const;
/** Delegated OCSP and TLS certificates are replaced this long before they lapse. */
const renewBefore = 30 * day;

export function hashForAlgorithm(algorithm: KeyAlgorithm): 'sha256' | 'sha384' {
  return algorithm === 'ecdsa-p384' ? 'sha384' : 'sha256';
}

/** RFC 5280 §4.1.2.2: a positive serial of at most 20 octets, here 16 random octets (127 bits). */
export function newCertificateSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

function truncateToSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/**
 * The CA hierarchy: one root per installation, an issuing CA per product (rotated by adding a new
 * one while the old keeps validating), a delegated OCSP signer per issuing CA, and the device
 * endpoint's TLS certificate under the root.
 */
export class CertificateAuthorities {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly keystore: Keystore;
  private readonly tlsKeystore: SoftwareKeystore;
  private readonly clock: Clock;
  private readonly urls: RevocationUrls;
  private readonly contexts = new Map<string, IssuingContext>();
  private readonly activeByProduct = new Map<string, { context: IssuingContext; until: number }>();

  constructor(options: {
    store: Store;
    ledger: Ledger;
    keystore: Keystore;
    tlsKeystore: SoftwareKeystore;
    clock: Clock;
    urls: RevocationUrls;
  }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.keystore = options.keystore;
    this.tlsKeystore = options.tlsKeystore;
    this.clock = options.clock;
    this.urls = options.urls;
  }

  signerFor(ref: KeyRef, keystore: Keystore = this.keystore): X509Signer {
    const hash = hashForAlgorithm(ref.algorithm);
    return { algorithm: ref.algorithm, sign: (data: Buffer) => keystore.sign(ref, data, hash) };
  }

  private async keyRef(keyId: string, db: Queryable = this.store.db): Promise<KeyRef> {
    const row = await db
      .selectFrom('keystore_keys')
      .select(['id', 'backend', 'algorithm'])
      .where('id', '=', keyId)
      .executeTakeFirst();
    if (row === undefined)
      throw new VigilError('IDENTITY_KEY_MISSING', 'internal', `key ${keyId} is missing from the keystore`);
    return { id: row.id, backend: row.backend, algorithm: row.algorithm as KeyAlgorithm };
  }

  private toAuthority(row: CertificateAuthoritiesTable, algorithm: KeyAlgorithm): Authority {
    return {
      id: row.id,
      kind: row.kind,
      productId: row.product_id,
      parentId: row.parent_id,
      name: row.name,
      algorithm,
      serial: row.serial,
      notBefore: row.not_before,
      notAfter: row.not_after,
      status: row.status,
      certificate: row.certificate,
    };
  }

  private async authorities(
    where: (query: ReturnType<typeof this.baseQuery>) => ReturnType<typeof this.baseQuery>,
  ): Promise<Authority[]> {
    const rows = await where(this.baseQuery()).orderBy('certificate_authorities.created_at').execute();
    return rows.map((row) => this.toAuthority(row, row.algorithm as KeyAlgorithm));
  }

  private baseQuery() {
    return this.store.db
      .selectFrom('certificate_authorities')
      .innerJoin('keystore_keys', 'keystore_keys.id', 'certificate_authorities.key_id')
      .selectAll('certificate_authorities')
      .select('keystore_keys.algorithm');
  }

  async list(): Promise<Authority[]> {
    return this.authorities((query) =>
      query.where('certificate_authorities.kind', 'in', ['root', 'issuing']),
    );
  }

  async root(): Promise<Authority> {
    const [root] = await this.authorities((query) =>
      query
        .where('certificate_authorities.kind', '=', 'root')
        .where('certificate_authorities.status', '=', 'active'),
    );
    if (root === undefined)
      throw new VigilError('IDENTITY_ROOT_MISSING', 'conflict', 'the installation has no root CA');
    return root;
  }

  /** The root and every issuing CA that still validates certificates: what /cacerts gives devices. */
  async trustedCertificates(): Promise<Buffer[]> {
    const all = await this.authorities((query) =>
      query
        .where('certificate_authorities.kind', 'in', ['root', 'issuing'])
        .where('certificate_authorities.status', '!=', 'retired'),
    );
    return all.map((authority) => authority.certificate);
  }

  /** Issuing CAs of a product that still validate certificates (active first). */
  async issuingOf(productId: string): Promise<Authority[]> {
    const all = await this.authorities((query) =>
      query
        .where('certificate_authorities.kind', '=', 'issuing')
        .where('certificate_authorities.product_id', '=', productId)
        .where('certificate_authorities.status', '!=', 'retired'),
    );
    return all.sort((a, b) =>
      a.status === b.status ? b.notBefore.localeCompare(a.notBefore) : a.status === 'active' ? -1 : 1,
    );
  }

  async byId(id: string): Promise<Authority> {
    const [authority] = await this.authorities((query) => query.where('certificate_authorities.id', '=', id));
    if (authority === undefined)
      throw new VigilError('IDENTITY_CA_NOT_FOUND', 'not_found', `no certificate authority ${id}`);
    return authority;
  }

  /** Creates the installation's root CA (at `vigil init`). */
  async createRoot(
    actor: Actor,
    options: { algorithm: KeyAlgorithm; commonName: string; organization?: string },
  ): Promise<Authority> {
    const existing = await this.authorities((query) =>
      query.where('certificate_authorities.kind', '=', 'root'),
    );
    if (existing.length > 0)
      throw new VigilError('IDENTITY_ROOT_EXISTS', 'conflict', 'the installation already has a root CA');
    const { ref, publicKey } = await this.keystore.generateKey(
      options.algorithm,
      `root: ${options.commonName}`,
    );
    const now = truncateToSeconds(this.clock.now());
    const certificate = await createCaCertificate({
      kind: 'root',
      subject: { commonName: options.commonName, organization: options.organization },
      publicKey,
      serial: newCertificateSerial(),
      notBefore: now,
      notAfter: new Date(now.getTime() + lifetimes.root),
      signer: this.signerFor(ref),
    });
    return this.record(actor, {
      kind: 'root',
      productId: null,
      parentId: null,
      name: options.commonName,
      keyRef: ref,
      certificate,
    });
  }

  /** Creates a product's first issuing CA; a product that has one rotates instead. */
  async createIssuing(
    actor: Actor,
    productId: string,
    options: { algorithm: KeyAlgorithm; productName: string },
  ): Promise<Authority> {
    const current = (await this.issuingOf(productId)).find((authority) => authority.status === 'active');
    if (current !== undefined) {
      throw new VigilError(
        'IDENTITY_CA_EXISTS',
        'conflict',
        `product ${productId} already has an issuing CA; rotate it instead`,
      );
    }
    return this.issue(actor, productId, options);
  }

  /**
   * Introduces a new issuing CA; the previous one becomes 'retiring': it no longer issues, but its
   * certificates stay valid and its CRL and OCSP stay served. Devices pick up the new chain at renewal.
   */
  async rotateIssuing(
    actor: Actor,
    productId: string,
    options: { algorithm?: KeyAlgorithm; productName: string },
  ): Promise<Authority> {
    const current = (await this.issuingOf(productId)).find((authority) => authority.status === 'active');
    if (current === undefined)
      throw new VigilError(
        'IDENTITY_CA_MISSING',
        'conflict',
        `product ${productId} has no issuing CA to rotate`,
      );
    return this.issue(
      actor,
      productId,
      { algorithm: options.algorithm ?? current.algorithm, productName: options.productName },
      current,
    );
  }

  private async issue(
    actor: Actor,
    productId: string,
    options: { algorithm: KeyAlgorithm; productName: string },
    previous?: Authority,
  ): Promise<Authority> {
    const root = await this.root();
    const rootSigner = this.signerFor(await this.keyRef((await this.rowOf(root.id)).key_id));
    const generation =
      (await this.authorities((query) => query.where('certificate_authorities.product_id', '=', productId)))
        .length + 1;
    const name = `${options.productName} Issuing CA ${generation}`;
    const { ref, publicKey } = await this.keystore.generateKey(options.algorithm, `issuing: ${name}`);
    const now = truncateToSeconds(this.clock.now());
    const notAfter = new Date(Math.min(now.getTime() + lifetimes.issuing, new Date(root.notAfter).getTime()));
    const certificate = await createCaCertificate({
      kind: 'issuing',
      subject: { commonName: name },
      publicKey,
      serial: newCertificateSerial(),
      notBefore: now,
      notAfter,
      issuer: { certificate: root.certificate },
      signer: rootSigner,
      pathLength: 0,
    });
    return this.record(actor, {
      kind: 'issuing',
      productId,
      parentId: root.id,
      name,
      keyRef: ref,
      certificate,
      previous,
    });
  }

  private async rowOf(id: string): Promise<CertificateAuthoritiesTable> {
    const row = await this.store.db
      .selectFrom('certificate_authorities')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined)
      throw new VigilError('IDENTITY_CA_NOT_FOUND', 'not_found', `no certificate authority ${id}`);
    return row;
  }

  private async record(
    actor: Actor,
    input: {
      kind: AuthorityKind;
      productId: string | null;
      parentId: string | null;
      name: string;
      keyRef: KeyRef;
      certificate: Buffer;
      previous?: Authority | undefined;
    },
  ): Promise<Authority> {
    const described = describeCertificate(input.certificate);
    const row: CertificateAuthoritiesTable = {
      id: newId(),
      kind: input.kind,
      product_id: input.productId,
      parent_id: input.parentId,
      name: input.name,
      key_id: input.keyRef.id,
      certificate: input.certificate,
      serial: described.serialHex,
      not_before: toRfc3339(described.notBefore),
      not_after: toRfc3339(described.notAfter),
      status: 'active',
      created_at: toRfc3339(this.clock.now()),
    };
    await this.ledger.transact(actor, async (tx, recordEvent) => {
      if (input.previous !== undefined) {
        await tx
          .updateTable('certificate_authorities')
          .set({ status: 'retiring' })
          .where('id', '=', input.previous.id)
          .execute();
      }
      await tx.insertInto('certificate_authorities').values(row).execute();
      if (input.kind === 'root' || input.kind === 'issuing') {
        recordEvent({
          type: input.previous === undefined ? 'ca.created' : 'ca.rotated',
          subject: row.id,
          details: {
            kind: input.kind,
            name: input.name,
            product: input.productId,
            algorithm: input.keyRef.algorithm,
            keystore: input.keyRef.backend,
            serial: row.serial,
            fingerprint: described.fingerprintSha256,
            notAfter: row.not_after,
            ...(input.previous === undefined ? {} : { previous: input.previous.id }),
          },
        });
      }
    });
    this.activeByProduct.clear();
    return this.toAuthority(row, input.keyRef.algorithm);
  }

  /**
   * The active issuing CA of a product, with its signer and leaf template. Looked up at most once
   * a second per product, so a rotation made by another process is picked up within a second.
   */
  async activeIssuing(productId: string): Promise<IssuingContext> {
    const now = Date.now();
    const cached = this.activeByProduct.get(productId);
    if (cached !== undefined && cached.until > now) return cached.context;
    const active = (await this.issuingOf(productId)).find((authority) => authority.status === 'active');
    if (active === undefined) {
      throw new VigilError(
        'IDENTITY_CA_MISSING',
        'unavailable',
        'the product has no issuing CA yet (vigil ca create --product ...)',
      );
    }
    const context = await this.context(active);
    this.activeByProduct.set(productId, { context, until: now + 1000 });
    return context;
  }

  async issuingContext(caId: string): Promise<IssuingContext> {
    return this.context(await this.byId(caId));
  }

  private async context(authority: Authority): Promise<IssuingContext> {
    const cached = this.contexts.get(authority.id);
    if (cached !== undefined) return cached;
    const signer = this.signerFor(await this.keyRef((await this.rowOf(authority.id)).key_id));
    const root = await this.root();
    const context: IssuingContext = {
      authority,
      signer,
      template: new LeafCertificateTemplate({
        issuerCertificate: authority.certificate,
        signer,
        crlUrl: this.urls.crlUrl(authority.id),
        ocspUrl: this.urls.ocspUrl,
      }),
      chain: [authority.certificate, root.certificate],
    };
    this.contexts.set(authority.id, context);
    return context;
  }

  /**
   * The delegated OCSP signing certificate of an issuing CA (RFC 6960 §4.2.2.2), created on first
   * use and replaced before it lapses. Its key is a software key: it signs at OCSP rates.
   */
  async ocspResponder(caId: string): Promise<{ certificate: Buffer; signer: X509Signer }> {
    return this.delegated('ocsp', caId, async (issuer, issuerSigner, publicKey, now) =>
      createCaCertificate({
        kind: 'ocsp',
        subject: { commonName: `${issuer.name} OCSP Responder` },
        publicKey,
        serial: newCertificateSerial(),
        notBefore: now,
        notAfter: new Date(Math.min(now.getTime() + lifetimes.ocsp, new Date(issuer.notAfter).getTime())),
        issuer: { certificate: issuer.certificate },
        signer: issuerSigner,
      }),
    );
  }

  /** The device endpoint's TLS key and certificate chain, under the root, for the given names. */
  async deviceTlsCredentials(names: {
    dnsNames: string[];
    ipAddresses: string[];
  }): Promise<{ keyPem: string; certificate: Buffer; chain: Buffer[] }> {
    const root = await this.root();
    const wanted = [...names.dnsNames, ...names.ipAddresses].sort().join(',');
    const { certificate, keyRef } = await this.delegatedRecord(
      'tls',
      root.id,
      wanted,
      async (issuer, issuerSigner, publicKey, now) =>
        createCaCertificate({
          kind: 'tls',
          subject: { commonName: names.dnsNames[0] ?? names.ipAddresses[0] ?? 'vigil-device-endpoint' },
          publicKey,
          serial: newCertificateSerial(),
          notBefore: now,
          notAfter: new Date(Math.min(now.getTime() + lifetimes.tls, new Date(issuer.notAfter).getTime())),
          issuer: { certificate: issuer.certificate },
          signer: issuerSigner,
          dnsNames: names.dnsNames,
          ipAddresses: names.ipAddresses,
        }),
    );
    return {
      keyPem: await this.tlsKeystore.tlsKeyPem(keyRef),
      certificate,
      chain: [certificate, root.certificate],
    };
  }

  private async delegated(
    kind: 'ocsp',
    parentId: string,
    create: (issuer: Authority, issuerSigner: X509Signer, publicKey: Buffer, now: Date) => Promise<Buffer>,
  ): Promise<{ certificate: Buffer; signer: X509Signer }> {
    const { certificate, keyRef } = await this.delegatedRecord(kind, parentId, '', create);
    return { certificate, signer: this.signerFor(keyRef, this.tlsKeystore) };
  }

  /**
   * Finds a current delegated certificate (`name` distinguishes TLS host sets), or makes one with a
   * fresh software key. Delegated certificates are operational, not lifecycle events: not in the ledger.
   */
  private async delegatedRecord(
    kind: 'ocsp' | 'tls',
    parentId: string,
    name: string,
    create: (issuer: Authority, issuerSigner: X509Signer, publicKey: Buffer, now: Date) => Promise<Buffer>,
  ): Promise<{ certificate: Buffer; keyRef: KeyRef }> {
    const now = truncateToSeconds(this.clock.now());
    const current = await this.store.db
      .selectFrom('certificate_authorities')
      .selectAll()
      .where('kind', '=', kind)
      .where('parent_id', '=', parentId)
      .where('name', '=', name)
      .where('status', '=', 'active')
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (current !== undefined && new Date(current.not_after).getTime() - renewBefore > now.getTime()) {
      return { certificate: current.certificate, keyRef: await this.keyRef(current.key_id) };
    }
    const issuer = await this.byId(parentId);
    const issuerSigner = this.signerFor(await this.keyRef((await this.rowOf(parentId)).key_id));
    const { ref, publicKey } = await this.tlsKeystore.generateKey(
      'ecdsa-p256',
      `${kind}: ${issuer.name} ${name}`.trim(),
    );
    const certificate = await create(issuer, issuerSigner, publicKey, now);
    const described = describeCertificate(certificate);
    await this.store.transaction(async (tx) => {
      if (current !== undefined)
        await tx
          .updateTable('certificate_authorities')
          .set({ status: 'retired' })
          .where('id', '=', current.id)
          .execute();
      await tx
        .insertInto('certificate_authorities')
        .values({
          id: newId(),
          kind,
          product_id: issuer.productId,
          parent_id: parentId,
          name,
          key_id: ref.id,
          certificate,
          serial: described.serialHex,
          not_before: toRfc3339(described.notBefore),
          not_after: toRfc3339(described.notAfter),
          status: 'active',
          created_at: toRfc3339(this.clock.now()),
        })
        .execute();
    });
    return { certificate, keyRef: ref };
  }
}
