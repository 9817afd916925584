import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import {
  maxNestingDepth,
  parseSbom,
  readSbomStream,
  SbomStreamReader,
} from '../../../src/vulns/sbom/index.ts';
import {
  generatedCycloneDx,
  infusionPumpCycloneDx,
  infusionPumpSpdx,
  jsonBytes,
  listedViolations,
  refusal,
} from './fixtures.ts';

describe('parseSbom: reading the bytes', () => {
  it('reads bytes and text alike, ignoring a leading byte order mark', () => {
    const document = infusionPumpCycloneDx('1.6');
    const fromBytes = parseSbom(jsonBytes(document));
    assert.deepEqual(parseSbom(JSON.stringify(document)), fromBytes);
    assert.deepEqual(parseSbom(`\uFEFF${JSON.stringify(document)}`), fromBytes);
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...jsonBytes(document)]);
    assert.deepEqual(parseSbom(withBom), fromBytes);
  });

  it('refuses bytes that are not UTF-8 as SBOM_MALFORMED', () => {
    const bytes = jsonBytes(infusionPumpCycloneDx('1.6'));
    bytes[20] = 0xff;
    refusal(() => parseSbom(bytes), 'SBOM_MALFORMED');
  });

  it('refuses text that is not JSON as SBOM_MALFORMED, saying why', () => {
    const error = refusal(() => parseSbom('{"bomFormat": "CycloneDX", '), 'SBOM_MALFORMED');
    assert.match(error.message, /not JSON/);
    assert.equal(error.kind, 'invalid');
    refusal(() => parseSbom(''), 'SBOM_MALFORMED');
    refusal(
      () => parseSbom('<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>'),
      'SBOM_MALFORMED',
    );
  });

  it(`refuses JSON nested deeper than ${maxNestingDepth} levels before validating it`, () => {
    const document = infusionPumpCycloneDx('1.6');
    let innermost: Record<string, unknown> = { type: 'library', name: 'leaf' };
    for (let level = 0; level < maxNestingDepth; level++) {
      innermost = { type: 'library', name: `level-${level}`, components: [innermost] };
    }
    document.components = [innermost];
    const error = refusal(() => parseSbom(JSON.stringify(document)), 'SBOM_MALFORMED');
    assert.match(error.message, /deeper than 128/);
    refusal(() => parseSbom('['.repeat(100_000) + ']'.repeat(100_000)), 'SBOM_MALFORMED');
  });

  it('counts brackets inside strings, escaped quotes included, as text', () => {
    const document = infusionPumpCycloneDx('1.6');
    (document.metadata as Record<string, unknown>).component = {
      ...((document.metadata as Record<string, unknown>).component as object),
      description: `a \\"quoted\\" [${'['.repeat(500)} and {${'{'.repeat(500)}`,
    };
    assert.equal(parseSbom(JSON.stringify(document)).components.length, 3);
  });
});

describe('readSbomStream: parsing as the bytes arrive', () => {
  const chunksOf = async function* (bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
  };

  it('reads the same document whatever the chunks, multi-byte characters split between them', async () => {
    const document = infusionPumpCycloneDx('1.6');
    (document.metadata as Record<string, unknown>).supplier = { name: 'Médicale Suisse SA 🏥' };
    const bytes = jsonBytes(document);
    const whole = parseSbom(bytes);
    assert.equal(whole.metadata.supplier?.name, 'Médicale Suisse SA 🏥');
    for (const size of [1, 2, 3, 7, 4096]) {
      assert.deepEqual(await readSbomStream(chunksOf(bytes, size)), whole, `chunks of ${size} bytes`);
    }
  });

  it('refuses nesting beyond the limit at the chunk that reaches it, before the rest arrives', () => {
    const reader = new SbomStreamReader();
    reader.write('{"bomFormat":"CycloneDX","specVersion":"1.6","components":');
    const error = refusal(() => reader.write('['.repeat(maxNestingDepth)), 'SBOM_MALFORMED');
    assert.match(error.message, /deeper than 128/);
  });

  it('refuses a document cut short, text after it, bytes split inside a bad sequence, or nothing', async () => {
    const bytes = jsonBytes(infusionPumpCycloneDx('1.6'));
    const cut = bytes.subarray(0, bytes.length - 1);
    await assert.rejects(readSbomStream(chunksOf(cut, 100)), { code: 'SBOM_MALFORMED' });
    const trailing = new Uint8Array([...bytes, ...new TextEncoder().encode(' {}')]);
    await assert.rejects(readSbomStream(chunksOf(trailing, 100)), { code: 'SBOM_MALFORMED' });
    // A lone lead byte of a two-byte sequence at the very end.
    const truncatedCharacter = new Uint8Array([...bytes.subarray(0, bytes.length - 1), 0xc3]);
    await assert.rejects(readSbomStream(chunksOf(truncatedCharacter, 100)), { code: 'SBOM_MALFORMED' });
    await assert.rejects(readSbomStream(chunksOf(new Uint8Array(0), 1)), { code: 'SBOM_MALFORMED' });
  });
});

