import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSbom, type SbomComponent } from '../../../src/vulns/sbom/index.ts';
import {
  infusionPumpSpdx,
  jsonBytes,
  listedViolations,
  refusal,
  sha256OfFirmware,
  sha512OfFirmware,
} from './fixtures.ts';

type Json = Record<string, unknown>;

function packages(document: Json): Json[] {
  return document.packages as Json[];
}

function relationships(document: Json): Json[] {
  return document.relationships as Json[];
}

describe('SPDX 2.3: reading a document', () => {
  const sbom = parseSbom(jsonBytes(infusionPumpSpdx()));
  const byRef = new Map(sbom.components.map((component) => [component.ref, component]));
  const component = (ref: string): SbomComponent => {
    const found = byRef.get(ref);
    assert.ok(found, `no component ${ref}`);
    return found;
  };

  it('reads the document creation information (SPDX 2.3 §6)', () => {
    assert.equal(sbom.documentId, 'https://vigil.example/spdx/ip7-firmware-4.2.0-3e671687');
    assert.equal(sbom.documentName, 'ip7-firmware-4.2.0');
    assert.equal(sbom.metadata.timestamp, '2025-01-15T09:30:00Z');
    assert.deepEqual(sbom.metadata.authors, [
      { name: 'Vigil Medical GmbH', email: 'psirt@vigil.example' },
      { name: 'Jane Doe' },
    ]);
    assert.deepEqual(sbom.metadata.tools, [{ name: 'syft', version: '1.18.1' }]);
  });

  it('makes every package a component, the described one also the metadata component', () => {
    assert.deepEqual(
      sbom.components.map((each) => each.ref),
      ['SPDXRef-Package-ip7-firmware', 'SPDXRef-Package-zephyr', 'SPDXRef-Package-mbedtls'],
    );
    assert.deepEqual(sbom.metadata.describedRefs, ['SPDXRef-Package-ip7-firmware']);
    assert.equal(sbom.metadata.component, component('SPDXRef-Package-ip7-firmware'));
    assert.ok(sbom.components.every((each) => each.refGenerated === false));
  });

  it('reads purls from PACKAGE-MANAGER references in either spelling, and CPEs from SECURITY ones (§7.21)', () => {
    assert.equal(
      component('SPDXRef-Package-ip7-firmware').purl?.canonical,
      'pkg:generic/vigil/ip7-firmware@4.2.0',
    );
    const zephyr = component('SPDXRef-Package-zephyr');
    assert.deepEqual(zephyr.purl, {
      canonical: 'pkg:github/zephyrproject-rtos/zephyr@v3.7.0',
      type: 'github',
      namespace: 'zephyrproject-rtos',
      name: 'zephyr',
      version: 'v3.7.0',
    });
    assert.equal(zephyr.cpe, 'cpe:2.3:o:zephyrproject:zephyr:3.7.0:*:*:*:*:*:*:*');
    const tls = component('SPDXRef-Package-mbedtls');
    assert.equal(tls.purl?.canonical, 'pkg:github/mbed-tls/mbedtls@v3.6.0');
    assert.equal(tls.cpe, 'cpe:2.3:a:arm:mbed_tls:3.6.0:*:*:*:*:*:*:*');
  });

  it('names checksum algorithms as CycloneDX does and lower-cases the digests (§7.10)', () => {
    assert.deepEqual(component('SPDXRef-Package-ip7-firmware').hashes, [
      { algorithm: 'SHA-256', value: sha256OfFirmware },
      { algorithm: 'SHA-512', value: sha512OfFirmware.toLowerCase() },
    ]);
    assert.deepEqual(component('SPDXRef-Package-zephyr').hashes, [
      { algorithm: 'SHA-1', value: 'e'.repeat(40) },
    ]);
    assert.deepEqual(component('SPDXRef-Package-mbedtls').hashes, []);
  });

  it('reads suppliers and originators, leaving out NOASSERTION (§7.5, §7.6)', () => {
    assert.deepEqual(component('SPDXRef-Package-ip7-firmware').supplier, {
      name: 'Vigil Medical GmbH',
      email: 'psirt@vigil.example',
    });
    const zephyr = component('SPDXRef-Package-zephyr');
    assert.deepEqual(zephyr.supplier, { name: 'Zephyr Project' });
    assert.deepEqual(zephyr.authors, [{ name: 'Linux Foundation', email: 'info@linuxfoundation.org' }]);
    assert.equal(component('SPDXRef-Package-mbedtls').supplier, undefined);
  });

  it('reads concluded and declared licences, leaving out NOASSERTION (§7.13, §7.15)', () => {
    assert.deepEqual(component('SPDXRef-Package-ip7-firmware').licences, ['LicenseRef-Proprietary']);
    assert.deepEqual(component('SPDXRef-Package-zephyr').licences, ['Apache-2.0']);
    assert.deepEqual(component('SPDXRef-Package-mbedtls').licences, ['Apache-2.0 OR GPL-2.0-or-later']);
  });

  it('reads primaryPackagePurpose as a lower-case type (§7.24)', () => {
    assert.equal(component('SPDXRef-Package-ip7-firmware').type, 'firmware');
    assert.equal(component('SPDXRef-Package-zephyr').type, 'operating-system');
    assert.equal(component('SPDXRef-Package-mbedtls').type, undefined);
  });

  it('keeps relationships, and DEPENDS_ON NONE as dependencies stated as none (§11.1)', () => {
    assert.deepEqual(sbom.relationships, [
      {
        from: 'SPDXRef-DOCUMENT',
        to: 'SPDXRef-Package-ip7-firmware',
        kind: 'describes',
        declaredAs: 'DESCRIBES',
      },
      {
        from: 'SPDXRef-Package-ip7-firmware',
        to: 'SPDXRef-Package-zephyr',
        kind: 'depends-on',
        declaredAs: 'DEPENDS_ON',
      },
      {
        from: 'SPDXRef-Package-zephyr',
        to: 'SPDXRef-Package-mbedtls',
        kind: 'contains',
        declaredAs: 'CONTAINS',
      },
    ]);
    assert.deepEqual(sbom.refsWithDeclaredDependencies, [
      'SPDXRef-Package-ip7-firmware',
      'SPDXRef-Package-mbedtls',
    ]);
    assert.deepEqual(sbom.warnings, []);
  });
});

