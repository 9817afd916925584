// Helpers the benchmarks share: load generation and device material made in-process, so the
// load generator stays cheap next to the server it measures.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:https';
import {
  bitString,
  contextTag,
  oid,
  sequence,
  setOf,
  smallInteger,
  tlv,
  utf8String,
} from '../src/identity/x509/der.ts';

/** A PKCS#10 request for CN=`commonName` with a fresh P-256 key (RFC 2986), built in-process so the load generator stays cheap. */
export function makeCsr(commonName: string): { der: Buffer; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = sequence(setOf([sequence(oid('2.5.4.3'), utf8String(commonName))]));
  const info = sequence(
    smallInteger(0),
    name,
    publicKey.export({ format: 'der', type: 'spki' }),
    tlv(contextTag(0, true)),
  );
  const signature = sign('sha256', info, privateKey);
  return { der: sequence(info, sequence(oid('1.2.840.10045.4.3.2')), bitString(signature)), privateKey };
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
export async function pool<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** An authenticated admin-API caller of a benchmark's server; a refused call fails the benchmark. */
export function adminClient(baseUrl: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as any;
    if (response.status >= 300)
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** A product with its issuing CA (hardware revision A), and the installation's root CA as PEM. */
export async function benchProduct(
  admin: ReturnType<typeof adminClient>,
): Promise<{ productId: string; rootPem: string }> {
  const product = await admin('POST', '/api/v1/products', {
    name: 'Bench pump',
    model: 'B-1',
    hardwareRevisions: ['A'],
    regimes: [],
    supportStart: '2026-01-01',
    supportEnd: '2036-01-01',
  });
  await admin('POST', `/api/v1/products/${product.id}/ca`, {});
  const root = (await admin('GET', '/api/v1/cas')).cas.find((ca: { kind: string }) => ca.kind === 'root');
  return { productId: product.id as string, rootPem: root.certificate as string };
}

/** A JSON POST over a device's own keep-alive TLS connection (its certificate is the agent's). */
export function devicePost(
  deviceUrl: string,
  ca: string,
  agent: Agent,
  path: string,
  body: string,
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const call = request(
      `${deviceUrl}${path}`,
      { method: 'POST', ca, agent, headers: { 'content-type': 'application/json' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) });
        });
      },
    );
    call.on('error', reject);
    call.end(body);
  });
}

export interface EnrolledDevice {
  id: string;
  serial: string;
  /** The device's certificate and key (PEM), for load generators that open their own connections. */
  certificate: string;
  key: string;
  /** A keep-alive agent presenting the device's certificate: one TLS connection per device. */
  agent: Agent;
}

/** Registers `count` devices of the product (revision A) and enrolls each over EST with a fresh key. */
export async function enrollFleet(
  admin: ReturnType<typeof adminClient>,
  options: { deviceUrl: string; ca: string; productId: string; count: number; prefix: string },
): Promise<EnrolledDevice[]> {
  const { results } = await admin('POST', '/api/v1/devices/bulk', {
    devices: Array.from({ length: options.count }, (_, i) => ({
      serial: `${options.prefix}-${i}`,
      productId: options.productId,
      hardwareRevision: 'A',
      bootstrap: { method: 'secret' },
    })),
  });
  const fleet: EnrolledDevice[] = [];
  for (const result of results as { serial: string; id: string; enrollmentSecret: string }[]) {
    const { der, privateKey } = makeCsr(result.serial);
    const enrolled = await new Promise<string>((resolve, reject) => {
      const call = request(
        `${options.deviceUrl}/.well-known/est/simpleenroll`,
        {
          method: 'POST',
          ca: options.ca,
          headers: {
            'content-type': 'application/pkcs10',
            authorization: `Basic ${Buffer.from(`${result.serial}:${result.enrollmentSecret}`).toString('base64')}`,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        },
      );
      call.on('error', reject);
      call.end(der.toString('base64'));
    });
    const certificate = await admin('GET', `/api/v1/devices/${result.id}/identity`);
    const pem = certificate.certificates[0]?.pem as string | undefined;
    if (enrolled === '' || pem === undefined) throw new Error(`enrollment of ${result.serial} failed`);
    const key = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    fleet.push({
      id: result.id,
      serial: result.serial,
      certificate: pem,
      key,
      agent: new Agent({ keepAlive: true, maxSockets: 1, cert: pem, key }),
    });
  }
  return fleet;
}
