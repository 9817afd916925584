/**
 * The agent's side of the device endpoint: HTTPS with mutual TLS (the device certificate from EST
 * enrollment), JSON in and out, RFC 9457 problems turned into typed errors carrying the server's
 * own `code` and `detail`.
 */
import { request as httpsRequest } from 'node:https';
import { VigilError, type ErrorKind } from '../core/index.ts';
import { agentError } from './errors.ts';
import type { Problem } from './wire.ts';

const kindOfStatus: Record<number, ErrorKind> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media',
  503: 'unavailable',
};

/** Answers above this are not what the device endpoint sends; stop reading rather than buffer them. */
const maxResponseBytes = 8 * 1024 * 1024;

export interface DeviceClientOptions {
  /** Base URL of the device endpoint, e.g. https://vigil.example:8443. */
  server: URL;
  /** PEM of the CA certificates the server's TLS certificate chains to. */
  ca: string | Buffer;
  /** The device certificate (PEM, optionally followed by its chain) and its private key. */
  cert: string | Buffer;
  key: string | Buffer;
  timeoutMs?: number;
}

/** TLS verification failures of the server's certificate (Node's codes from OpenSSL). */
const untrustedCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export class DeviceClient {
  private readonly options: DeviceClientOptions;

  constructor(options: DeviceClientOptions) {
    this.options = options;
  }

  get server(): string {
    return this.options.server.origin;
  }

  async get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path);
  }

  async post<T>(path: string, body?: unknown): Promise<T> {
    return this.send<T>('POST', path, body);
  }

  private send<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.options.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
    };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const where = `${method} ${url.pathname}`;
    return new Promise<T>((resolve, reject) => {
      const request = httpsRequest(
        url,
        {
          method,
          headers,
          ca: this.options.ca,
          cert: this.options.cert,
          key: this.options.key,
          agent: false,
          timeout: this.options.timeoutMs ?? 30_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxResponseBytes) {
              response.destroy();
              reject(agentError('AGENT_RESPONSE_MALFORMED', 'internal', `${where}: the answer is too large`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', (error) => reject(this.transportError(error, where)));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text === '' ? undefined : JSON.parse(text);
            } catch {
              json = undefined;
            }
            if (status >= 200 && status < 300) {
              if (json === undefined)
                reject(
                  agentError(
                    'AGENT_RESPONSE_MALFORMED',
                    'internal',
                    `${where}: the server answered HTTP ${status} without a JSON body`,
                  ),
                );
              else resolve(json as T);
              return;
            }
            reject(refusal(where, status, json as Problem | undefined));
          });
        },
      );
      request.on('timeout', () => {
        request.destroy(
          agentError(
            'AGENT_SERVER_TIMEOUT',
            'unavailable',
            `${where}: no answer from ${this.server} in time`,
          ),
        );
      });
      request.on('error', (error) => reject(this.transportError(error, where)));
      request.end(payload);
    });
  }

  private transportError(error: Error, where: string): VigilError {
    if (error instanceof VigilError) return error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (untrustedCodes.has(code))
      return agentError(
        'AGENT_SERVER_UNTRUSTED',
        'unavailable',
        `the TLS certificate of ${this.server} does not verify against --ca (${code}: ${error.message})`,
        { cause: error },
      );
    return agentError(
      'AGENT_SERVER_UNREACHABLE',
      'unavailable',
      `cannot reach the Vigil device endpoint at ${this.server} (${where}): ${code === '' ? error.message : code}`,
      { cause: error },
    );
  }
}

/** A non-2xx answer: the problem's own code and detail when it sent one (RFC 9457). */
function refusal(where: string, status: number, problem: Problem | undefined): VigilError {
  const code = typeof problem?.code === 'string' ? problem.code : 'AGENT_REQUEST_FAILED';
  const detail =
    typeof problem?.detail === 'string'
      ? problem.detail
      : typeof problem?.title === 'string'
        ? problem.title
        : `HTTP ${status}`;
  return new VigilError(code, kindOfStatus[status] ?? 'internal', `the server refused ${where}: ${detail}`, {
    facts: { status },
  });
}
