import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsaf } from '../../../src/vulns/advisories/index.ts';
import { assertVigilError } from './fixtures.ts';

function documentWithTree(productTree: unknown): Record<string, unknown> {
  return {
    document: {
      category: 'csaf_base',
      csaf_version: '2.0',
      publisher: { category: 'vendor', name: 'Vigil PSIRT', namespace: 'https://vigil.example' },
      title: 'tree',
      tracking: {
        id: 'TREE-1',
        status: 'final',
        version: '1',
        initial_release_date: '2025-01-01T00:00:00Z',
        current_release_date: '2025-01-01T00:00:00Z',
        revision_history: [{ date: '2025-01-01T00:00:00Z', number: '1', summary: 'first' }],
      },
    },
    product_tree: productTree,
  };
}

test('flattens branches into products that keep vendor, family, name and version', () => {
  const { products } = parseCsaf(
    documentWithTree({
      branches: [
        {
          category: 'vendor',
          name: 'Vigil Medical',
          branches: [
            {
              category: 'product_family',
              name: 'Infusion',
              branches: [
                {
                  category: 'product_name',
                  name: 'IP7 gateway',
                  branches: [
                    {
                      category: 'product_version',
                      name: '2.1',
                      product: {
                        name: 'IP7 gateway 2.1',
                        product_id: 'IP7-2.1',
                        product_identification_helper: { cpe: 'cpe:2.3:h:vigil:ip7_gateway:*:*:*:*:*:*:*:*' },
                      },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    }),
  );
  assert.deepEqual(products, [
    {
      productId: 'IP7-2.1',
      name: 'IP7 gateway 2.1',
      vendor: 'Vigil Medical',
      productFamily: 'Infusion',
      productName: 'IP7 gateway',
      version: '2.1',
      // A CPE for any version, on a product_version branch, names that version.
      cpe: 'cpe:2.3:h:vigil:ip7_gateway:2.1:*:*:*:*:*:*:*',
    },
  ]);
});

test('a relationship product takes the purl and version of the product it refers to', () => {
  const { products } = parseCsaf(
    documentWithTree({
      full_product_names: [
        {
          name: 'openssl 3.0.13',
          product_id: 'OSSL',
          product_identification_helper: { purl: 'pkg:generic/openssl@3.0.13' },
        },
        { name: 'gateway', product_id: 'GW' },
      ],
      relationships: [
        {
          category: 'default_component_of',
          product_reference: 'OSSL',
          relates_to_product_reference: 'GW',
          full_product_name: { name: 'openssl in gateway', product_id: 'GW:OSSL' },
        },
      ],
    }),
  );
  const composite = products.find((product) => product.productId === 'GW:OSSL');
  assert.equal(composite?.purl?.canonical, 'pkg:generic/openssl@3.0.13');
  assert.equal(composite?.purl?.version, '3.0.13');
  assert.deepEqual(composite?.relationship, {
    category: 'default_component_of',
    productReference: 'OSSL',
    relatesToProductReference: 'GW',
  });
});

test('refuses branches nested deeper than 64 levels without recursing into them', () => {
  let branch: Record<string, unknown> = {
    category: 'product_version',
    name: 'leaf',
    product: { name: 'x', product_id: 'X' },
  };
  for (let depth = 0; depth < 100; depth++)
    branch = { category: 'vendor', name: `level ${depth}`, branches: [branch] };
  assertVigilError(() => parseCsaf(documentWithTree({ branches: [branch] })), 'VULNS_ADVISORY_INVALID');
});

test('a product tree with 10,000 sibling branches reads in linear time', () => {
  const branches = Array.from({ length: 10_000 }, (_, index) => ({
    category: 'product_version',
    name: String(index),
    product: { name: `product ${index}`, product_id: `P-${index}` },
  }));
  const started = performance.now();
  const { products } = parseCsaf(documentWithTree({ branches }));
  assert.equal(products.length, 10_000);
  assert.ok(performance.now() - started < 2000);
});

test('a branch that is neither an object nor names a category is refused', () => {
  assertVigilError(() => parseCsaf(documentWithTree({ branches: ['vendor'] })), 'VULNS_ADVISORY_INVALID');
  assertVigilError(
    () => parseCsaf(documentWithTree({ branches: [{ name: 'x' }] })),
    'VULNS_ADVISORY_INVALID',
  );
});
