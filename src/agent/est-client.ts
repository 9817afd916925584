/**
 * EST enrollment with a one-time secret (RFC 7030 §4.2.1, §3.2.3): the device's PKCS#10 request,
 * base64 (RFC 7030 §4.2.1, RFC 8951), HTTP Basic with its serial and the secret the factory got at
 * registration; the answer is a certs-only PKCS#7 holding the device certificate. The secret goes
 * in the Authorization header and nowhere else: never in an error or a log line.
 */
import { request as httpsRequest } from 'node:https';
import { VigilError } from '../core/index.ts';
import { certificatesOfCertsOnly } from './certificates.ts';
import { agentError } from './errors.ts';

export interface EnrollmentRequest {
  /** The device endpoint, https. */
  server: URL;
  ca: string | Buffer;
  serial: string;
  secret: string;
  /** DER of the PKCS#10 request for CN=<serial>. */
  csr: Buffer;
  timeoutMs?: number | undefined;
}

/** Enrolls and returns the certificates of the answer (the device certificate first), DER. */
export async function enrollWithSecret(request: EnrollmentRequest): Promise<Buffer[]> {
  const url = new URL('/.well-known/est/simpleenroll', request.server);
  const body = Buffer.from(request.csr.toString('base64'));
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const outgoing = httpsRequest(
      url,
      {
        method: 'POST',
        agent: false,
        ca: request.ca,
        timeout: request.timeoutMs ?? 30_000,
        headers: {
          'content-type': 'application/pkcs10',
          'content-length': String(body.length),
          authorization: `Basic ${Buffer.from(`${request.serial}:${request.secret}`).toString('base64')}`,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > 1024 * 1024) response.destroy(new Error('the EST answer is too large'));
          else chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer from ${url.origin} in time`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  }).catch((error: unknown) => {
    throw agentError(
      'AGENT_SERVER_UNREACHABLE',
      'unavailable',
      `cannot reach the EST server at ${url.origin}: ${(error as Error).message}`,
      { cause: error },
    );
  });
  if (status !== 200) {
    let problem: { code?: unknown; detail?: unknown } = {};
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      // not a problem document
    }
    throw new VigilError(
      typeof problem.code === 'string' ? problem.code : 'AGENT_REQUEST_FAILED',
      status === 401 ? 'unauthenticated' : status === 400 ? 'invalid' : 'internal',
      `the server refused the enrollment of ${request.serial}: ${typeof problem.detail === 'string' ? problem.detail : `HTTP ${status}`}`,
      { facts: { status } },
    );
  }
  const der = Buffer.from(text.replace(/\s+/g, ''), 'base64');
  const certificates = certificatesOfCertsOnly(der);
  if (certificates.length === 0)
    throw agentError('AGENT_ENROLLMENT_FAILED', 'internal', 'the EST answer holds no certificate');
  return certificates;
}