describe('SPDX 2.3: relationship directions', () => {
  it('turns *_DEPENDENCY_OF, CONTAINED_BY and DESCRIBED_BY round, and keeps other types as they are', () => {
    const document = infusionPumpSpdx();
    document.relationships = [
      {
        spdxElementId: 'SPDXRef-Package-zephyr',
        relationshipType: 'DESCRIBED_BY',
        relatedSpdxElement: 'SPDXRef-DOCUMENT',
      },
      {
        spdxElementId: 'SPDXRef-Package-zephyr',
        relationshipType: 'RUNTIME_DEPENDENCY_OF',
        relatedSpdxElement: 'SPDXRef-Package-ip7-firmware',
      },
      {
        spdxElementId: 'SPDXRef-Package-mbedtls',
        relationshipType: 'CONTAINED_BY',
        relatedSpdxElement: 'SPDXRef-Package-zephyr',
      },
      {
        spdxElementId: 'SPDXRef-Package-ip7-firmware',
        relationshipType: 'GENERATED_FROM',
        relatedSpdxElement: 'SPDXRef-Package-zephyr',
      },
      {
        spdxElementId: 'SPDXRef-Package-mbedtls',
        relationshipType: 'DEPENDS_ON',
        relatedSpdxElement: 'NOASSERTION',
      },
    ];
    document.documentDescribes = ['SPDXRef-Package-ip7-firmware'];
    const sbom = parseSbom(jsonBytes(document));
    assert.deepEqual(sbom.relationships, [
      {
        from: 'SPDXRef-DOCUMENT',
        to: 'SPDXRef-Package-ip7-firmware',
        kind: 'describes',
        declaredAs: 'documentDescribes',
      },
      {
        from: 'SPDXRef-DOCUMENT',
        to: 'SPDXRef-Package-zephyr',
        kind: 'describes',
        declaredAs: 'DESCRIBED_BY',
      },
      {
        from: 'SPDXRef-Package-ip7-firmware',
        to: 'SPDXRef-Package-zephyr',
        kind: 'depends-on',
        declaredAs: 'RUNTIME_DEPENDENCY_OF',
      },
      {
        from: 'SPDXRef-Package-zephyr',
        to: 'SPDXRef-Package-mbedtls',
        kind: 'contains',
        declaredAs: 'CONTAINED_BY',
      },
      {
        from: 'SPDXRef-Package-ip7-firmware',
        to: 'SPDXRef-Package-zephyr',
        kind: 'other',
        declaredAs: 'GENERATED_FROM',
      },
    ]);
    assert.deepEqual(sbom.metadata.describedRefs, ['SPDXRef-Package-ip7-firmware', 'SPDXRef-Package-zephyr']);
    assert.equal(sbom.metadata.component?.ref, 'SPDXRef-Package-ip7-firmware');
    assert.deepEqual(sbom.refsWithDeclaredDependencies, ['SPDXRef-Package-ip7-firmware']);
  });

  it('reads hasFiles as containment of files', () => {
    const document = infusionPumpSpdx();
    packages(document)[0] = {
      ...packages(document)[0],
      filesAnalyzed: true,
      hasFiles: ['SPDXRef-File-image'],
    };
    document.files = [
      {
        SPDXID: 'SPDXRef-File-image',
        fileName: './ip7.bin',
        checksums: [{ algorithm: 'SHA1', checksumValue: 'f'.repeat(40) }],
      },
    ];
    const sbom = parseSbom(jsonBytes(document));
    assert.deepEqual(sbom.relationships.at(0), {
      from: 'SPDXRef-Package-ip7-firmware',
      to: 'SPDXRef-File-image',
      kind: 'contains',
      declaredAs: 'hasFiles',
    });
    assert.equal(sbom.components.length, 3);
    assert.deepEqual(sbom.warnings, []);
  });

  it('warns of relationships to elements the document lacks, but not to other documents', () => {
    const document = infusionPumpSpdx();
    relationships(document).push(
      {
        spdxElementId: 'SPDXRef-Package-zephyr',
        relationshipType: 'DEPENDS_ON',
        relatedSpdxElement: 'SPDXRef-Package-libc',
      },
      {
        spdxElementId: 'SPDXRef-Package-zephyr',
        relationshipType: 'DEPENDS_ON',
        relatedSpdxElement: 'DocumentRef-hal:SPDXRef-Package-hal',
      },
    );
    const sbom = parseSbom(jsonBytes(document));
    assert.deepEqual(sbom.warnings, [
      {
        code: 'REFERENCE_DANGLING',
        path: '/relationships/4/relatedSpdxElement',
        message: '"SPDXRef-Package-libc" names no element of this document',
      },
    ]);
  });
});

