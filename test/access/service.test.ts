import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { grants } from '../../src/access/index.ts';
import { storeKinds } from '../support/stores.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

const kinds = await storeKinds();
const day = 86_400_000;

for (const kind of kinds) {
  describe(`access on ${kind}`, () => {
    let t: TestPlatform;
    let adminCaller: Awaited<ReturnType<TestPlatform['platform']['access']['authenticate']>>;

    before(async () => {
      t = await startTestPlatform(kind);
      adminCaller = await t.platform.access.authenticate(t.adminToken, 'tokens:admin');
    });
    after(async () => t.close());

    const inDays = (days: number) => new Date(t.clock.now().getTime() + days * day).toISOString();

    test('stores only the SHA-256 of a token, never the secret', async () => {
      const { token, secret } = await t.platform.access.createToken(adminCaller, {
        name: 'ci',
        scopes: ['products:read'],
        expiresAt: inDays(30),
      });
      const row = await t.platform.store.db
        .selectFrom('tokens')
        .selectAll()
        .where('id', '=', token.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(row.token_hash, createHash('sha256').update(secret).digest());
      assert.ok(!JSON.stringify(row).includes(secret.slice(4)));
      const leaves = await t.platform.ledger.entries(0, 1000);
      assert.ok(
        leaves.every((entry) => !entry.leaf.toString('utf8').includes(secret.slice(4))),
        'the ledger never holds a secret',
      );
    });

    test('refuses revoked and expired tokens on their next request', async () => {
      const { token, secret } = await t.platform.access.createToken(adminCaller, {
        name: 'short',
        scopes: ['products:read'],
        expiresAt: inDays(2),
      });
      const caller = await t.platform.access.authenticate(secret, 'products:read');
      assert.equal(caller.tokenId, token.id);
      await t.platform.access.revokeToken(adminCaller, token.id);
      await assert.rejects(t.platform.access.authenticate(secret, 'products:read'), {
        code: 'ACCESS_TOKEN_REVOKED',
      });

      const other = await t.platform.access.createToken(adminCaller, {
        name: 'expiring',
        scopes: ['products:read'],
        expiresAt: inDays(1),
      });
      t.clock.advance(day + 1000);
      await assert.rejects(t.platform.access.authenticate(other.secret, 'products:read'), {
        code: 'ACCESS_TOKEN_EXPIRED',
      });
      t.clock.advance(-(day + 1000));
      await assert.rejects(t.platform.access.authenticate('vgl_not-a-real-token', undefined), {
        code: 'ACCESS_TOKEN_INVALID',
      });
      await assert.rejects(t.platform.access.authenticate(undefined, undefined), {
        code: 'ACCESS_TOKEN_MISSING',
      });
    });

    test('refuses a missing scope with 403 semantics, and implies lower levels', async () => {
      const { secret } = await t.platform.access.createToken(adminCaller, {
        name: 'writer',
        scopes: ['products:write'],
        expiresAt: inDays(30),
      });
      await t.platform.access.authenticate(secret, 'products:read');
      await assert.rejects(
        t.platform.access.authenticate(secret, 'ledger:read'),
        (error: { code: string; kind: string }) => {
          assert.equal(error.code, 'ACCESS_SCOPE_MISSING');
          assert.equal(error.kind, 'forbidden');
          return true;
        },
      );
      assert.equal(grants(['products:admin'], 'products:write'), true);
      assert.equal(grants(['products:read'], 'products:write'), false);
    });

    test("never issues scopes beyond the calling token or the principal's roles", async () => {
      const auditor = await t.platform.access.createPrincipal(
        { principal: adminCaller.principalId },
        { kind: 'person', name: `auditor-${kind}`, roles: ['auditor'] },
      );
      await assert.rejects(
        t.platform.access.createToken(adminCaller, {
          name: 'x',
          scopes: ['products:write'],
          expiresAt: inDays(10),
          principalId: auditor.id,
        }),
        { code: 'ACCESS_SCOPE_ESCALATION' },
      );
      const { secret } = await t.platform.access.createToken(adminCaller, {
        name: 'self',
        scopes: ['tokens:write', 'products:read'],
        expiresAt: inDays(10),
      });
      const narrow = await t.platform.access.authenticate(secret, 'tokens:write');
      await assert.rejects(
        t.platform.access.createToken(narrow, {
          name: 'wider',
          scopes: ['products:write'],
          expiresAt: inDays(10),
        }),
        { code: 'ACCESS_SCOPE_ESCALATION' },
      );
      await assert.rejects(
        t.platform.access.createToken(narrow, {
          name: 'other',
          scopes: ['products:read'],
          expiresAt: inDays(10),
          principalId: auditor.id,
        }),
        { code: 'ACCESS_SCOPE_MISSING' },
      );
      await assert.rejects(
        t.platform.access.createToken(adminCaller, {
          name: 'long',
          scopes: ['products:read'],
          expiresAt: inDays(400),
        }),
        {
          code: 'ACCESS_EXPIRY_INVALID',
        },
      );
    });

    test('records last use, and reports expired, unused and over-scoped tokens', async () => {
      const used = await t.platform.access.createToken(adminCaller, {
        name: 'used-narrowly',
        scopes: ['products:write', 'ledger:read'],
        expiresAt: inDays(200),
      });
      const idle = await t.platform.access.createToken(adminCaller, {
        name: 'idle',
        scopes: ['products:read'],
        expiresAt: inDays(200),
      });
      const lapsing = await t.platform.access.createToken(adminCaller, {
        name: 'lapsing',
        scopes: ['products:read'],
        expiresAt: inDays(31),
      });

      t.clock.advance(35 * day);
      await t.platform.access.recordUse(
        await t.platform.access.authenticate(used.secret, 'products:read'),
        'products:read',
      );
      const row = await t.platform.store.db
        .selectFrom('tokens')
        .select('last_used_at')
        .where('id', '=', used.token.id)
        .executeTakeFirstOrThrow();
      assert.equal(
        row.last_used_at,
        t.clock
          .now()
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z'),
      );

      const report = await t.platform.access.report();
      const find = (id: string) => report.findings.find((finding) => finding.token.id === id);
      assert.equal(find(lapsing.token.id)?.kind, 'expired-unrevoked');
      assert.equal(find(idle.token.id)?.kind, 'unused');
      const overScoped = find(used.token.id);
      assert.equal(overScoped?.kind, 'unused-scopes');
      assert.deepEqual(overScoped?.unusedScopes, ['ledger:read', 'products:write']);
      assert.deepEqual(overScoped?.suggestedScopes, ['products:read']);
      t.clock.advance(-35 * day);
    });

    test('token creation and revocation are ledger events', async () => {
      const { token } = await t.platform.access.createToken(adminCaller, {
        name: 'evented',
        scopes: ['products:read'],
        expiresAt: inDays(5),
      });
      await t.platform.access.revokeToken(adminCaller, token.id);
      const events = (await t.platform.ledger.entriesOfSubject(token.id)).map((entry) =>
        JSON.parse(entry.leaf.toString('utf8')),
      );
      assert.deepEqual(
        events.map((event) => [event.type, event.actor, event.token]),
        [
          ['token.created', adminCaller.principalId, adminCaller.tokenId],
          ['token.revoked', adminCaller.principalId, adminCaller.tokenId],
        ],
      );
    });
  });
}
