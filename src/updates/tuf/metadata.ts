import { createHash, createPublicKey } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import {
  Metadata,
  MetadataKind,
  MetaFile,
  Root,
  Signature,
  Snapshot,
  TargetFile,
  Targets,
  Timestamp,
} from '@tufjs/models';
import { VigilError, canonicalJson } from '../../core/index.ts';

/**
 * TUF metadata as Vigil writes it (The Update Framework specification 1.0): built with
 * `@tufjs/models`, signed through any keystore, serialized as canonical JSON. Pure code: no store,
 * no keystore, no clock; the repository service does the I/O around it.
 */

export const tufRoles = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TufRole = (typeof tufRoles)[number];

/** The specification version written into `spec_version` (tuf-js and python-tuf accept 1.x). */
export const tufSpecVersion = '1.0.31';

/** A public key as the metadata lists it: ECDSA P-256, PEM SubjectPublicKeyInfo. */
export interface TufKey {
  keyid: string;
  keytype: 'ecdsa';
  scheme: 'ecdsa-sha2-nistp256';
  public: string;
}

/** Something that can sign the canonical bytes of a role's `signed` part with one key. */
export interface TufSigner {
  keyid: string;
  /** Returns an ECDSA signature over SHA-256 of `data`, DER-encoded (TUF's `ecdsa-sha2-nistp256`). */
  sign(data: Buffer): Promise<Buffer>;
}

function keyJson(key: Pick<TufKey, 'keytype' | 'scheme' | 'public'>) {
  return { keytype: key.keytype, scheme: key.scheme, keyval: { public: key.public } };
}

/**
 * The TUF key of a P-256 SubjectPublicKeyInfo. TUF specification §4.2: the KEYID is the
 * hexdigest of the SHA-256 of the canonical JSON of the key object. Nothing in the models or the
 * clients recomputes it, so it must be right here.
 */
export function tufKeyFromSpki(spki: Buffer): TufKey {
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new VigilError('TUF_KEY_UNSUPPORTED', 'invalid', 'TUF keys must be ECDSA P-256');
  }
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const key = { keytype: 'ecdsa' as const, scheme: 'ecdsa-sha2-nistp256' as const, public: pem };
  const keyid = createHash('sha256')
    .update(canonicalize(keyJson(key)))
    .digest('hex');
  return { keyid, ...key };
}

/** TUF specification §4.3: `expires` is `YYYY-MM-DDTHH:MM:SSZ`, whole seconds (python-tuf refuses more). */
export function tufExpires(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export interface RootContent {
  version: number;
  expires: Date;
  keys: Record<TufRole, TufKey[]>;
  thresholds: Record<TufRole, number>;
}

export function buildRoot(content: RootContent): Root {
  const keys: Record<string, ReturnType<typeof keyJson>> = {};
  const roles: Record<string, { keyids: string[]; threshold: number }> = {};
  for (const role of tufRoles) {
    const roleKeys = content.keys[role];
    const threshold = content.thresholds[role];
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > roleKeys.length) {
      throw new VigilError(
        'TUF_THRESHOLD_INVALID',
        'invalid',
        `the ${role} threshold must be between 1 and its ${roleKeys.length} keys, not ${threshold}`,
      );
    }
    for (const key of roleKeys) keys[key.keyid] = keyJson(key);
    roles[role] = { keyids: roleKeys.map((key) => key.keyid), threshold };
  }
  // The models keep `Role` to themselves; the root is built from its JSON form instead.
  return Root.fromJSON({
    _type: 'root',
    spec_version: tufSpecVersion,
    version: content.version,
    expires: tufExpires(content.expires),
    keys,
    roles,
    // §5.3.x: consistent snapshots let a mirror keep every version side by side.
    consistent_snapshot: true,
  });
}

/** One target file: its path in the repository, its size, hashes and Vigil's custom fields. */
export interface TargetDescription {
  path: string;
  length: number;
  sha256: string;
  sha512: string;
  custom: Record<string, string | number | boolean | string[] | null>;
}

