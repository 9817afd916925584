/**
 * Where private keys live. Callers hold a KeyRef and ask the keystore to sign; no private key
 * leaves a keystore in clear (the software keystore keeps them encrypted at rest, PKCS#11 keeps
 * them on the token).
 */
export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-3072';

export type KeystoreBackend = 'software' | 'pkcs11';

export interface KeyRef {
  /** Our record id (UUIDv7) of the key. */
  id: string;
  backend: KeystoreBackend;
  algorithm: KeyAlgorithm;
}

/** The digest a signature is made over; X.509 pairs P-256 with SHA-256, P-384 with SHA-384, RSA-3072 with SHA-256. */
export type SignatureHash = 'sha256' | 'sha384';

export interface Keystore {
  readonly backend: KeystoreBackend;
  /** Creates a key pair; returns its reference and its public key as SubjectPublicKeyInfo DER. */
  generateKey(algorithm: KeyAlgorithm, label: string): Promise<{ ref: KeyRef; publicKey: Buffer }>;
  /** The SubjectPublicKeyInfo DER of a stored key. */
  publicKey(ref: KeyRef): Promise<Buffer>;
  /**
   * Signs `data` (the keystore hashes it with `hash`). ECDSA signatures come DER-encoded
   * (ECDSA-Sig-Value, as X.509, CRLs and OCSP carry them); RSA signatures are PKCS#1 v1.5.
   */
  sign(ref: KeyRef, data: Uint8Array, hash: SignatureHash): Promise<Buffer>;
}
