import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { isVigilError, type VigilError } from '../../../src/core/index.ts';

/** Real CycloneDX SBOMs (CycloneDX/bom-examples @ aaa24717, `SBOM/`, CC0-1.0; see shared/data/README.md). */
export const realSbomDirectory = new URL('../../../../shared/data/sbom/', import.meta.url);

export function readRealSbom(name: string): Buffer {
  return readFileSync(new URL(name, realSbomDirectory));
}

export type CycloneDxVersion = '1.2' | '1.3' | '1.4' | '1.5' | '1.6';
export const cycloneDxVersions: readonly CycloneDxVersion[] = ['1.2', '1.3', '1.4', '1.5', '1.6'];

export const sha256OfFirmware = 'a'.repeat(64);
export const sha512OfFirmware = 'B'.repeat(128);

/**
 * A small CycloneDX document valid under the given version's schema: the firmware of an infusion pump
 * with an RTOS (which nests a TLS library) and a compression library, using what each version added
 * (1.5 tools as components, 1.6 manufacturer, authors, licence acknowledgement and `provides`).
 */
export function infusionPumpCycloneDx(version: CycloneDxVersion): Record<string, unknown> {
  const atLeast = (minimum: CycloneDxVersion): boolean =>
    cycloneDxVersions.indexOf(version) >= cycloneDxVersions.indexOf(minimum);
  const vendor = {
    name: 'Vigil Medical GmbH',
    url: ['https://vigil.example/'],
    contact: [{ name: 'PSIRT', email: 'psirt@vigil.example' }],
  };
  const licence = (id: string): Record<string, unknown> =>
    atLeast('1.6') ? { license: { id, acknowledgement: 'concluded' } } : { license: { id } };
  const firmware: Record<string, unknown> = {
    type: 'firmware',
    'bom-ref': 'ip7-firmware',
    supplier: vendor,
    name: 'ip7-firmware',
    version: '4.2.0',
    hashes: [
      { alg: 'SHA-256', content: sha256OfFirmware },
      { alg: 'SHA-512', content: sha512OfFirmware },
    ],
    licenses: [{ license: { name: 'Proprietary' } }],
    purl: 'pkg:generic/vigil/ip7-firmware@4.2.0',
  };
  if (atLeast('1.6')) firmware.manufacturer = vendor;
  const tls: Record<string, unknown> = {
    type: 'library',
    'bom-ref': 'mbedtls',
    supplier: { name: 'Trusted Firmware', url: ['https://www.trustedfirmware.org/'] },
    name: 'mbedtls',
    version: '3.6.0',
    hashes: [{ alg: 'SHA-256', content: 'C'.repeat(64) }],
    licenses: atLeast('1.5') ? [{ expression: 'Apache-2.0 OR GPL-2.0-or-later' }] : [licence('Apache-2.0')],
    cpe: 'cpe:2.3:a:arm:mbed_tls:3.6.0:*:*:*:*:*:*:*',
    purl: 'pkg:github/Mbed-TLS/mbedtls@v3.6.0',
  };
  const rtos: Record<string, unknown> = {
    type: 'operating-system',
    'bom-ref': 'zephyr',
    supplier: { name: 'Zephyr Project', url: ['https://zephyrproject.org/'] },
    name: 'zephyr',
    version: '3.7.0',
    scope: 'required',
    hashes: [{ alg: 'SHA-512', content: 'd'.repeat(128) }],
    licenses: [licence('Apache-2.0')],
    purl: 'pkg:github/zephyrproject-rtos/zephyr@v3.7.0',
    components: [tls],
  };
  const zlib: Record<string, unknown> = {
    type: 'library',
    'bom-ref': 'zlib',
    name: 'zlib',
    version: '1.3.1',
    licenses: [licence('Zlib')],
    purl: 'pkg:generic/zlib@1.3.1',
  };
  if (atLeast('1.6')) zlib.authors = [{ name: 'Jean-loup Gailly', email: 'jloup@gzip.org' }];
  else zlib.author = 'Jean-loup Gailly and Mark Adler';
  const tool = { vendor: 'CycloneDX', name: 'cyclonedx-cli', version: '0.25.0' };
  const metadata: Record<string, unknown> = {
    timestamp: '2025-01-15T09:30:00Z',
    tools: atLeast('1.5')
      ? {
          components: [{ type: 'application', group: 'CycloneDX', name: 'cyclonedx-cli', version: '0.25.0' }],
        }
      : [tool],
    authors: [{ name: 'Release Engineering', email: 'release@vigil.example' }],
    component: firmware,
    supplier: vendor,
  };
  if (atLeast('1.6')) metadata.manufacturer = vendor;
  const dependencies: Record<string, unknown>[] = [
    { ref: 'ip7-firmware', dependsOn: ['zephyr', 'zlib'] },
    { ref: 'zephyr', dependsOn: ['mbedtls'] },
    { ref: 'mbedtls', dependsOn: [] },
    { ref: 'zlib', dependsOn: [] },
  ];
  return {
    bomFormat: 'CycloneDX',
    specVersion: version,
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    version: 1,
    metadata,
    components: [rtos, zlib],
    dependencies,
  };
}

/**
 * A generated CycloneDX 1.6 document of `count` npm-like components, each with purl, hashes, supplier,
 * licence and a dependency on the next.
 */
