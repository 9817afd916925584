import { Command } from 'commander';
import type { CommandContext } from '../core/index.ts';
import type { AccessReport, Principal, TokenInfo } from './service.ts';

const day = 86_400_000;

function tokenLine(token: TokenInfo): string {
  const state = token.revokedAt !== null ? 'revoked' : `expires ${token.expiresAt}`;
  return `${token.id}  ${token.name}  [${token.scopes.join(' ')}]  ${state}  last used ${token.lastUsedAt ?? 'never'}`;
}

function principalLine(principal: Principal): string {
  return `${principal.id}  ${principal.kind}  ${principal.name}  roles: ${principal.roles.join(', ') || '-'}`;
}

export function accessCommands(context: CommandContext): Command[] {
  const token = new Command('token').description('API tokens: create, list, revoke');
  context
    .withClientOptions(
      token
        .command('create')
        .description('create a token (the secret is printed once)')
        .requiredOption('--name <name>', 'what the token is for')
        .requiredOption('--scope <scope...>', 'scopes, e.g. products:read ledger:read')
        .option('--expires-in-days <days>', 'lifetime in days (at most 366)', '90')
        .option('--expires-at <time>', 'expiry as RFC 3339 (overrides --expires-in-days)')
        .option('--principal <id>', 'issue for another principal (needs tokens:admin)'),
    )
    .action(
      async (
        options: {
          name: string;
          scope: string[];
          expiresInDays: string;
          expiresAt?: string;
          principal?: string;
        },
        command: Command,
      ) => {
        const expiresAt =
          options.expiresAt ?? new Date(Date.now() + Number(options.expiresInDays) * day).toISOString();
        const created = await context
          .client(command)
          .request<TokenInfo & { token: string }>('POST', '/api/v1/tokens', {
            name: options.name,
            scopes: options.scope,
            expiresAt,
            ...(options.principal === undefined ? {} : { principalId: options.principal }),
          });
        context.print(
          command,
          created,
          (value: TokenInfo & { token: string }) => `${tokenLine(value)}\ntoken (shown once): ${value.token}`,
        );
      },
    );
  context
    .withClientOptions(token.command('list').description('list tokens'))
    .action(async (_options, command: Command) => {
      const result = await context.client(command).request<{ tokens: TokenInfo[] }>('GET', '/api/v1/tokens');
      context.print(command, result, (value: { tokens: TokenInfo[] }) =>
        value.tokens.map(tokenLine).join('\n'),
      );
    });
  context
    .withClientOptions(token.command('revoke').description('revoke a token').argument('<id>', 'token id'))
    .action(async (id: string, _options, command: Command) => {
      const result = await context
        .client(command)
        .request<TokenInfo>('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
      context.print(command, result, tokenLine);
    });

  const principal = new Command('principal').description('people and services, and their roles');
  context
    .withClientOptions(
      principal
        .command('create')
        .description('create a principal')
        .requiredOption('--kind <kind>', 'person or service')
        .requiredOption('--name <name>', 'unique name')
        .option('--email <email>', 'contact address')
        .option('--role <role...>', 'roles to grant'),
    )
    .action(
      async (options: { kind: string; name: string; email?: string; role?: string[] }, command: Command) => {
        const body = { kind: options.kind, name: options.name, email: options.email, roles: options.role };
        const result = await context.client(command).request<Principal>('POST', '/api/v1/principals', body);
        context.print(command, result, principalLine);
      },
    );
  context
    .withClientOptions(principal.command('list').description('list principals'))
    .action(async (_options, command: Command) => {
      const result = await context
        .client(command)
        .request<{ principals: Principal[] }>('GET', '/api/v1/principals?limit=1000');
      context.print(command, result, (value: { principals: Principal[] }) =>
        value.principals.map(principalLine).join('\n'),
      );
    });
  context
    .withClientOptions(
      principal
        .command('grant')
        .description('grant a role')
        .argument('<id>', 'principal id')
        .argument('<role>', 'role name'),
    )
    .action(async (id: string, role: string, _options, command: Command) => {
      const result = await context
        .client(command)
        .request<Principal>('POST', `/api/v1/principals/${encodeURIComponent(id)}/roles`, { role });
      context.print(command, result, principalLine);
    });
  context
    .withClientOptions(
      principal
        .command('revoke-role')
        .description('revoke a role')
        .argument('<id>', 'principal id')
        .argument('<role>', 'role name'),
    )
    .action(async (id: string, role: string, _options, command: Command) => {
      const path = `/api/v1/principals/${encodeURIComponent(id)}/roles/${encodeURIComponent(role)}`;
      context.print(command, await context.client(command).request<Principal>('DELETE', path), principalLine);
    });

  const access = new Command('access').description('access reviews');
  context
    .withClientOptions(
      access
        .command('report')
        .description('least-privilege findings: expired, unused and over-scoped tokens'),
    )
    .action(async (_options, command: Command) => {
      const report = await context.client(command).request<AccessReport>('GET', '/api/v1/access/report');
      context.print(command, report, (value: AccessReport) =>
        value.findings.length === 0
          ? 'no findings'
          : value.findings
              .map(
                (finding) =>
                  `${finding.kind}  ${finding.token.id} (${finding.token.name}): ${finding.detail}` +
                  (finding.suggestedScopes === undefined
                    ? ''
                    : `; suggested scopes: ${finding.suggestedScopes.join(' ') || '(revoke)'}`),
              )
              .join('\n'),
      );
    });

  return [token, principal, access];
}
