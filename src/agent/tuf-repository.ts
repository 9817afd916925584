/**
 * The device's view of its product's TUF repository, through tuf-js (the reference client, which
 * runs the whole client workflow of the TUF specification §5). Metadata lives in
 * `<state-dir>/tuf/<product-id>/`, starting from a root pinned at provisioning (§5.2: the client
 * starts from a trusted root it already has). Without one the agent refuses: trusting whatever
 * root the network serves on first use would let anyone who can answer for the server sign updates.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Updater, type TargetFile } from 'tuf-js';
import { isVigilError } from '../core/index.ts';
import { TufFetcher, type TufFetcherOptions } from './tuf-fetcher.ts';
import { agentError } from './errors.ts';

const productIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The product id out of an offer's `repository` (`/tuf/<product-id>/`); it becomes a directory name. */
export function productIdOfRepository(repository: unknown): string {
  const match = typeof repository === 'string' ? /^\/tuf\/([^/]+)\/$/.exec(repository) : null;
  if (match === null || !productIdPattern.test(match[1]!)) {
    throw agentError(
      'AGENT_OFFER_MALFORMED',
      'internal',
      `the offered repository ${JSON.stringify(repository)} is not /tuf/<product-id>/`,
    );
  }
  return match[1]!;
}

export function tufMetadataDir(stateDir: string, productId: string): string {
  return join(stateDir, 'tuf', productId);
}

export interface TufRepositoryOptions extends TufFetcherOptions {
  stateDir: string;
  productId: string;
  /** The device endpoint (the repository is at `/tuf/<product-id>/` on it). */
  server: URL;
  /** The root to pin when none is stored yet: a file path or its bytes (`--tuf-root`). */
  pinnedRoot?: string | Buffer | undefined;
}

export interface VerifiedTarget {
  info: TargetFile;
  /** Where the verified bytes are, in the metadata directory's `targets/`. */
  file: string;
  /** True when a verified earlier download was reused. */
  cached: boolean;
}

/** Pins `pinnedRoot` as `root.json` unless a root is stored; returns where the trusted root came from. */
export function ensurePinnedRoot(
  metadataDir: string,
  pinnedRoot: string | Buffer | undefined,
): 'stored' | 'pinned' {
  const rootFile = join(metadataDir, 'root.json');
  if (existsSync(rootFile)) return 'stored';
  if (pinnedRoot === undefined) {
    throw agentError(
      'AGENT_TUF_ROOT_MISSING',
      'invalid',
      `no trusted TUF root in ${metadataDir}: give the root pinned at provisioning with --tuf-root (the agent never trusts a root on first use)`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = typeof pinnedRoot === 'string' ? readFileSync(pinnedRoot) : pinnedRoot;
  } catch (error) {
    throw agentError(
      'AGENT_TUF_ROOT_INVALID',
      'invalid',
      `cannot read the pinned root ${String(pinnedRoot)}`,
      {
        cause: error,
      },
    );
  }
  let role: unknown;
  try {
    role = (JSON.parse(bytes.toString('utf8')) as { signed?: { _type?: unknown } }).signed?._type;
  } catch {
    role = undefined;
  }
  if (role !== 'root')
    throw agentError(
      'AGENT_TUF_ROOT_INVALID',
      'invalid',
      'the pinned root is not TUF root metadata (signed._type "root")',
    );
  mkdirSync(metadataDir, { recursive: true });
  writeFileSync(rootFile, bytes);
  return 'pinned';
}

export class TufRepository {
  readonly metadataDir: string;
  readonly targetDir: string;
  private readonly updater: Updater;
  private readonly fetcher: TufFetcher;

  constructor(options: TufRepositoryOptions) {
    this.metadataDir = tufMetadataDir(options.stateDir, options.productId);
    this.targetDir = join(this.metadataDir, 'targets');
    const source = ensurePinnedRoot(this.metadataDir, options.pinnedRoot);
    mkdirSync(this.targetDir, { recursive: true });
    this.fetcher = new TufFetcher(options);
    const base = new URL(`/tuf/${options.productId}/`, options.server).toString();
    try {
      // §5.2: load the trusted root; tuf-js checks it is signed by a threshold of its own root keys.
      this.updater = new Updater({
        metadataDir: this.metadataDir,
        metadataBaseUrl: base,
        targetDir: this.targetDir,
        targetBaseUrl: `${base}targets/`,
        fetcher: this.fetcher,
      });
    } catch (error) {
      if (source === 'pinned') rmSync(join(this.metadataDir, 'root.json'), { force: true });
      throw agentError(
        'AGENT_TUF_ROOT_INVALID',
        'invalid',
        `the ${source} TUF root does not verify: ${describe(error)}`,
        { cause: error },
      );
    }
  }

  /** §5.3-§5.6: root rotations, timestamp, snapshot, targets; everything checked by tuf-js. */
  async refresh(): Promise<void> {
    await this.guard('refreshing the metadata', () => this.updater.refresh());
  }

  /** §5.7: the target's signed description, then its bytes, verified against it (reused when already verified). */
  async fetchTarget(path: string): Promise<VerifiedTarget> {
    const info = await this.guard(`looking up ${path}`, () => this.updater.getTargetInfo(path));
    if (info === undefined) {
      throw agentError(
        'AGENT_TUF_VERIFICATION_FAILED',
        'conflict',
        `the signed targets metadata has no target ${path}`,
        { facts: { tufError: 'TargetNotFound', path } },
      );
    }
    const cached = await this.updater.findCachedTarget(info);
    if (cached !== undefined) return { info, file: cached, cached: true };
    const file = await this.guard(`downloading ${path}`, () => this.updater.downloadTarget(info));
    return { info, file, cached: false };
  }

  /**
   * Runs a tuf-js step and types its failure: a transport failure during the step (the fetcher saw
   * it, even where tuf-js wrapped it in a RuntimeError) is AGENT_TUF_UNREACHABLE: nothing was
   * verified, try again later. Anything else is tuf-js refusing what it got.
   */
  private async guard<T>(what: string, step: () => Promise<T>): Promise<T> {
    const before = this.fetcher.failures.length;
    try {
      return await step();
    } catch (error) {
      if (isVigilError(error)) throw error;
      const failure = this.fetcher.failures[before];
      if (failure !== undefined) {
        throw agentError(
          'AGENT_TUF_UNREACHABLE',
          'unavailable',
          `${what}: cannot fetch ${new URL(failure.url).pathname} (${failure.detail})`,
          { cause: error, facts: { url: failure.url, status: failure.status } },
        );
      }
      throw agentError('AGENT_TUF_VERIFICATION_FAILED', 'conflict', `${what}: ${describe(error)}`, {
        cause: error,
        facts: { tufError: (error as Error).constructor?.name ?? 'Error' },
      });
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}
