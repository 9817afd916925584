import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkAgainstSchema,
  exhaustiveSearchLengthLimit,
} from '../../../src/vulns/sbom/schema-validation.ts';
import { cycloneDxVersions, infusionPumpCycloneDx, infusionPumpSpdx } from './fixtures.ts';

type Json = Record<string, unknown>;

describe('checkAgainstSchema', () => {
  it('accepts the hand-made documents under their own schemas', () => {
    for (const version of cycloneDxVersions) {
      assert.deepEqual(checkAgainstSchema(`CycloneDX ${version}`, infusionPumpCycloneDx(version), 0), {
        valid: true,
      });
    }
    assert.deepEqual(checkAgainstSchema('SPDX 2.3', infusionPumpSpdx(), 0), { valid: true });
  });

  it('holds a document to the schema of the version it names', () => {
    // CycloneDX 1.5 added tools as components; the 1.4 schema wants an array.
    const check = checkAgainstSchema('CycloneDX 1.4', infusionPumpCycloneDx('1.5'), 0);
    assert.equal(check.valid, false);
  });

  it('lists only the first violation of a document too large to search for all', () => {
    const document = infusionPumpCycloneDx('1.6');
    for (const component of document.components as Json[]) delete component.name;
    const small = checkAgainstSchema('CycloneDX 1.6', document, 1000);
    assert.deepEqual(small.valid === false && [small.violations.length, small.searchedAll], [2, true]);
    const large = checkAgainstSchema('CycloneDX 1.6', document, exhaustiveSearchLengthLimit + 1);
    assert.deepEqual(large.valid === false && [large.violations, large.searchedAll], [
      [{ instancePath: '/components/0', message: "must have required property 'name'" }],
      false,
    ]);
  });

  describe('uniqueItems', () => {
    /** Components alike at the top level (same keys and scalars), different below it. */
    function lookAlikes(count: number): Json[] {
      return Array.from({ length: count }, (_, index) => ({
        type: 'library',
        name: 'same',
        version: '1.0.0',
        supplier: { name: `supplier ${index}` },
      }));
    }

    it('accepts many items that differ only below the top level', () => {
      const document = { ...infusionPumpCycloneDx('1.6'), components: lookAlikes(20_000), dependencies: [] };
      assert.deepEqual(checkAgainstSchema('CycloneDX 1.6', document, 0), { valid: true });
    });

    it('finds the duplicate among them', () => {
      const components = lookAlikes(5_000);
      components.push({
        supplier: { name: 'supplier 4321' },
        version: '1.0.0',
        name: 'same',
        type: 'library',
      });
      const document = { ...infusionPumpCycloneDx('1.6'), components, dependencies: [] };
      assert.deepEqual(checkAgainstSchema('CycloneDX 1.6', document, 0), {
        valid: false,
        searchedAll: true,
        violations: [
          {
            instancePath: '/components',
            message: 'must NOT have duplicate items (items ## 4321 and 5000 are identical)',
          },
        ],
      });
    });

    it('finds duplicate strings, and tells arrays in another order apart', () => {
      const document = infusionPumpCycloneDx('1.6');
      document.dependencies = [{ ref: 'zlib', dependsOn: ['zephyr', 'mbedtls', 'zephyr'] }];
      const check = checkAgainstSchema('CycloneDX 1.6', document, 0);
      assert.deepEqual(check.valid === false && check.violations[0], {
        instancePath: '/dependencies/0/dependsOn',
        message: 'must NOT have duplicate items (items ## 0 and 2 are identical)',
      });
      const hashes = (digest: string[]): Json => ({
        type: 'library',
        name: 'x',
        properties: digest.map((value) => ({ name: 'n', value })),
      });
      document.dependencies = [];
      document.components = [hashes(['a', 'b']), hashes(['b', 'a'])];
      assert.deepEqual(checkAgainstSchema('CycloneDX 1.6', document, 0), { valid: true });
    });
  });
});