describe('parseSbom: recognising the format', () => {
  it('recognises CycloneDX by bomFormat and SPDX by spdxVersion', () => {
    const cycloneDx = parseSbom(jsonBytes(infusionPumpCycloneDx('1.4')));
    assert.equal(cycloneDx.format, 'CycloneDX');
    assert.equal(cycloneDx.specVersion, '1.4');
    const spdx = parseSbom(jsonBytes(infusionPumpSpdx()));
    assert.equal(spdx.format, 'SPDX');
    assert.equal(spdx.specVersion, '2.3');
  });

  it('refuses JSON that is not an object as SBOM_FORMAT_UNKNOWN', () => {
    for (const text of ['[]', '"CycloneDX"', 'null', '42', '[{"bomFormat": "CycloneDX"}]']) {
      refusal(() => parseSbom(text), 'SBOM_FORMAT_UNKNOWN');
    }
  });

  it('refuses an object that is neither CycloneDX nor SPDX as SBOM_FORMAT_UNKNOWN', () => {
    refusal(() => parseSbom('{"name": "ip7-firmware", "version": "4.2.0"}'), 'SBOM_FORMAT_UNKNOWN');
    refusal(() => parseSbom('{"bomFormat": "cyclonedx", "specVersion": "1.6"}'), 'SBOM_FORMAT_UNKNOWN');
    refusal(
      () => parseSbom('{"document": {"category": "csaf_vex", "csaf_version": "2.0"}}'),
      'SBOM_FORMAT_UNKNOWN',
    );
  });

  it('refuses CycloneDX versions other than 1.2–1.6 as SBOM_VERSION_UNSUPPORTED', () => {
    for (const specVersion of ['1.0', '1.1', '1.7', '2.0', '']) {
      const document = { ...infusionPumpCycloneDx('1.6'), specVersion };
      const error = refusal(() => parseSbom(JSON.stringify(document)), 'SBOM_VERSION_UNSUPPORTED');
      assert.deepEqual(error.facts, { format: 'CycloneDX', specVersion });
    }
  });

  it('refuses a CycloneDX specVersion that is not a string as SBOM_INVALID', () => {
    const document = { ...infusionPumpCycloneDx('1.4'), specVersion: 1.4 };
    const error = refusal(() => parseSbom(JSON.stringify(document)), 'SBOM_INVALID');
    assert.deepEqual(listedViolations(error), [
      { instancePath: '/specVersion', message: 'must be a string such as "1.6"' },
    ]);
  });

  it('refuses SPDX 2.2 and SPDX 3 as SBOM_VERSION_UNSUPPORTED', () => {
    refusal(
      () => parseSbom(JSON.stringify({ ...infusionPumpSpdx(), spdxVersion: 'SPDX-2.2' })),
      'SBOM_VERSION_UNSUPPORTED',
    );
    const spdx3 = { '@context': 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld', '@graph': [] };
    refusal(() => parseSbom(JSON.stringify(spdx3)), 'SBOM_VERSION_UNSUPPORTED');
  });
});

describe('parseSbom: schema validation', () => {
  it('refuses a component without a name, listing where and why', () => {
    const document = infusionPumpCycloneDx('1.6');
    delete (document.components as Record<string, unknown>[])[1]?.name;
    const error = refusal(() => parseSbom(JSON.stringify(document)), 'SBOM_INVALID');
    assert.equal(error.kind, 'invalid');
    assert.match(
      error.message,
      /not a valid CycloneDX 1\.6 document: \/components\/1 must have required property 'name'/,
    );
    assert.deepEqual(listedViolations(error), [
      { instancePath: '/components/1', message: "must have required property 'name'" },
    ]);
    assert.equal(error.facts?.format, 'CycloneDX');
    assert.equal(error.facts?.specVersion, '1.6');
    assert.equal(error.facts?.searchedAll, true);
  });

  it('lists every violation it finds, up to 50', () => {
    const document = generatedCycloneDx(80);
    for (const component of document.components as Record<string, unknown>[]) delete component.name;
    (document as Record<string, unknown>).serialNumber = 'not-a-uuid';
    const error = refusal(() => parseSbom(JSON.stringify(document)), 'SBOM_INVALID');
    const violations = listedViolations(error);
    assert.equal(violations.length, 50);
    assert.equal(error.facts?.violationCount, 81);
    assert.ok(violations.some((violation) => violation.instancePath === '/serialNumber'));
    assert.ok(!violations.some((violation) => violation.instancePath === '/components/79'));
  });

  it('names the unexpected property and the allowed values', () => {
    const document = infusionPumpCycloneDx('1.6');
    (document.components as Record<string, unknown>[])[1] = {
      ...(document.components as Record<string, unknown>[])[1],
      scope: 'runtime',
      colour: 'blue',
    };
    const violations = listedViolations(refusal(() => parseSbom(JSON.stringify(document)), 'SBOM_INVALID'));
    assert.deepEqual(
      violations.map((violation) => `${violation.instancePath} ${violation.message}`),
      [
        '/components/1 must NOT have additional properties: colour',
        '/components/1/scope must be equal to one of the allowed values: "required", "optional", "excluded"',
      ],
    );
  });

  it('refuses a hash that is not hex and a timestamp that is not a date-time', () => {
    const document = infusionPumpCycloneDx('1.5');
    (document.metadata as Record<string, unknown>).timestamp = 'yesterday';
    const rtos = (document.components as Record<string, unknown>[])[0] as Record<string, unknown>;
    rtos.hashes = [{ alg: 'SHA-512', content: 'not hex' }];
    const violations = listedViolations(refusal(() => parseSbom(JSON.stringify(document)), 'SBOM_INVALID'));
    assert.deepEqual(
      violations.map((violation) => violation.instancePath),
      ['/metadata/timestamp', '/components/0/hashes/0/content'],
    );
  });

  it('refuses two identical components (uniqueItems), whatever the order of their keys', () => {
    const document = infusionPumpCycloneDx('1.6');
    const components = document.components as Record<string, unknown>[];
    const zlib = components[1] as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(zlib).reverse());
    document.components = [...components, reordered];
    const error = refusal(() => parseSbom(JSON.stringify(document)), 'SBOM_INVALID');
    assert.deepEqual(listedViolations(error), [
      {
        instancePath: '/components',
        message: 'must NOT have duplicate items (items ## 1 and 2 are identical)',
      },
    ]);
  });
});

