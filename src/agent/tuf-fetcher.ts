/**
 * The transport under tuf-js: HTTPS that trusts the given CA bundle (and presents the device
 * certificate when it has one), which tuf-js' own fetch cannot be told. It only moves bytes: every
 * check (signatures, versions, expiry, lengths, hashes; TUF specification §5) stays with tuf-js.
 * Non-2xx answers are tuf-js' `DownloadHTTPError`, which its root update needs to see a 404 as
 * "no newer root" (§5.3.3). Transport failures are remembered, so the caller can tell "could not
 * reach the repository" from "the repository failed verification" after tuf-js wrapped the error.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';

export interface TufFetcherOptions {
  /** PEM of the CA certificates the repository's TLS certificate chains to. */
  ca: string | Buffer;
  /** The device certificate and key, presented if the server asks (the TUF routes do not need it). */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  timeoutMs?: number | undefined;
}

export interface TransportFailure {
  url: string;
  /** The HTTP status, or null when no answer came. */
  status: number | null;
  detail: string;
}

export class TufFetcher extends BaseFetcher {
  private readonly options: TufFetcherOptions;
  readonly failures: TransportFailure[] = [];

  constructor(options: TufFetcherOptions) {
    super();
    this.options = options;
  }

  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const target = new URL(url);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const options = { method: 'GET', agent: false as const, timeout: this.options.timeoutMs ?? 30_000 };
      const request =
        target.protocol === 'https:'
          ? httpsRequest(
              target,
              { ...options, ca: this.options.ca, cert: this.options.cert, key: this.options.key },
              resolve,
            )
          : target.protocol === 'http:'
            ? // A plain-HTTP mirror is allowed: TUF metadata protects itself (§1.5.2).
              httpRequest(target, options, resolve)
            : undefined;
      if (request === undefined) {
        reject(new Error(`unsupported URL scheme ${target.protocol}`));
        return;
      }
      request.on('timeout', () => request.destroy(new Error(`no answer from ${target.origin} in time`)));
      request.on('error', reject);
      request.end();
    }).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      this.failures.push({
        url,
        status: null,
        detail: code === undefined ? (error as Error).message : `${code}: ${(error as Error).message}`,
      });
      throw error;
    });
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      response.resume();
      // §5.3.3: a missing next root is how the client learns it has the newest; not a failure.
      const expected = (status === 404 || status === 403) && /\/\d+\.root\.json$/.test(target.pathname);
      if (!expected) this.failures.push({ url, status, detail: `HTTP ${status}` });
      throw new DownloadHTTPError(`GET ${target.pathname}: HTTP ${status}`, status);
    }
    response.on('error', (error) => this.failures.push({ url, status, detail: error.message }));
    return Readable.toWeb(response) as unknown as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}