export function buildTargets(content: {
  version: number;
  expires: Date;
  targets: TargetDescription[];
}): Targets {
  const targets = new Targets({
    version: content.version,
    specVersion: tufSpecVersion,
    expires: tufExpires(content.expires),
  });
  for (const target of content.targets) {
    targets.addTarget(
      new TargetFile({
        path: target.path,
        length: target.length,
        hashes: { sha256: target.sha256, sha512: target.sha512 },
        unrecognizedFields: { custom: target.custom },
      }),
    );
  }
  return targets;
}

/** The targets a signed targets document lists, as descriptions (to carry them into the next version). */
export function targetsOf(targets: Targets): TargetDescription[] {
  return Object.values(targets.targets).map((file) => ({
    path: file.path,
    length: file.length,
    sha256: file.hashes.sha256 ?? '',
    sha512: file.hashes.sha512 ?? '',
    custom: file.custom as TargetDescription['custom'],
  }));
}

export function buildSnapshot(content: { version: number; expires: Date; targetsVersion: number }): Snapshot {
  return new Snapshot({
    version: content.version,
    specVersion: tufSpecVersion,
    expires: tufExpires(content.expires),
    meta: { 'targets.json': new MetaFile({ version: content.targetsVersion }) },
  });
}

/** The timestamp names the snapshot by version, length and SHA-256 (§4.6), so a mirror cannot swap it. */
export function buildTimestamp(content: {
  version: number;
  expires: Date;
  snapshotVersion: number;
  snapshotDocument: string;
}): Timestamp {
  const bytes = Buffer.from(content.snapshotDocument);
  return new Timestamp({
    version: content.version,
    specVersion: tufSpecVersion,
    expires: tufExpires(content.expires),
    snapshotMeta: new MetaFile({
      version: content.snapshotVersion,
      length: bytes.length,
      hashes: { sha256: createHash('sha256').update(bytes).digest('hex') },
    }),
  });
}

type AnySigned = Root | Targets | Snapshot | Timestamp;

/**
 * Signs a role's content with each signer and returns the document to serve. §3: signatures are
 * over the OLPC canonical JSON of `signed` (what clients recompute), which leaves control
 * characters such as a PEM's newlines unescaped and so is not itself JSON; the served document is
 * the same metadata in RFC 8785 canonical form, which is JSON and just as deterministic.
 */
export async function signMetadata(signed: AnySigned, signers: readonly TufSigner[]): Promise<string> {
  const metadata = new Metadata(signed);
  const bytes = Buffer.from(canonicalize(signed.toJSON()));
  for (const signer of signers) {
    const signature = await signer.sign(bytes);
    metadata.signatures[signer.keyid] = new Signature({
      keyID: signer.keyid,
      sig: signature.toString('hex'),
    });
  }
  return canonicalJson(metadata.toJSON());
}

const kinds: Record<TufRole, MetadataKind> = {
  root: MetadataKind.Root,
  targets: MetadataKind.Targets,
  snapshot: MetadataKind.Snapshot,
  timestamp: MetadataKind.Timestamp,
};

/** Parses a stored document of a role (our own output; a parse failure is a broken invariant). */
export function parseRoot(document: string): Metadata<Root> {
  return Metadata.fromJSON(kinds.root as MetadataKind.Root, JSON.parse(document));
}
export function parseTargets(document: string): Metadata<Targets> {
  return Metadata.fromJSON(kinds.targets as MetadataKind.Targets, JSON.parse(document));
}

/**
 * Checks that `document` of `role` carries at least the threshold of valid signatures that
 * `root` demands (§5.3.x, as a client would); throws a typed error otherwise.
 */
export function verifyRoleSignatures(root: Metadata<Root>, role: TufRole, document: string): void {
  const metadata = Metadata.fromJSON(kinds[role] as MetadataKind.Root, JSON.parse(document));
  try {
    root.verifyDelegate(role, metadata);
  } catch (error) {
    throw new VigilError('TUF_SIGNATURE_INVALID', 'invalid', `${role}: ${(error as Error).message}`);
  }
}
