// Signing keys for the ledger/verify tests: the golang.org/x/mod/sumdb/note reference key (its
// published note is our interop vector) and fresh keys from core.
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import {
  ed25519SignerFromPem,
  generateEd25519PrivateKeyPem,
  rawEd25519PublicKey,
} from '../../../src/core/index.ts';
import type { NoteSigner } from '../../../src/ledger/verify/note.ts';

/** From the sumdb/note package documentation: PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz */
const goReferenceSeed = Buffer.from('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz', 'base64').subarray(1);
export const goReferenceVerifierKey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
export const goReferenceText =
  'If you think cryptography is the answer to your problem,\n' +
  "then you don't know what your problem is.\n";
export const goReferenceNote =
  goReferenceText +
  '\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';

export function goReferenceSigner(): NoteSigner {
  // RFC 8410 PKCS#8 wrapping of a raw Ed25519 seed.
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), goReferenceSeed]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return {
    publicKey: rawEd25519PublicKey(createPublicKey(key)),
    sign: (message) => sign(null, message, key),
  };
}

export function freshSigner(): NoteSigner {
  return ed25519SignerFromPem(generateEd25519PrivateKeyPem());
}
