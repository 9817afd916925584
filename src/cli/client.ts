import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';

/** What fetch accepts as a request body here: text, bytes or a web stream. */
type RequestBody = NonNullable<RequestInit['body']>;
import { VigilError, type ApiClient, type ErrorKind } from '../core/index.ts';

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

export interface ClientFlags {
  url?: string;
  tokenFile?: string;
}

/** Resolves `--url`/`VIGIL_URL` and `--token-file`/`VIGIL_TOKEN`; flags override the environment. */
export function createApiClient(flags: ClientFlags): ApiClient {
  const base = (flags.url ?? process.env.VIGIL_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  let token: string | undefined;
  if (flags.tokenFile !== undefined) {
    try {
      token = readFileSync(flags.tokenFile, 'utf8').trim();
    } catch (error) {
      throw new VigilError(
        'CLI_TOKEN_FILE_UNREADABLE',
        'invalid',
        `cannot read the token file ${flags.tokenFile}`,
        { cause: error },
      );
    }
  } else {
    token = process.env.VIGIL_TOKEN?.trim();
  }

  async function send(
    method: string,
    path: string,
    body?: { payload: RequestBody; contentType: string; streamed?: boolean },
  ): Promise<Response> {
    const headers: Record<string, string> = {
      accept: 'application/json, text/plain, application/problem+json',
    };
    if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = body.contentType;
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body?.payload,
        // A streamed request body (fetch needs to be told it sends while it receives).
        ...(body?.streamed === true ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (error) {
      throw new VigilError(
        'CLI_SERVER_UNREACHABLE',
        'unavailable',
        `cannot reach the Vigil server at ${base} (set --url or VIGIL_URL)`,
        {
          cause: error,
        },
      );
    }
    if (!response.ok) {
      const text = await response.text();
      let problem: { code?: string; detail?: string } = {};
      try {
        problem = JSON.parse(text) as typeof problem;
      } catch {
        // not a problem document: report the status alone
      }
      throw new VigilError(
        problem.code ?? 'CLI_REQUEST_FAILED',
        kindOfStatus[response.status] ?? 'internal',
        problem.detail ?? `HTTP ${response.status}`,
        {
          facts: { status: response.status },
        },
      );
    }
    return response;
  }

  return {
    async request<T>(
      method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
      path: string,
      body?: unknown,
    ): Promise<T> {
      const response = await send(
        method,
        path,
        body === undefined ? undefined : { payload: JSON.stringify(body), contentType: 'application/json' },
      );
      return (await response.json()) as T;
    },
    async upload<T>(
      path: string,
      body: AsyncIterable<Uint8Array> | Uint8Array | string,
      contentType: string,
    ): Promise<T> {
      const streamed = typeof body !== 'string' && !(body instanceof Uint8Array);
      const payload = streamed
        ? (Readable.toWeb(Readable.from(body)) as unknown as RequestBody)
        : (body as RequestBody);
      const response = await send('POST', path, { payload, contentType, streamed });
      return (await response.json()) as T;
    },
    async text(path: string): Promise<string> {
      return (await send('GET', path)).text();
    },
  };
}
