import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftwareKeystore } from '../src/identity/index.ts';
import { Store } from '../src/store/index.ts';
import type { Benchmark } from './run.ts';

const seconds = 1;

async function ratePerSecond(signOnce: () => unknown): Promise<number> {
  let count = 0;
  const started = process.hrtime.bigint();
  while (process.hrtime.bigint() - started < BigInt(seconds * 1e9)) {
    await signOnce();
    count++;
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

export const keystoreBenchmarks: Benchmark[] = [
  {
    name: 'keystore.sign',
    async run() {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-keystore-'));
      const store = Store.open({ sqlitePath: join(dir, 'vigil.db') });
      try {
        await store.migrate();
        const keystore = new SoftwareKeystore({ store, masterKey: Buffer.alloc(32, 7) });
        const { ref } = await keystore.generateKey('ecdsa-p256', 'bench');
        const data = Buffer.alloc(200, 1);
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const baseline = await ratePerSecond(() => sign('sha256', data, privateKey));
        const value = await ratePerSecond(() => keystore.sign(ref, data, 'sha256'));
        return {
          value: Math.round(value),
          unit: 'signatures/s',
          baseline: Math.round(baseline),
          ratio: Number((value / baseline).toFixed(3)),
        };
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
