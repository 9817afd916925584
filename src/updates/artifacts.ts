import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VigilError } from '../core/index.ts';

/** What the store knows of one artifact's bytes. */
export interface ArtifactDigest {
  sha256: string;
  sha512: string;
  length: number;
}

/** What the uploader declares; a mismatch refuses the upload and keeps nothing. */
export interface ArtifactDeclaration {
  sha256?: string | undefined;
  sha512?: string | undefined;
  length?: number | undefined;
}

/** Default upload cap: 4 GiB (`VIGIL_ARTIFACT_MAX_BYTES` changes it). */
export const defaultArtifactMaxBytes = 4 * 1024 ** 3;

/**
 * Artifacts on disk, addressed by their SHA-256: `<dir>/sha256/<first two hex>/<hex>`. An upload
 * streams into a temporary file while both digests are computed, and is moved into place only
 * when it matches its declaration, so a reader never sees a partial or unverified file.
 */
export class ArtifactStore {
  readonly dir: string;
  readonly maxBytes: number;

  constructor(options: { dir: string; maxBytes?: number | undefined }) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? defaultArtifactMaxBytes;
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) {
      throw new VigilError(
        'ARTIFACT_DIGEST_INVALID',
        'invalid',
        'an artifact is named by 64 lower-case hex digits',
      );
    }
    return join(this.dir, 'sha256', sha256.slice(0, 2), sha256);
  }

  /** Streams `body` into the store; returns its digests. The bytes are attacker-controlled. */
  async put(body: Readable, declared: ArtifactDeclaration = {}): Promise<ArtifactDigest> {
    const scratch = join(this.dir, 'incoming');
    await mkdir(scratch, { recursive: true });
    const temporary = join(scratch, randomUUID());
    const sha256 = createHash('sha256');
    const sha512 = createHash('sha512');
    let length = 0;
    const limit = this.maxBytes;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        length += chunk.length;
        if (length > limit) {
          done(
            new VigilError('ARTIFACT_TOO_LARGE', 'too_large', `an artifact may hold at most ${limit} bytes`),
          );
          return;
        }
        sha256.update(chunk);
        sha512.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, hashing, createWriteStream(temporary, { mode: 0o640 }));
      const digest = { sha256: sha256.digest('hex'), sha512: sha512.digest('hex'), length };
      checkDeclaration(digest, declared);
      const target = this.pathOf(digest.sha256);
      await mkdir(join(target, '..'), { recursive: true });
      await rename(temporary, target);
      return digest;
    } catch (error) {
      await rm(temporary, { force: true });
      if (error instanceof VigilError) throw error;
      throw new VigilError('ARTIFACT_UPLOAD_FAILED', 'invalid', 'the artifact upload did not complete', {
        cause: error,
      });
    }
  }

  /** Opens stored bytes for reading, with their length; `null` when the store does not hold them. */
  async open(sha256: string): Promise<{ stream: Readable; length: number } | null> {
    const path = this.pathOf(sha256);
    try {
      const stats = await stat(path);
      return { stream: createReadStream(path), length: stats.size };
    } catch {
      return null;
    }
  }
}

function checkDeclaration(digest: ArtifactDigest, declared: ArtifactDeclaration): void {
  const mismatches: string[] = [];
  if (declared.sha256 !== undefined && declared.sha256.toLowerCase() !== digest.sha256)
    mismatches.push('sha256');
  if (declared.sha512 !== undefined && declared.sha512.toLowerCase() !== digest.sha512)
    mismatches.push('sha512');
  if (declared.length !== undefined && declared.length !== digest.length) mismatches.push('length');
  if (mismatches.length > 0) {
    throw new VigilError(
      'ARTIFACT_HASH_MISMATCH',
      'invalid',
      `the uploaded artifact does not match its declared ${mismatches.join(', ')}`,
      { facts: { mismatches, received: digest } },
    );
  }
}
