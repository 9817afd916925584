import { VigilError } from '../core/index.ts';
import type { KeyAlgorithm } from './keystore/index.ts';

export const keyAlgorithms: readonly KeyAlgorithm[] = ['ecdsa-p256', 'ecdsa-p384', 'rsa-3072'];

/** How device certificates of one product look (per product, versioned in the store). */
export interface CertificateProfile {
  /** Lifetime of a device certificate. */
  validityDays: number;
  /** Key types a device CSR may carry. */
  keyTypes: KeyAlgorithm[];
  /** Devices are told to renew this many days before expiry. */
  renewalWindowDays: number;
  /** Lifetime of a one-time enrollment secret unless registration says otherwise. */
  enrollmentSecretDays: number;
}

export const defaultProfile: CertificateProfile = {
  validityDays: 365,
  keyTypes: ['ecdsa-p256', 'ecdsa-p384'],
  renewalWindowDays: 30,
  enrollmentSecretDays: 30,
};

export function validateProfile(profile: CertificateProfile): CertificateProfile {
  if (!Number.isInteger(profile.validityDays) || profile.validityDays < 1 || profile.validityDays > 3650) {
    throw new VigilError('IDENTITY_PROFILE_INVALID', 'invalid', 'validityDays must be 1..3650');
  }
  if (profile.renewalWindowDays >= profile.validityDays) {
    throw new VigilError(
      'IDENTITY_PROFILE_INVALID',
      'invalid',
      'renewalWindowDays must be shorter than validityDays',
    );
  }
  if (profile.keyTypes.length === 0 || profile.keyTypes.some((type) => !keyAlgorithms.includes(type))) {
    throw new VigilError(
      'IDENTITY_PROFILE_INVALID',
      'invalid',
      `keyTypes must be among ${keyAlgorithms.join(', ')}`,
    );
  }
  return { ...profile, keyTypes: [...new Set(profile.keyTypes)] };
}

/** The key algorithm a CSR's key corresponds to, if it is one we issue for. */
export function keyAlgorithmOf(key: {
  type: string;
  curve?: string | undefined;
  bits?: number | undefined;
}): KeyAlgorithm | undefined {
  if (key.type === 'ec' && key.curve === 'P-256') return 'ecdsa-p256';
  if (key.type === 'ec' && key.curve === 'P-384') return 'ecdsa-p384';
  if (key.type === 'rsa' && key.bits === 3072) return 'rsa-3072';
  return undefined;
}
