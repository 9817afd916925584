import { X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VigilError } from '../core/index.ts';

/**
 * TPM endorsement (RFC 9334: the TPM manufacturer is an Endorser): an EK certificate issued under
 * one of the manufacturer CAs the installation trusts, for exactly the EK the device presents,
 * proves the EK (and so, after credential activation, the AK) lives in a genuine TPM.
 */
export class EndorsementRoots {
  private readonly certificates: X509Certificate[];

  constructor(certificates: X509Certificate[]) {
    this.certificates = certificates;
  }

  /**
   * Reads a PEM bundle of TPM manufacturer CA certificates: the self-signed roots, and the
   * intermediates between them and EK certificates (a bundle of intermediates alone anchors nothing).
   */
  static fromPemFile(path: string): EndorsementRoots {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new VigilError('CONFIG_INVALID', 'invalid', `VIGIL_TPM_EK_ROOTS: ${(error as Error).message}`);
    }
    const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (pems.length === 0)
      throw new VigilError(
        'CONFIG_INVALID',
        'invalid',
        `VIGIL_TPM_EK_ROOTS: ${path} holds no PEM certificate`,
      );
    return new EndorsementRoots(
      pems.map((pem, position) => {
        try {
          return new X509Certificate(pem);
        } catch {
          throw new VigilError(
            'CONFIG_INVALID',
            'invalid',
            `VIGIL_TPM_EK_ROOTS: certificate ${position + 1} of ${path} is not a certificate`,
          );
        }
      }),
    );
  }

  /**
   * Checks an EK certificate (DER) against the bundle: each link signed by the next, up to a
   * self-signed certificate of the bundle, every one valid at `at`, and its key the EK's own.
   */
  verify(der: Buffer, ekPublicKey: KeyObject, at: Date): void {
    const refuse = (message: string): never => {
      throw new VigilError('ATTESTATION_EK_CERTIFICATE_INVALID', 'invalid', message);
    };
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(der);
    } catch {
      return refuse('the EK certificate is not a DER X.509 certificate');
    }
    const spki = (key: KeyObject) => key.export({ format: 'der', type: 'spki' });
    let certified: Buffer;
    try {
      certified = spki(certificate.publicKey);
    } catch {
      return refuse('the key in the EK certificate cannot be read');
    }
    if (!certified.equals(spki(ekPublicKey)))
      refuse('the EK certificate is for another key than the EK presented');
    const valid = (candidate: X509Certificate) =>
      new Date(candidate.validFrom) <= at && at <= new Date(candidate.validTo);
    let current = certificate;
    for (let depth = 0; depth < 8; depth++) {
      if (!valid(current)) refuse(`${current.subject} is not valid now`);
      const issuer = this.certificates.find(
        (candidate) => current.checkIssued(candidate) && current.verify(candidate.publicKey),
      );
      if (issuer === undefined)
        return refuse('the EK certificate does not chain to a trusted TPM manufacturer CA');
      if (issuer.checkIssued(issuer) && issuer.verify(issuer.publicKey)) {
        if (!valid(issuer)) refuse(`${issuer.subject} is not valid now`);
        return;
      }
      current = issuer;
    }
    refuse('the EK certificate chain is too long');
  }
}