describe('parseSbom: size', () => {
  it('parses a generated 10,000-component SBOM', () => {
    const sbom = parseSbom(JSON.stringify(generatedCycloneDx(10_000)));
    assert.equal(sbom.components.length, 10_000);
    assert.equal(sbom.relationships.length, 9_999);
    assert.equal(sbom.components[9_999]?.purl?.canonical, 'pkg:npm/generated-9999@1.0.9');
    assert.deepEqual(sbom.warnings, []);
  });
});

describe('parseSbom: hostile input', () => {
  const onlyTypedErrors = (input: string): boolean => {
    try {
      parseSbom(input);
      return true;
    } catch (error) {
      return isVigilError(error) && error.kind === 'invalid';
    }
  };

  it('throws only typed errors for arbitrary JSON', () => {
    fc.assert(fc.property(fc.json(), onlyTypedErrors), { numRuns: 300 });
  });

  it('throws only typed errors for CycloneDX and SPDX documents with arbitrary members', () => {
    const arbitraryMembers = fc.dictionary(
      fc.constantFrom(
        'components',
        'dependencies',
        'metadata',
        'serialNumber',
        'packages',
        'relationships',
        'creationInfo',
      ),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(arbitraryMembers, fc.constantFrom('1.2', '1.4', '1.6'), (members, specVersion) =>
        onlyTypedErrors(JSON.stringify({ bomFormat: 'CycloneDX', specVersion, ...members })),
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(arbitraryMembers, (members) =>
        onlyTypedErrors(JSON.stringify({ ...infusionPumpSpdx(), ...members })),
      ),
      { numRuns: 300 },
    );
  });

  it('throws only typed errors for valid documents with arbitrary purls and references', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (purl, ref, target) => {
        const document = infusionPumpCycloneDx('1.6');
        const zlib = (document.components as Record<string, unknown>[])[1] as Record<string, unknown>;
        zlib.purl = purl;
        zlib['bom-ref'] = ref;
        document.dependencies = [{ ref, dependsOn: [target] }];
        return onlyTypedErrors(JSON.stringify(document));
      }),
      { numRuns: 300 },
    );
  });
});
