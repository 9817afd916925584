import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSbom, type ParsedSbom, type SbomComponent } from '../../../src/vulns/sbom/index.ts';
import {
  cycloneDxVersions,
  infusionPumpCycloneDx,
  jsonBytes,
  listedViolations,
  readRealSbom,
  refusal,
  sha256OfFirmware,
  sha512OfFirmware,
} from './fixtures.ts';

interface RawComponent {
  'bom-ref'?: string;
  name: string;
  purl?: string;
  components?: RawComponent[];
}

interface RawDocument {
  specVersion: string;
  components: RawComponent[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

/** Every component of a raw CycloneDX document, nested ones included. */
function rawComponents(components: readonly RawComponent[] = []): RawComponent[] {
  return components.flatMap((component) => [component, ...rawComponents(component.components)]);
}

function componentNamed(sbom: ParsedSbom, name: string): SbomComponent {
  const found = sbom.components.find((component) => component.name === name);
  assert.ok(found, `no component named ${name}`);
  return found;
}

describe('CycloneDX: real SBOMs (CycloneDX/bom-examples)', () => {
  const files = [
    { file: 'dropwizard-1.3.15.cdx.json', specVersion: '1.2', components: 167 },
    { file: 'juice-shop-11.1.2.cdx.json', specVersion: '1.2', components: 840 },
    { file: 'laravel-7.12.0.cdx.json', specVersion: '1.4', components: 62 },
    { file: 'proton-bridge-1.6.3.cdx.json', specVersion: '1.2', components: 201 },
  ];

  for (const { file, specVersion, components: expectedCount } of files) {
    it(`reads ${file}: every component with its purl, and every dependency`, () => {
      const bytes = readRealSbom(file);
      const raw = JSON.parse(bytes.toString('utf8')) as RawDocument;
      const sbom = parseSbom(bytes);

      assert.equal(sbom.format, 'CycloneDX');
      assert.equal(sbom.specVersion, specVersion);
      assert.equal(raw.specVersion, specVersion);
      const expected = rawComponents(raw.components);
      assert.equal(expected.length, expectedCount);
      assert.equal(sbom.components.length, expectedCount);
      assert.deepEqual(
        sbom.components.map((component) => [component.ref, component.name, component.purl?.canonical]),
        expected.map((component) => [component['bom-ref'], component.name, component.purl]),
      );
      assert.deepEqual(sbom.warnings, []);

      const dependencies = raw.dependencies ?? [];
      assert.deepEqual(
        sbom.refsWithDeclaredDependencies,
        dependencies.map((dependency) => dependency.ref),
      );
      assert.deepEqual(
        sbom.relationships.filter((relationship) => relationship.kind === 'depends-on'),
        dependencies.flatMap((dependency) =>
          (dependency.dependsOn ?? []).map((to) => ({
            from: dependency.ref,
            to,
            kind: 'depends-on',
            declaredAs: 'dependsOn',
          })),
        ),
      );
    });
  }

  it("keeps proton-bridge's Go modules with their pkg:golang purls and the bridge's 56 direct dependencies", () => {
    const sbom = parseSbom(readRealSbom('proton-bridge-1.6.3.cdx.json'));
    assert.equal(sbom.metadata.component?.name, 'github.com/ProtonMail/proton-bridge');
    assert.equal(
      sbom.metadata.component?.purl?.canonical,
      'pkg:golang/github.com/ProtonMail/proton-bridge@v1.6.3',
    );
    assert.equal(sbom.metadata.timestamp, '2021-05-16T17:08:44+02:00');
    assert.deepEqual(sbom.metadata.tools, [
      { vendor: 'CycloneDX', name: 'cyclonedx-gomod', version: 'v0.6.1' },
    ]);

    const goCrypto = componentNamed(sbom, 'github.com/ProtonMail/go-crypto');
    assert.deepEqual(goCrypto.purl, {
      canonical: 'pkg:golang/github.com/ProtonMail/go-crypto@v0.0.0-20201208171014-cdb7591792e2',
      type: 'golang',
      namespace: 'github.com/ProtonMail',
      name: 'go-crypto',
      version: 'v0.0.0-20201208171014-cdb7591792e2',
    });
    assert.equal(goCrypto.scope, 'required');
    assert.equal(goCrypto.hashes.length, 1);
    assert.equal(goCrypto.hashes[0]?.algorithm, 'SHA-256');
    assert.match(goCrypto.hashes[0]?.value ?? '', /^[0-9a-f]{64}$/);

    const gopenpgp = componentNamed(sbom, 'github.com/ProtonMail/gopenpgp/v2');
    assert.equal(gopenpgp.purl?.namespace, 'github.com/ProtonMail/gopenpgp');
    assert.equal(gopenpgp.purl?.name, 'v2');
    assert.ok(sbom.components.every((component) => component.purl?.type === 'golang'));

    const bridgeDependencies = sbom.relationships.filter(
      (relationship) => relationship.from === 'pkg:golang/github.com/ProtonMail/proton-bridge@v1.6.3',
    );
    assert.equal(bridgeDependencies.length, 56);
    assert.deepEqual(
      sbom.relationships.filter((relationship) => relationship.to === goCrypto.ref).map((r) => r.from),
      [gopenpgp.ref],
    );
    assert.ok(
      bridgeDependencies.some(
        (relationship) => relationship.to === 'pkg:golang/github.com/ProtonMail/go-rfc5322@v0.5.0',
      ),
    );
  });

  it("keeps dropwizard's Maven coordinates, eight digests each, publishers and licences", () => {
    const sbom = parseSbom(readRealSbom('dropwizard-1.3.15.cdx.json'));
    const core = componentNamed(sbom, 'dropwizard-core');
    assert.equal(core.group, 'io.dropwizard');
    assert.deepEqual(core.purl?.qualifiers, { type: 'jar' });
    assert.deepEqual(
      core.hashes.map((hash) => hash.algorithm),
      ['MD5', 'SHA-1', 'SHA-256', 'SHA-384', 'SHA-512', 'SHA3-256', 'SHA3-384', 'SHA3-512'],
    );
    assert.equal(
      core.hashes.find((hash) => hash.algorithm === 'SHA-512')?.value,
      '1fb1b50c2575c36cb518f48e9153a1253d11c0c5e4576dd3866df0d5171694c8507d8f9b78ca983749dd6a8156b81ceac66e8012583d2bb1d6e55c0f5920fd3f',
    );
    assert.deepEqual(componentNamed(sbom, 'jackson-annotations').licences, ['Apache-2.0']);
    assert.equal(componentNamed(sbom, 'jackson-annotations').publisher, 'FasterXML');
    const osgi = componentNamed(sbom, 'osgi-resource-locator');
    assert.equal(osgi.licences.length, 1);
    assert.match(osgi.licences[0] ?? '', / OR /);
  });

  it("keeps juice-shop's npm scopes and reads a timestamp with milliseconds", () => {
    const sbom = parseSbom(readRealSbom('juice-shop-11.1.2.cdx.json'));
    assert.equal(sbom.metadata.timestamp, '2020-08-03T03:20:53.771Z');
    assert.equal(sbom.documentId?.startsWith('urn:uuid:'), true);
    const types = sbom.components.find(
      (component) => component.purl?.canonical === 'pkg:npm/%40types/node@14.0.23',
    );
    assert.equal(types?.group, '@types');
    assert.equal(types?.purl?.namespace, '@types');
    assert.equal(types?.purl?.name, 'node');
    assert.deepEqual(sbom.relationships, []);
  });

  it("keeps laravel's Composer components, authors and dependency graph (CycloneDX 1.4, no timestamp)", () => {
    const sbom = parseSbom(readRealSbom('laravel-7.12.0.cdx.json'));
    assert.equal(sbom.metadata.timestamp, undefined);
    assert.equal(sbom.documentId, undefined);
    const cors = sbom.components.find((component) => component.ref === 'asm89/stack-cors-1.3.0.0');
    assert.equal(cors?.purl?.canonical, 'pkg:composer/asm89/stack-cors@1.3.0');
    assert.deepEqual(cors?.authors, [{ name: 'Alexander' }]);
    assert.deepEqual(
      sbom.relationships
        .filter((relationship) => relationship.from === 'asm89/stack-cors-1.3.0.0')
        .map((r) => r.to),
      ['symfony/http-foundation-5.4.16.0', 'symfony/http-kernel-5.4.16.0'],
    );
  });
});

describe('CycloneDX: each specification version', () => {
  for (const version of cycloneDxVersions) {
    it(`reads a CycloneDX ${version} document valid under its schema`, () => {
      const sbom = parseSbom(jsonBytes(infusionPumpCycloneDx(version)));
      assert.equal(sbom.specVersion, version);
      assert.equal(sbom.documentId, 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79');
      assert.equal(sbom.metadata.timestamp, '2025-01-15T09:30:00Z');
      assert.deepEqual(sbom.metadata.authors, [
        { name: 'Release Engineering', email: 'release@vigil.example' },
      ]);
      assert.deepEqual(sbom.metadata.supplier, {
        name: 'Vigil Medical GmbH',
        url: 'https://vigil.example/',
        email: 'psirt@vigil.example',
      });
      assert.deepEqual(sbom.metadata.tools, [
        { vendor: 'CycloneDX', name: 'cyclonedx-cli', version: '0.25.0' },
      ]);
      assert.deepEqual(sbom.metadata.describedRefs, ['ip7-firmware']);

      const firmware = sbom.metadata.component;
      assert.equal(firmware?.type, 'firmware');
      assert.deepEqual(firmware?.hashes, [
        { algorithm: 'SHA-256', value: sha256OfFirmware },
        { algorithm: 'SHA-512', value: sha512OfFirmware.toLowerCase() },
      ]);
      assert.deepEqual(firmware?.licences, ['Proprietary']);

      assert.deepEqual(
        sbom.components.map((component) => [component.ref, component.parentRef]),
        [
          ['zephyr', undefined],
          ['mbedtls', 'zephyr'],
          ['zlib', undefined],
        ],
      );
      const tls = componentNamed(sbom, 'mbedtls');
      assert.equal(tls.cpe, 'cpe:2.3:a:arm:mbed_tls:3.6.0:*:*:*:*:*:*:*');
      assert.equal(tls.purl?.canonical, 'pkg:github/mbed-tls/mbedtls@v3.6.0');
      assert.deepEqual(tls.hashes, [{ algorithm: 'SHA-256', value: 'c'.repeat(64) }]);
      assert.deepEqual(tls.supplier, { name: 'Trusted Firmware', url: 'https://www.trustedfirmware.org/' });
      assert.deepEqual(tls.licences, version >= '1.5' ? ['Apache-2.0 OR GPL-2.0-or-later'] : ['Apache-2.0']);

      assert.deepEqual(sbom.relationships, [
        { from: 'zephyr', to: 'mbedtls', kind: 'contains', declaredAs: 'components' },
        { from: 'ip7-firmware', to: 'zephyr', kind: 'depends-on', declaredAs: 'dependsOn' },
        { from: 'ip7-firmware', to: 'zlib', kind: 'depends-on', declaredAs: 'dependsOn' },
        { from: 'zephyr', to: 'mbedtls', kind: 'depends-on', declaredAs: 'dependsOn' },
      ]);
      assert.deepEqual(sbom.refsWithDeclaredDependencies, ['ip7-firmware', 'zephyr', 'mbedtls', 'zlib']);
      assert.deepEqual(sbom.warnings, []);
    });
  }

  it('reads CycloneDX 1.6 manufacturers, component authors and provides', () => {
    const document = infusionPumpCycloneDx('1.6');
    (document.dependencies as Record<string, unknown>[]).push({ ref: 'zlib', provides: ['mbedtls'] });
    const sbom = parseSbom(jsonBytes(document));
    assert.deepEqual(sbom.metadata.manufacturer?.name, 'Vigil Medical GmbH');
    assert.deepEqual(sbom.metadata.component?.authors, [
      { name: 'Vigil Medical GmbH', url: 'https://vigil.example/', email: 'psirt@vigil.example' },
    ]);
    assert.deepEqual(componentNamed(sbom, 'zlib').authors, [
      { name: 'Jean-loup Gailly', email: 'jloup@gzip.org' },
    ]);
    assert.deepEqual(sbom.relationships.at(-1), {
      from: 'zlib',
      to: 'mbedtls',
      kind: 'provides',
      declaredAs: 'provides',
    });
  });

  it('reads the legacy author of a component before 1.6', () => {
    const sbom = parseSbom(jsonBytes(infusionPumpCycloneDx('1.3')));
    assert.deepEqual(componentNamed(sbom, 'zlib').authors, [{ name: 'Jean-loup Gailly and Mark Adler' }]);
  });
});

describe('CycloneDX: references', () => {
  it('gives a component without a bom-ref its JSON Pointer as reference', () => {
    const document = infusionPumpCycloneDx('1.4');
    const rtos = (document.components as Record<string, unknown>[])[0] as Record<string, unknown>;
    const tls = (rtos.components as Record<string, unknown>[])[0] as Record<string, unknown>;
    delete tls['bom-ref'];
    document.dependencies = [];
    const sbom = parseSbom(jsonBytes(document));
    const generated = componentNamed(sbom, 'mbedtls');
    assert.equal(generated.ref, '#/components/0/components/0');
    assert.equal(generated.refGenerated, true);
    assert.equal(componentNamed(sbom, 'zlib').refGenerated, false);
    assert.deepEqual(sbom.relationships, [
      { from: 'zephyr', to: '#/components/0/components/0', kind: 'contains', declaredAs: 'components' },
    ]);
  });

  it('reads components nested in the described component as its parts', () => {
    const document = infusionPumpCycloneDx('1.6');
    const metadata = document.metadata as Record<string, unknown>;
    metadata.component = {
      ...(metadata.component as object),
      components: [{ type: 'file', 'bom-ref': 'bootloader', name: 'bootloader.bin', version: '1.0.0' }],
    };
    const sbom = parseSbom(jsonBytes(document));
    assert.equal(sbom.components.length, 4);
    assert.deepEqual(
      sbom.components.map((component) => component.ref),
      ['bootloader', 'zephyr', 'mbedtls', 'zlib'],
    );
    assert.equal(componentNamed(sbom, 'bootloader.bin').parentRef, 'ip7-firmware');
    assert.deepEqual(sbom.relationships[0], {
      from: 'ip7-firmware',
      to: 'bootloader',
      kind: 'contains',
      declaredAs: 'components',
    });
  });

  it('refuses a bom-ref used twice from CycloneDX 1.4, where it must be unique', () => {
    const document = infusionPumpCycloneDx('1.4');
    const zlib = (document.components as Record<string, unknown>[])[1] as Record<string, unknown>;
    zlib['bom-ref'] = 'zephyr';
    const error = refusal(() => parseSbom(jsonBytes(document)), 'SBOM_INVALID');
    assert.deepEqual(listedViolations(error), [
      {
        instancePath: '/components/1/bom-ref',
        message: 'bom-ref "zephyr" is used twice; it must be unique within the BOM',
      },
    ]);
  });

  it('warns of a bom-ref used twice in CycloneDX 1.2, where uniqueness is only a should', () => {
    const document = infusionPumpCycloneDx('1.2');
    const zlib = (document.components as Record<string, unknown>[])[1] as Record<string, unknown>;
    zlib['bom-ref'] = 'zephyr';
    document.dependencies = [];
    const sbom = parseSbom(jsonBytes(document));
    assert.deepEqual(sbom.warnings, [
      {
        code: 'REFERENCE_DUPLICATE',
        path: '/components/1/bom-ref',
        message: 'bom-ref "zephyr" is used twice',
      },
    ]);
  });

  it('warns of dependencies on references the BOM does not have, but not of BOM-Links', () => {
    const document = infusionPumpCycloneDx('1.5');
    document.dependencies = [
      { ref: 'zlib', dependsOn: ['libc', 'urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#libm'] },
      { ref: 'ghost' },
    ];
    const sbom = parseSbom(jsonBytes(document));
    assert.deepEqual(
      sbom.warnings.map((warning) => [warning.code, warning.path]),
      [
        ['REFERENCE_DANGLING', '/dependencies/0/dependsOn/0'],
        ['REFERENCE_DANGLING', '/dependencies/1/ref'],
      ],
    );
    assert.equal(sbom.relationships.filter((relationship) => relationship.kind === 'depends-on').length, 2);
  });

  it('keeps a component whose purl is invalid, without the purl, and warns', () => {
    const document = infusionPumpCycloneDx('1.6');
    const zlib = (document.components as Record<string, unknown>[])[1] as Record<string, unknown>;
    zlib.purl = 'pkg:maven/zlib@1.3.1';
    const sbom = parseSbom(jsonBytes(document));
    assert.equal(componentNamed(sbom, 'zlib').purl, undefined);
    assert.deepEqual(
      sbom.warnings.map((warning) => [warning.code, warning.path]),
      [['PURL_INVALID', '/components/1/purl']],
    );
    assert.match(sbom.warnings[0]?.message ?? '', /namespace/);
  });

  it('keeps at most 100 warnings and counts the rest', () => {
    const document = infusionPumpCycloneDx('1.6');
    document.dependencies = [
      { ref: 'zlib', dependsOn: Array.from({ length: 150 }, (_, index) => `missing-${index}`) },
    ];
    const sbom = parseSbom(jsonBytes(document));
    assert.equal(sbom.warnings.length, 100);
    assert.equal(sbom.omittedWarnings, 50);
  });
});