export function generatedCycloneDx(count: number): Record<string, unknown> {
  const components = [];
  const dependencies = [];
  for (let index = 0; index < count; index++) {
    const ref = `pkg:npm/generated-${index}@1.0.${index % 10}`;
    components.push({
      type: 'library',
      'bom-ref': ref,
      supplier: { name: `Supplier ${index % 97}`, url: [`https://supplier-${index % 97}.example/`] },
      name: `generated-${index}`,
      version: `1.0.${index % 10}`,
      description: 'A generated component for load tests',
      hashes: [
        { alg: 'SHA-256', content: index.toString(16).padStart(64, '0') },
        { alg: 'SHA-512', content: index.toString(16).padStart(128, '0') },
      ],
      licenses: [{ license: { id: index % 2 === 0 ? 'MIT' : 'Apache-2.0' } }],
      purl: ref,
      externalReferences: [{ type: 'website', url: `https://example.com/generated-${index}` }],
    });
    dependencies.push({
      ref,
      dependsOn: index + 1 < count ? [`pkg:npm/generated-${index + 1}@1.0.${(index + 1) % 10}`] : [],
    });
  }
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:0e671687-395b-41f5-a30f-a58921a69b79',
    version: 1,
    metadata: {
      timestamp: '2025-01-15T09:30:00Z',
      tools: { components: [{ type: 'application', name: 'generator', version: '1' }] },
    },
    components,
    dependencies,
  };
}

/**
 * A small SPDX 2.3 document in the shape SBOM generators write: the firmware package it describes,
 * which depends on an RTOS that contains a TLS library, with purl and CPE external references,
 * checksums, suppliers, originators and licences.
 */
export function infusionPumpSpdx(): Record<string, unknown> {
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'ip7-firmware-4.2.0',
    documentNamespace: 'https://vigil.example/spdx/ip7-firmware-4.2.0-3e671687',
    creationInfo: {
      created: '2025-01-15T09:30:00Z',
      creators: [
        'Organization: Vigil Medical GmbH (psirt@vigil.example)',
        'Person: Jane Doe ()',
        'Tool: syft-1.18.1',
      ],
      licenseListVersion: '3.25',
    },
    packages: [
      {
        SPDXID: 'SPDXRef-Package-ip7-firmware',
        name: 'ip7-firmware',
        versionInfo: '4.2.0',
        supplier: 'Organization: Vigil Medical GmbH (psirt@vigil.example)',
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        checksums: [
          { algorithm: 'SHA256', checksumValue: sha256OfFirmware },
          { algorithm: 'SHA512', checksumValue: sha512OfFirmware },
        ],
        licenseConcluded: 'LicenseRef-Proprietary',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'Copyright 2025 Vigil Medical GmbH',
        primaryPackagePurpose: 'FIRMWARE',
        externalRefs: [
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: 'pkg:generic/vigil/ip7-firmware@4.2.0',
          },
        ],
      },
      {
        SPDXID: 'SPDXRef-Package-zephyr',
        name: 'zephyr',
        versionInfo: '3.7.0',
        supplier: 'Organization: Zephyr Project',
        originator: 'Organization: Linux Foundation (info@linuxfoundation.org)',
        downloadLocation: 'git+https://github.com/zephyrproject-rtos/zephyr.git@v3.7.0',
        filesAnalyzed: false,
        checksums: [{ algorithm: 'SHA1', checksumValue: 'E'.repeat(40) }],
        licenseConcluded: 'Apache-2.0',
        licenseDeclared: 'Apache-2.0',
        primaryPackagePurpose: 'OPERATING-SYSTEM',
        externalRefs: [
          {
            referenceCategory: 'PACKAGE_MANAGER',
            referenceType: 'purl',
            referenceLocator: 'pkg:github/zephyrproject-rtos/zephyr@v3.7.0',
          },
          {
            referenceCategory: 'SECURITY',
            referenceType: 'cpe23Type',
            referenceLocator: 'cpe:2.3:o:zephyrproject:zephyr:3.7.0:*:*:*:*:*:*:*',
          },
        ],
      },
      {
        SPDXID: 'SPDXRef-Package-mbedtls',
        name: 'mbedtls',
        versionInfo: '3.6.0',
        supplier: 'NOASSERTION',
        downloadLocation: 'https://github.com/Mbed-TLS/mbedtls/archive/refs/tags/v3.6.0.tar.gz',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'Apache-2.0 OR GPL-2.0-or-later',
        externalRefs: [
          {
            referenceCategory: 'SECURITY',
            referenceType: 'cpe23Type',
            referenceLocator: 'cpe:2.3:a:arm:mbed_tls:3.6.0:*:*:*:*:*:*:*',
          },
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: 'pkg:github/Mbed-TLS/mbedtls@v3.6.0',
          },
        ],
      },
    ],
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: 'SPDXRef-Package-ip7-firmware',
      },
      {
        spdxElementId: 'SPDXRef-Package-ip7-firmware',
        relationshipType: 'DEPENDS_ON',
        relatedSpdxElement: 'SPDXRef-Package-zephyr',
      },
      {
        spdxElementId: 'SPDXRef-Package-zephyr',
        relationshipType: 'CONTAINS',
        relatedSpdxElement: 'SPDXRef-Package-mbedtls',
      },
      {
        spdxElementId: 'SPDXRef-Package-mbedtls',
        relationshipType: 'DEPENDS_ON',
        relatedSpdxElement: 'NONE',
      },
    ],
  };
}

export function jsonBytes(document: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(document));
}

/** Runs `parse` expecting a VigilError with `code`, and returns it. */
export function refusal(parse: () => unknown, code: string): VigilError {
  let caught: unknown;
  try {
    parse();
  } catch (error) {
    caught = error;
  }
  if (!isVigilError(caught, code)) assert.fail(`expected ${code}, got ${String(caught)}`);
  return caught;
}

/** The `errors` a refusal lists. */
export function listedViolations(error: VigilError): { instancePath: string; message: string }[] {
  return error.facts?.errors as { instancePath: string; message: string }[];
}
