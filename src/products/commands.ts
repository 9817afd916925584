import { Command } from 'commander';
import type { CommandContext } from '../core/index.ts';
import type { Ownership, Product } from './service.ts';

function productLine(product: Product): string {
  const gaps =
    product.ownershipGaps.length === 0
      ? 'owners complete'
      : `no owner for: ${product.ownershipGaps.join(', ')}`;
  return `${product.id}  ${product.name} (${product.model})  ${product.regimes.join(',') || '-'}  support ${product.supportStart}..${product.supportEnd}  ${gaps}`;
}

function ownershipLines(ownership: Ownership): string {
  return ownership.stages
    .map(
      (entry) =>
        `${entry.stage.padEnd(27)} ${entry.owner === null ? 'GAP: no accountable owner' : `${entry.owner.name} (${entry.owner.id})`}`,
    )
    .join('\n');
}

interface ProductFlags {
  name?: string;
  model?: string;
  hardwareRevision?: string[];
  regime?: string[];
  supportStart?: string;
  supportEnd?: string;
  expectedUse?: string;
  memberState?: string[];
}

function productBody(flags: ProductFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: flags.name,
    model: flags.model,
    hardwareRevisions: flags.hardwareRevision,
    regimes: flags.regime,
    supportStart: flags.supportStart,
    supportEnd: flags.supportEnd,
    expectedUseJustification: flags.expectedUse,
    memberStates: flags.memberState,
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

function productFlags(command: Command, required: boolean): Command {
  const option = required ? command.requiredOption.bind(command) : command.option.bind(command);
  option('--name <name>', 'product name (unique)');
  option('--model <model>', 'model designation');
  option('--support-start <date>', 'start of the support period, YYYY-MM-DD');
  option('--support-end <date>', 'end of the support period, YYYY-MM-DD');
  command.option('--hardware-revision <rev...>', 'hardware revisions');
  command.option('--regime <regime...>', 'regulatory regimes: CRA, FDA-524B, MDR, IVDR');
  command.option(
    '--member-state <code...>',
    'EU/EEA Member States where it is made available (ISO 3166-1 alpha-2, e.g. DE FR)',
  );
  command.option(
    '--expected-use <text>',
    'justification for a CRA support period under five years (Art. 13(8))',
  );
  return command;
}

export function productCommands(context: CommandContext): Command[] {
  const product = new Command('product').description(
    'products, their regimes, support periods and lifecycle owners',
  );

  context
    .withClientOptions(productFlags(product.command('create').description('create a product'), true))
    .action(async (flags: ProductFlags, command: Command) => {
      const body = { hardwareRevisions: [], regimes: [], ...productBody(flags) };
      context.print(
        command,
        await context.client(command).request<Product>('POST', '/api/v1/products', body),
        productLine,
      );
    });
  context
    .withClientOptions(product.command('list').description('list products and their ownership gaps'))
    .action(async (_flags, command: Command) => {
      const result = await context
        .client(command)
        .request<{ products: Product[] }>('GET', '/api/v1/products?limit=1000');
      context.print(command, result, (value: { products: Product[] }) =>
        value.products.map(productLine).join('\n'),
      );
    });
  context
    .withClientOptions(product.command('show').description('show a product').argument('<id>', 'product id'))
    .action(async (id: string, _flags, command: Command) => {
      context.print(
        command,
        await context.client(command).request<Product>('GET', `/api/v1/products/${encodeURIComponent(id)}`),
        productLine,
      );
    });
  context
    .withClientOptions(
      productFlags(
        product.command('update').description('change a product').argument('<id>', 'product id'),
        false,
      ),
    )
    .action(async (id: string, flags: ProductFlags, command: Command) => {
      const result = await context
        .client(command)
        .request<Product>('PATCH', `/api/v1/products/${encodeURIComponent(id)}`, productBody(flags));
      context.print(command, result, productLine);
    });
  context
    .withClientOptions(
      product
        .command('ownership')
        .description('lifecycle stages and their accountable owners')
        .argument('<id>', 'product id'),
    )
    .action(async (id: string, _flags, command: Command) => {
      const result = await context
        .client(command)
        .request<Ownership>('GET', `/api/v1/products/${encodeURIComponent(id)}/ownership`);
      context.print(command, result, ownershipLines);
    });
  context
    .withClientOptions(
      product
        .command('set-owner')
        .description('name the accountable owner of a lifecycle stage')
        .argument('<id>', 'product id')
        .argument('<stage>', 'identity, update-signing, vulnerability-remediation or decommissioning')
        .argument('<principal>', 'principal id'),
    )
    .action(async (id: string, stage: string, principalId: string, _flags, command: Command) => {
      const path = `/api/v1/products/${encodeURIComponent(id)}/ownership/${encodeURIComponent(stage)}`;
      context.print(
        command,
        await context.client(command).request<Ownership>('PUT', path, { principalId }),
        ownershipLines,
      );
    });
  context
    .withClientOptions(
      product
        .command('unset-owner')
        .description('remove the owner of a stage')
        .argument('<id>', 'product id')
        .argument('<stage>', 'stage'),
    )
    .action(async (id: string, stage: string, _flags, command: Command) => {
      const path = `/api/v1/products/${encodeURIComponent(id)}/ownership/${encodeURIComponent(stage)}`;
      context.print(
        command,
        await context.client(command).request<Ownership>('DELETE', path),
        ownershipLines,
      );
    });
  return [product];
}
