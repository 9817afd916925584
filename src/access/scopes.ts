/**
 * Scopes are `<resource>:<read|write|admin>` (ARCHITECTURE.md: Scopes). A higher level implies
 * the lower ones on the same resource: `products:write` satisfies `products:read`.
 */
export const resources = [
  'products',
  'principals',
  'tokens',
  'access',
  'ledger',
  'devices',
  'certificates',
  'attestations',
  'releases',
  'rollouts',
  'vulnerabilities',
  'evidence',
] as const;
export type Resource = (typeof resources)[number];

export const levels = ['read', 'write', 'admin'] as const;
export type Level = (typeof levels)[number];
export type Scope = `${Resource}:${Level}`;

export const allScopes: readonly Scope[] = resources.flatMap((resource) =>
  levels.map((level) => `${resource}:${level}` as Scope),
);

export const scopePattern = `^(${resources.join('|')}):(${levels.join('|')})$`;

export function isScope(value: string): value is Scope {
  return (allScopes as readonly string[]).includes(value);
}

/** True when `granted` includes `required` directly or through a higher level on the same resource. */
export function grants(granted: readonly string[], required: Scope): boolean {
  const [resource, level] = required.split(':') as [Resource, Level];
  const needed = levels.indexOf(level);
  return granted.some((scope) => {
    const [grantedResource, grantedLevel] = scope.split(':');
    return grantedResource === resource && levels.indexOf(grantedLevel as Level) >= needed;
  });
}

/** The lifecycle stages a product needs an accountable owner for, plus audit. */
export const lifecycleStages = [
  'identity',
  'update-signing',
  'vulnerability-remediation',
  'decommissioning',
  'audit',
] as const;
export type LifecycleStage = (typeof lifecycleStages)[number];

export interface RoleDefinition {
  name: string;
  /** The lifecycle stage the role serves; `null` for platform administration. */
  stage: LifecycleStage | null;
  description: string;
  scopes: readonly Scope[];
}

/** Roles bound to lifecycle stages; each grants a named set of scopes. */
export const roles: readonly RoleDefinition[] = [
  {
    name: 'admin',
    stage: null,
    description: 'Runs the installation: every scope.',
    scopes: resources.map((resource) => `${resource}:admin` as Scope),
  },
  {
    name: 'product-manager',
    stage: null,
    description: 'Defines products, their regimes, support periods and stage owners.',
    scopes: ['products:write', 'principals:read', 'ledger:read'],
  },
  {
    name: 'identity-officer',
    stage: 'identity',
    description: 'Registers devices and runs their certificate authority.',
    scopes: ['products:read', 'devices:write', 'certificates:admin', 'attestations:read', 'ledger:read'],
  },
  {
    name: 'update-signer',
    stage: 'update-signing',
    description: 'Approves and signs releases and runs rollouts.',
    scopes: [
      'products:read',
      'releases:admin',
      'rollouts:write',
      'devices:read',
      'attestations:read',
      'ledger:read',
    ],
  },
  {
    name: 'vulnerability-manager',
    stage: 'vulnerability-remediation',
    description: 'Triages findings, meets remediation deadlines and reports exploited vulnerabilities.',
    scopes: ['products:read', 'releases:read', 'devices:read', 'vulnerabilities:admin', 'ledger:read'],
  },
  {
    name: 'decommissioning-officer',
    stage: 'decommissioning',
    description: 'Revokes and retires devices.',
    scopes: ['products:read', 'devices:admin', 'certificates:write', 'ledger:read'],
  },
  {
    name: 'auditor',
    stage: 'audit',
    description: 'Reads everything and verifies the ledger; changes nothing.',
    scopes: resources.map((resource) => `${resource}:read` as Scope),
  },
];

export function findRole(name: string): RoleDefinition | undefined {
  return roles.find((role) => role.name === name);
}