describe('SPDX 2.3: refusals', () => {
  const refusedFor = (change: (document: Json) => void): { instancePath: string; message: string }[] => {
    const document = infusionPumpSpdx();
    change(document);
    return listedViolations(refusal(() => parseSbom(jsonBytes(document)), 'SBOM_INVALID'));
  };

  it('refuses a package without its download location (§7.7)', () => {
    assert.deepEqual(
      refusedFor((document) => delete packages(document)[1]?.downloadLocation),
      [{ instancePath: '/packages/1', message: "must have required property 'downloadLocation'" }],
    );
  });

  it('refuses a document without creation information or namespace (§6.5, §6.8, §6.9)', () => {
    assert.deepEqual(
      refusedFor((document) => {
        delete document.creationInfo;
        delete document.documentNamespace;
      }).map((violation) => violation.message),
      ["must have required property 'documentNamespace'", "must have required property 'creationInfo'"],
    );
  });

  it('refuses a data licence other than CC0-1.0 (§6.2)', () => {
    assert.deepEqual(
      refusedFor((document) => (document.dataLicense = 'MIT')),
      [{ instancePath: '/dataLicense', message: 'must be equal to constant: "CC0-1.0"' }],
    );
  });

  it('refuses an unknown relationship type and a creator without its kind (§6.8, §11.1)', () => {
    const violations = refusedFor((document) => {
      relationships(document)[1] = { ...relationships(document)[1], relationshipType: 'USES' };
      (document.creationInfo as Json).creators = ['syft-1.18.1'];
    });
    assert.deepEqual(
      violations.map((violation) => violation.instancePath),
      ['/creationInfo/creators/0', '/relationships/1/relationshipType'],
    );
  });

  it('refuses a property SPDX 2.3 does not define on a package', () => {
    assert.deepEqual(
      refusedFor(
        (document) => (packages(document)[0] = { ...packages(document)[0], purl: 'pkg:generic/x@1' }),
      ),
      [{ instancePath: '/packages/0', message: 'must NOT have additional properties: purl' }],
    );
  });

  it('refuses an SPDXID used twice', () => {
    assert.deepEqual(
      refusedFor(
        (document) =>
          (packages(document)[2] = { ...packages(document)[2], SPDXID: 'SPDXRef-Package-zephyr' }),
      ),
      [
        {
          instancePath: '/packages/2/SPDXID',
          message: 'SPDXID "SPDXRef-Package-zephyr" is used twice; it must be unique within the document',
        },
      ],
    );
  });
});
