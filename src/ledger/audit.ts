import type { Store } from '../store/index.ts';
import { LogVerification, type LogVerificationResult } from './verify/index.ts';

const pageSize = 10_000;

/**
 * Recomputes the whole tree from the stored entries and checks it against every stored signed
 * checkpoint, streaming entries page by page so memory stays flat on a large log. Trusts nothing
 * in the database but the verifier key it is given.
 */
export async function verifyStoredLog(
  store: Store,
  verifierKey: string,
  onProgress?: (checked: number, total: number) => void,
): Promise<LogVerificationResult> {
  const checkpoints = (await store.db.selectFrom('ledger_checkpoints').select('note').execute()).map(
    (row) => row.note,
  );
  const { count } = await store.db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  const total = Number(count);
  const verification = new LogVerification({ checkpoints, verifierKey });
  let after = -1;
  let checked = 0;
  for (;;) {
    const rows = await store.db
      .selectFrom('ledger_entries')
      .select(['idx', 'leaf', 'leaf_hash'])
      .where('idx', '>', after)
      .orderBy('idx')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      if (!verification.addEntry({ index: Number(row.idx), leaf: row.leaf, leafHash: row.leaf_hash })) {
        return verification.finish();
      }
    }
    checked += rows.length;
    onProgress?.(checked, total);
    if (rows.length < pageSize) break;
    after = Number(rows.at(-1)?.idx);
  }
  return verification.finish();
}
