import { runPeriodically, type Clock } from '../core/index.ts';
import type { Actor, Ledger } from '../ledger/index.ts';
import type { Store } from '../store/index.ts';
import { CertificateAuthorities, type Authority, type RevocationUrls } from './authorities.ts';
import { DeviceService } from './devices.ts';
import { EnrollmentService } from './enrollment.ts';
import { IdentityEvidence } from './identity-evidence.ts';
import type { KeyAlgorithm, Keystore, SoftwareKeystore } from './keystore/index.ts';
import { IdentityProfiles } from './profile-store.ts';
import { Revocations } from './revocation.ts';

export interface IdentityOptions {
  store: Store;
  ledger: Ledger;
  clock: Clock;
  /** Where CA keys live (software or PKCS#11). */
  keystore: Keystore;
  /** Where operational keys live (TLS and OCSP signing keys): always software. */
  softwareKeystore: SoftwareKeystore;
  /**
   * The revocation status listener as relying parties reach it, e.g. http://status.example.com:8081:
   * CRL distribution points and OCSP addresses in certificates are plain HTTP (RFC 5280 §4.2.1.13,
   * RFC 6960 Appendix A), which is what TLS stacks fetch.
   */
  statusBaseUrl: string;
}

/** Every identity service of an installation, wired together. */
export class Identity {
  readonly authorities: CertificateAuthorities;
  readonly profiles: IdentityProfiles;
  readonly revocations: Revocations;
  readonly devices: DeviceService;
  readonly enrollment: EnrollmentService;
  readonly evidence: IdentityEvidence;

  constructor(options: IdentityOptions) {
    const { store, ledger, clock } = options;
    const base = options.statusBaseUrl.replace(/\/+$/, '');
    const urls: RevocationUrls = { crlUrl: (caId) => `${base}/crl/${caId}.crl`, ocspUrl: `${base}/ocsp` };
    this.authorities = new CertificateAuthorities({
      store,
      ledger,
      clock,
      keystore: options.keystore,
      tlsKeystore: options.softwareKeystore,
      urls,
    });
    this.profiles = new IdentityProfiles({ store, ledger, clock });
    this.revocations = new Revocations({ store, authorities: this.authorities, clock });
    this.devices = new DeviceService({
      store,
      ledger,
      clock,
      profiles: this.profiles,
      revocations: this.revocations,
    });
    this.enrollment = new EnrollmentService({
      store,
      ledger,
      clock,
      authorities: this.authorities,
      profiles: this.profiles,
    });
    this.evidence = new IdentityEvidence({ store, ledger, clock, profiles: this.profiles });
  }

  /** Creates a product's first issuing CA and publishes its (empty) CRL. */
  async createIssuingCa(
    actor: Actor,
    product: { id: string; name: string },
    algorithm: KeyAlgorithm = 'ecdsa-p256',
  ): Promise<Authority> {
    const created = await this.authorities.createIssuing(actor, product.id, {
      algorithm,
      productName: product.name,
    });
    return this.published(created);
  }

  /** Rotates a product's issuing CA (the old one keeps validating) and publishes the new CA's CRL. */
  async rotateIssuingCa(
    actor: Actor,
    product: { id: string; name: string },
    algorithm?: KeyAlgorithm,
  ): Promise<Authority> {
    const created = await this.authorities.rotateIssuing(actor, product.id, {
      algorithm,
      productName: product.name,
    });
    return this.published(created);
  }

  private async published(authority: Authority): Promise<Authority> {
    this.revocations.forgetAuthorities();
    await this.revocations.regenerateCrl(authority.id);
    return authority;
  }

  /**
   * Background upkeep of one process: notices revocations made by other processes (every 250 ms,
   * so OCSP answers change within a second) and keeps CRLs fresh. Returns a stop function.
   */
  startMaintenance(onError: (error: unknown) => void = () => undefined): () => Promise<void> {
    let ticks = 0;
    return runPeriodically(
      async () => {
        await this.revocations.pollRevocations();
        if (ticks++ % 240 === 0) await this.revocations.refreshDueCrls();
      },
      { intervalMs: 250, onError },
    );
  }
}
