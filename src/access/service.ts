import { createHash, randomBytes } from 'node:crypto';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger } from '../ledger/index.ts';
import { isUniqueViolation, type Queryable, type Store, type TokensTable } from '../store/index.ts';
import { allScopes, findRole, grants, isScope, roles, type Scope } from './scopes.ts';

export type PrincipalKind = 'person' | 'service';

export interface Principal {
  id: string;
  kind: PrincipalKind;
  name: string;
  email: string | null;
  roles: string[];
  createdAt: string;
}

export interface TokenInfo {
  id: string;
  principalId: string;
  name: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** Who is calling, as established from a bearer token. */
export interface Caller {
  principalId: string;
  tokenId: string;
  scopes: readonly string[];
}

export function actorOf(caller: Caller): Actor {
  return { principal: caller.principalId, token: caller.tokenId };
}

const tokenPrefix = 'vgl_';
const maxTokenLifetimeDays = 366;
const staleAfterDays = 30;
const day = 86_400_000;

function hashToken(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function toTokenInfo(row: Omit<TokensTable, 'token_hash'>): TokenInfo {
  return {
    id: row.id,
    principalId: row.principal_id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

const tokenColumns = [
  'id',
  'principal_id',
  'name',
  'scopes',
  'created_at',
  'expires_at',
  'revoked_at',
  'last_used_at',
] as const;

/** People and services, their roles, and their scoped, expiring API tokens (hashed at rest). */
export class AccessService {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  /** Last recorded second per token and scope, so repeated use within a second writes nothing. */
  private readonly recentUses = new Map<string, string>();

  constructor(options: { store: Store; ledger: Ledger; clock: Clock }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
  }

  private now(): string {
    return toRfc3339(this.clock.now());
  }

  async createPrincipal(
    actor: Actor,
    input: { kind: PrincipalKind; name: string; email?: string | null; roles?: string[] },
  ): Promise<Principal> {
    const roleNames = [...new Set(input.roles ?? [])];
    for (const role of roleNames) this.requireRole(role);
    const principal: Principal = {
      id: newId(),
      kind: input.kind,
      name: input.name,
      email: input.email ?? null,
      roles: roleNames,
      createdAt: this.now(),
    };
    try {
      await this.ledger.transact(actor, async (tx, record) => {
        await tx
          .insertInto('principals')
          .values({
            id: principal.id,
            kind: principal.kind,
            name: principal.name,
            email: principal.email,
            created_at: principal.createdAt,
            disabled_at: null,
          })
          .execute();
        record({
          type: 'principal.created',
          subject: principal.id,
          details: { kind: principal.kind, name: principal.name },
        });
        for (const role of roleNames) {
          await tx
            .insertInto('role_bindings')
            .values({ principal_id: principal.id, role, created_at: principal.createdAt })
            .execute();
          record({ type: 'role.granted', subject: principal.id, details: { role } });
        }
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new VigilError(
          'ACCESS_PRINCIPAL_EXISTS',
          'conflict',
          `a principal named "${input.name}" already exists`,
        );
      }
      throw error;
    }
    return principal;
  }

  async getPrincipal(id: string, db: Queryable = this.store.db): Promise<Principal> {
    const row = await db.selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined)
      throw new VigilError('ACCESS_PRINCIPAL_NOT_FOUND', 'not_found', `no principal ${id}`);
    const bindings = await db
      .selectFrom('role_bindings')
      .select('role')
      .where('principal_id', '=', id)
      .execute();
    return {
      id: row.id,
      kind: row.kind,
      name: row.name,
      email: row.email,
      roles: bindings.map((binding) => binding.role).sort(),
      createdAt: row.created_at,
    };
  }

  async listPrincipals(options: { limit: number; cursor?: string | undefined }): Promise<{
    principals: Principal[];
    nextCursor: string | null;
  }> {
    let query = this.store.db
      .selectFrom('principals')
      .select('id')
      .orderBy('id')
      .limit(options.limit + 1);
    if (options.cursor !== undefined) query = query.where('id', '>', options.cursor);
    const ids = await query.execute();
    const page = ids.slice(0, options.limit);
    const principals = await Promise.all(page.map((row) => this.getPrincipal(row.id)));
    return { principals, nextCursor: ids.length > options.limit ? (page.at(-1)?.id ?? null) : null };
  }

  async grantRole(actor: Actor, principalId: string, role: string): Promise<Principal> {
    this.requireRole(role);
    await this.ledger.transact(actor, async (tx, record) => {
      await this.getPrincipal(principalId, tx);
      const existing = await tx
        .selectFrom('role_bindings')
        .select('role')
        .where('principal_id', '=', principalId)
        .where('role', '=', role)
        .executeTakeFirst();
      if (existing !== undefined) return;
      await tx
        .insertInto('role_bindings')
        .values({ principal_id: principalId, role, created_at: this.now() })
        .execute();
      record({ type: 'role.granted', subject: principalId, details: { role } });
    });
    return this.getPrincipal(principalId);
  }

  async revokeRole(actor: Actor, principalId: string, role: string): Promise<Principal> {
    await this.ledger.transact(actor, async (tx, record) => {
      await this.getPrincipal(principalId, tx);
      const result = await tx
        .deleteFrom('role_bindings')
        .where('principal_id', '=', principalId)
        .where('role', '=', role)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        throw new VigilError(
          'ACCESS_ROLE_NOT_BOUND',
          'not_found',
          `principal ${principalId} does not hold role ${role}`,
        );
      }
      record({ type: 'role.revoked', subject: principalId, details: { role } });
    });
    return this.getPrincipal(principalId);
  }

  /** Scopes a principal may hold, from its roles. */
  async scopesOfPrincipal(principalId: string, db: Queryable = this.store.db): Promise<Scope[]> {
    const principal = await this.getPrincipal(principalId, db);
    const scopes = new Set<Scope>();
    for (const name of principal.roles) for (const scope of findRole(name)?.scopes ?? []) scopes.add(scope);
    return [...scopes];
  }

  /**
   * Issues a token. The secret is returned once and only its SHA-256 is stored. Scopes must be
   * within what the principal's roles grant; a caller without `tokens:admin` may only create
   * tokens for itself and no wider than the token it is using.
   */
  async createToken(
    caller: Caller,
    input: { name: string; scopes: string[]; expiresAt: string; principalId?: string | undefined },
  ): Promise<{ token: TokenInfo; secret: string }> {
    const principalId = input.principalId ?? caller.principalId;
    const isAdmin = grants(caller.scopes, 'tokens:admin');
    if (principalId !== caller.principalId && !isAdmin) {
      throw new VigilError(
        'ACCESS_SCOPE_MISSING',
        'forbidden',
        'creating a token for another principal needs tokens:admin',
      );
    }
    return this.issueToken(actorOf(caller), { ...input, principalId }, isAdmin ? undefined : caller.scopes);
  }

  /** Issues a token without a calling token (used by `vigil init` for the first admin token). */
  async issueToken(
    actor: Actor,
    input: { name: string; scopes: string[]; expiresAt: string; principalId: string },
    ceiling?: readonly string[],
  ): Promise<{ token: TokenInfo; secret: string }> {
    const scopes = [...new Set(input.scopes)].sort();
    if (scopes.length === 0)
      throw new VigilError('ACCESS_SCOPE_INVALID', 'invalid', 'a token needs at least one scope');
    for (const scope of scopes) {
      if (!isScope(scope))
        throw new VigilError('ACCESS_SCOPE_INVALID', 'invalid', `unknown scope "${scope}"`);
      if (ceiling !== undefined && !grants(ceiling, scope)) {
        throw new VigilError(
          'ACCESS_SCOPE_ESCALATION',
          'forbidden',
          `the calling token does not hold ${scope}`,
        );
      }
    }
    const now = this.clock.now();
    const expires = new Date(input.expiresAt);
    if (Number.isNaN(expires.getTime()) || expires.getTime() <= now.getTime()) {
      throw new VigilError('ACCESS_EXPIRY_INVALID', 'invalid', 'expiresAt must be a time in the future');
    }
    if (expires.getTime() - now.getTime() > maxTokenLifetimeDays * day) {
      throw new VigilError(
        'ACCESS_EXPIRY_INVALID',
        'invalid',
        `a token may live at most ${maxTokenLifetimeDays} days`,
      );
    }
    const secret = tokenPrefix + randomBytes(32).toString('base64url');
    const token: TokenInfo = {
      id: newId(),
      principalId: input.principalId,
      name: input.name,
      scopes,
      createdAt: toRfc3339(now),
      expiresAt: toRfc3339(expires),
      revokedAt: null,
      lastUsedAt: null,
    };
    await this.ledger.transact(actor, async (tx, record) => {
      const allowed = await this.scopesOfPrincipal(input.principalId, tx);
      for (const scope of scopes) {
        if (!grants(allowed, scope as Scope)) {
          throw new VigilError(
            'ACCESS_SCOPE_ESCALATION',
            'forbidden',
            `the principal's roles do not grant ${scope}`,
          );
        }
      }
      await tx
        .insertInto('tokens')
        .values({
          id: token.id,
          principal_id: token.principalId,
          name: token.name,
          token_hash: hashToken(secret),
          scopes: JSON.stringify(scopes),
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          revoked_at: null,
          last_used_at: null,
        })
        .execute();
      record({
        type: 'token.created',
        subject: token.id,
        details: { principal: token.principalId, name: token.name, scopes, expiresAt: token.expiresAt },
      });
    });
    return { token, secret };
  }

  async listTokens(caller: Caller): Promise<TokenInfo[]> {
    let query = this.store.db.selectFrom('tokens').select(tokenColumns).orderBy('id');
    if (!grants(caller.scopes, 'tokens:admin')) query = query.where('principal_id', '=', caller.principalId);
    return (await query.execute()).map(toTokenInfo);
  }

  async revokeToken(caller: Caller, tokenId: string): Promise<TokenInfo> {
    await this.ledger.transact(actorOf(caller), async (tx, record) => {
      const row = await tx
        .selectFrom('tokens')
        .select(tokenColumns)
        .where('id', '=', tokenId)
        .executeTakeFirst();
      // A caller without tokens:admin learns nothing about other principals' tokens.
      if (
        row === undefined ||
        (row.principal_id !== caller.principalId && !grants(caller.scopes, 'tokens:admin'))
      ) {
        throw new VigilError('ACCESS_TOKEN_NOT_FOUND', 'not_found', `no token ${tokenId}`);
      }
      if (row.revoked_at !== null) return;
      await tx.updateTable('tokens').set({ revoked_at: this.now() }).where('id', '=', tokenId).execute();
      record({ type: 'token.revoked', subject: tokenId, details: { principal: row.principal_id } });
    });
    const row = await this.store.db
      .selectFrom('tokens')
      .select(tokenColumns)
      .where('id', '=', tokenId)
      .executeTakeFirstOrThrow();
    return toTokenInfo(row);
  }

  /**
   * Resolves a bearer secret to its caller. A revoked or expired token is refused on its next
   * request. Use is recorded separately (recordUse), once the request has succeeded.
   */
  async authenticate(secret: string | undefined, required: Scope | undefined): Promise<Caller> {
    if (secret === undefined)
      throw new VigilError('ACCESS_TOKEN_MISSING', 'unauthenticated', 'a bearer token is required');
    if (!secret.startsWith(tokenPrefix)) {
      throw new VigilError('ACCESS_TOKEN_INVALID', 'unauthenticated', 'the bearer token is not valid');
    }
    const row = await this.store.db
      .selectFrom('tokens')
      .innerJoin('principals', 'principals.id', 'tokens.principal_id')
      .select([
        'tokens.id',
        'tokens.principal_id',
        'tokens.scopes',
        'tokens.expires_at',
        'tokens.revoked_at',
        'principals.disabled_at',
      ])
      .where('tokens.token_hash', '=', hashToken(secret))
      .executeTakeFirst();
    if (row === undefined)
      throw new VigilError('ACCESS_TOKEN_INVALID', 'unauthenticated', 'the bearer token is not valid');
    if (row.revoked_at !== null)
      throw new VigilError('ACCESS_TOKEN_REVOKED', 'unauthenticated', 'the bearer token was revoked');
    if (new Date(row.expires_at).getTime() <= this.clock.now().getTime()) {
      throw new VigilError('ACCESS_TOKEN_EXPIRED', 'unauthenticated', 'the bearer token has expired');
    }
    if (row.disabled_at !== null) {
      throw new VigilError(
        'ACCESS_PRINCIPAL_DISABLED',
        'unauthenticated',
        'the token belongs to a disabled principal',
      );
    }
    const caller: Caller = {
      principalId: row.principal_id,
      tokenId: row.id,
      scopes: JSON.parse(row.scopes) as string[],
    };
    if (required !== undefined && !grants(caller.scopes, required)) {
      throw new VigilError('ACCESS_SCOPE_MISSING', 'forbidden', `this request needs the scope ${required}`, {
        facts: { requiredScope: required },
      });
    }
    return caller;
  }

  /**
   * Records that a token was used, and for which scope (the least-privilege report reads it).
   * Times are kept to the second, so a repeat within the same second writes nothing.
   */
  async recordUse(caller: Caller, scope: Scope | undefined): Promise<void> {
    const now = toRfc3339(this.clock.now());
    const key = `${caller.tokenId} ${scope ?? ''}`;
    if (this.recentUses.get(key) === now) return;
    await this.store.transaction(async (tx) => {
      await tx
        .updateTable('tokens')
        .set({ last_used_at: now })
        .where('id', '=', caller.tokenId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', now)]))
        .execute();
      if (scope === undefined) return;
      await tx
        .insertInto('token_scope_usage')
        .values({ token_id: caller.tokenId, scope, last_used_at: now })
        .onConflict((conflict) => conflict.columns(['token_id', 'scope']).doUpdateSet({ last_used_at: now }))
        .execute();
    });
    if (this.recentUses.size > 10_000) this.recentUses.clear();
    this.recentUses.set(key, now);
  }

  /**
   * Least-privilege findings: tokens expired but not revoked, tokens unused for 30 days, and
   * tokens holding scopes they have not needed in 30 days, with the narrower set they did need.
   */
  async report(): Promise<AccessReport> {
    const now = this.clock.now().getTime();
    const staleBefore = now - staleAfterDays * day;
    const rows = await this.store.db
      .selectFrom('tokens')
      .select(tokenColumns)
      .where('revoked_at', 'is', null)
      .orderBy('id')
      .execute();
    const usage = await this.store.db.selectFrom('token_scope_usage').selectAll().execute();
    const findings: AccessFinding[] = [];
    for (const row of rows) {
      const token = toTokenInfo(row);
      if (new Date(token.expiresAt).getTime() <= now) {
        findings.push({
          kind: 'expired-unrevoked',
          token,
          detail: `expired ${token.expiresAt} but was never revoked`,
        });
        continue;
      }
      const lastUsed = token.lastUsedAt === null ? null : new Date(token.lastUsedAt).getTime();
      const old = new Date(token.createdAt).getTime() <= staleBefore;
      if (old && (lastUsed === null || lastUsed <= staleBefore)) {
        findings.push({
          kind: 'unused',
          token,
          detail: lastUsed === null ? 'never used' : `last used ${token.lastUsedAt}`,
          suggestedScopes: [],
        });
        continue;
      }
      if (!old) continue;
      const recent = usage
        .filter((use) => use.token_id === token.id && new Date(use.last_used_at).getTime() > staleBefore)
        .map((use) => use.scope)
        .sort();
      const unused = token.scopes.filter((scope) => !recent.includes(scope));
      if (unused.length > 0) {
        findings.push({
          kind: 'unused-scopes',
          token,
          detail: `scopes not needed in ${staleAfterDays} days: ${unused.join(', ')}`,
          unusedScopes: unused,
          suggestedScopes: narrowestScopes(recent),
        });
      }
    }
    return { generatedAt: toRfc3339(this.clock.now()), windowDays: staleAfterDays, findings };
  }

  listRoles() {
    return roles;
  }

  private requireRole(name: string): void {
    if (findRole(name) === undefined)
      throw new VigilError('ACCESS_ROLE_UNKNOWN', 'invalid', `unknown role "${name}"`);
  }
}

/** Drops every scope that another scope in the set already implies. */
function narrowestScopes(scopes: readonly string[]): string[] {
  return scopes.filter(
    (scope) => !scopes.some((other) => other !== scope && grants([other], scope as Scope)),
  );
}

export interface AccessFinding {
  kind: 'expired-unrevoked' | 'unused' | 'unused-scopes';
  token: TokenInfo;
  detail: string;
  unusedScopes?: string[];
  suggestedScopes?: string[];
}

export interface AccessReport {
  generatedAt: string;
  windowDays: number;
  findings: AccessFinding[];
}

export { allScopes };
