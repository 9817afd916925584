// Helpers the benchmarks share: load generation and device material made in-process, so the
// load generator stays cheap next to the server it measures.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
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
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
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
