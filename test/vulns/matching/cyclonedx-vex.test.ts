import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import { applyCycloneDxVex, type VexApplication } from '../../../src/vulns/matching/index.ts';
import { parseSbom, type ParsedSbom } from '../../../src/vulns/sbom/index.ts';
import { readSharedFile } from './fixtures.ts';

/** CycloneDX/bom-examples @ aaa24717 `VEX/`: BOM + VEX pairs and the NTIA and CISA use cases (shared/data/vex/README.md). */
function vex(path: string): Buffer {
  return readSharedFile(`vex/${path}`);
}

function bom(path: string): ParsedSbom {
  return parseSbom(vex(path));
}

/** The BOM as a release of the product at `version`: the use-case BOMs name products without versions. */
function atVersion(sbom: ParsedSbom, version: string): ParsedSbom {
  const component = sbom.metadata.component;
  assert.ok(component !== undefined);
  return { ...sbom, metadata: { ...sbom.metadata, component: { ...component, version } } };
}

function summary(application: VexApplication): [string, string, string, string | undefined][] {
  return application.statements.map((statement) => [
    statement.vulnerability,
    statement.componentRef,
    statement.status,
    statement.justification,
  ]);
}

test('bom.json + vex.json: jackson-databind 2.10.0 is not affected by CVE-2020-25649 (code not reachable)', () => {
  // The VEX's BOM-Link names serial 3e671687-…, bom.json is 5f0f0da9-…: the link's bom-ref is a purl, which
  // names the component whichever BOM lists it.
  const application = applyCycloneDxVex(vex('vex.json'), bom('bom.json'));
  assert.deepEqual(application.statements, [
    {
      vulnerability: 'CVE-2020-25649',
      aliases: ['SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302'],
      componentRef: 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar',
      resolvedBy: 'purl',
      status: 'not_affected',
      responses: ['will_not_fix', 'update'],
      purl: 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar',
      version: '2.10.0',
      cyclonedxState: 'not_affected',
      cyclonedxJustification: 'code_not_reachable',
      justification: 'vulnerable_code_not_in_execute_path',
      detail:
        'Automated dataflow analysis and manual code review indicates that the vulnerable code is not reachable, either directly or indirectly.',
    },
  ]);
  assert.deepEqual(application.unresolved, []);
});

test('NTIA use cases 1-3: one product, one version, each state (applied to the document that describes the product)', () => {
  const expected: [string, string, string | undefined][] = [
    ['Case-1', 'not_affected', 'vulnerable_code_not_in_execute_path'],
    ['Case-2', 'affected', undefined],
    ['Case-3', 'under_investigation', undefined],
  ];
  for (const [useCase, status, justification] of expected) {
    const document = vex(`Use-Cases/${useCase}/vex.json`);
    assert.deepEqual(
      summary(applyCycloneDxVex(document, parseSbom(document))),
      [['CVE-2020-25649', 'acme-product', status, justification]],
      useCase,
    );
  }
});

test('NTIA use case 4: a vers range scopes the statement to versions 2.2.0 through 2.4.0', () => {
  const document = vex('Use-Cases/Case-4/vex.json');
  const product = parseSbom(document);
  const inside = applyCycloneDxVex(document, atVersion(product, '2.3.1'));
  assert.deepEqual(summary(inside), [
    ['CVE-2020-25649', 'acme-product', 'not_affected', 'vulnerable_code_not_in_execute_path'],
  ]);
  assert.equal(inside.statements[0]?.matchedVersion, 'vers:semver/>=2.2.0|<=2.4.0');
  assert.equal(inside.statements[0]?.versionStatus, 'unaffected');
  const outside = applyCycloneDxVex(document, atVersion(product, '2.5.0'));
  assert.deepEqual(outside.statements, []);
  assert.deepEqual(outside.notApplicable, [
    { vulnerability: 'CVE-2020-25649', componentRef: 'acme-product', version: '2.5.0' },
  ]);
  // Without a version, the statement cannot be held against its range.
  assert.equal(applyCycloneDxVex(document, product).unresolved.length, 1);
});

test('NTIA use case 5: exploitable from 1.5.0 up to 7.0.0, not before nor from 7.0.0 on (ranges written out of order)', () => {
  const document = vex('Use-Cases/Case-5/vex.json');
  const product = parseSbom(document);
  const statusAt = (version: string) =>
    applyCycloneDxVex(document, atVersion(product, version)).statements.map((statement) => statement.status);
  assert.deepEqual(statusAt('1.4.9'), ['not_affected']);
  assert.deepEqual(statusAt('1.5.0'), ['affected']);
  assert.deepEqual(statusAt('6.9.9'), ['affected']);
  assert.deepEqual(statusAt('7.0.0'), ['not_affected']);
});

test('NTIA use cases 8 and 10: several ranges and single versions', () => {
  const eight = vex('Use-Cases/Case-8/vex.json');
  const product8 = parseSbom(eight);
  for (const [version, applies] of [
    ['2.7.0', true],
    ['2.8.0', false],
    ['3.1.0', true],
    ['4.1.0', true],
    ['5.9.0', true],
    ['5.9.1', false],
  ] as const) {
    assert.equal(
      applyCycloneDxVex(eight, atVersion(product8, version)).statements.length,
      applies ? 1 : 0,
      version,
    );
  }
  const ten = vex('Use-Cases/Case-10/vex.json');
  const product10 = parseSbom(ten);
  assert.equal(applyCycloneDxVex(ten, atVersion(product10, '2.3.7')).statements[0]?.matchedVersion, '2.3.7');
  assert.deepEqual(applyCycloneDxVex(ten, atVersion(product10, '2.3.8')).statements, []);
});

test('NTIA use case 12: three CVEs, each with its own state and justification', () => {
  const document = vex('Use-Cases/Case-12/vex.json');
  assert.deepEqual(summary(applyCycloneDxVex(document, parseSbom(document))), [
    ['CVE-2020-25649', 'acme-product', 'not_affected', 'vulnerable_code_not_in_execute_path'],
    ['CVE-2020-35491', 'acme-product', 'affected', undefined],
    ['CVE-2020-14195', 'acme-product', 'not_affected', 'inline_mitigations_already_exist'],
  ]);
});

test('NTIA use cases 6, 9 and 13: BOM-Links reach each product BOM by serial number; the others stay unresolved', () => {
  for (const [useCase, product, status, statements] of [
    ['Case-6', 'bom-1.json', 'not_affected', 1],
    ['Case-9', 'bom-2.json', 'not_affected', 19], // Ripple20: CVE-2020-11896 … CVE-2020-11914
    ['Case-13', 'bom-3.json', 'affected', 1],
  ] as const) {
    const application = applyCycloneDxVex(
      vex(`Use-Cases/${useCase}/vex.json`),
      bom(`Use-Cases/${useCase}/${product}`),
    );
    assert.equal(application.statements.length, statements, useCase);
    assert.ok(
      application.statements.every(
        (statement) => statement.status === status && statement.resolvedBy === 'bom-link',
      ),
      useCase,
    );
    assert.ok(
      application.unresolved.every((entry) => entry.reason === 'the BOM-Link names another BOM'),
      useCase,
    );
  }
  const thirteen = applyCycloneDxVex(vex('Use-Cases/Case-13/vex.json'), bom('Use-Cases/Case-13/bom-1.json'));
  assert.deepEqual(summary(thirteen), [
    ['CVE-2020-25649', 'acme-product-1', 'not_affected', 'vulnerable_code_not_in_execute_path'],
  ]);
});

test('NTIA use case 7 names no product: nothing to apply', () => {
  const application = applyCycloneDxVex(vex('Use-Cases/Case-7/vex.json'), bom('Use-Cases/Case-6/bom-1.json'));
  assert.deepEqual(application, { statements: [], unresolved: [], notApplicable: [] });
});

test('CISA use case 1: the four states map to the four VEX statuses', () => {
  for (const [file, product, status, justification] of [
    ['vex-affected.json', 'product-DEF', 'affected', undefined],
    ['vex-fixed.json', 'product-DEF', 'fixed', undefined],
    ['vex-not_affected.json', 'product-ABC', 'not_affected', 'vulnerable_code_not_present'],
    ['vex-under_investigation.json', 'product-GHI', 'under_investigation', undefined],
  ] as const) {
    const document = vex(`CISA-Use-Cases/Case-1/${file}`);
    assert.deepEqual(
      summary(applyCycloneDxVex(document, parseSbom(document))),
      [['CVE-2021-44228', product, status, justification]],
      file,
    );
  }
});

test('CISA use case 3: 19 Ripple20 CVEs in four states for GHI 17.4', () => {
  const document = vex('CISA-Use-Cases/Case-3/vex.json');
  const statuses = applyCycloneDxVex(document, parseSbom(document)).statements.map(
    (statement) => statement.status,
  );
  const count = (status: string) => statuses.filter((value) => value === status).length;
  // Read off the file: 5 in_triage, 6 not_affected, 5 exploitable, 3 resolved.
  assert.deepEqual(
    [count('under_investigation'), count('not_affected'), count('affected'), count('fixed')],
    [5, 6, 5, 3],
  );
});

test('CISA use cases 7 and 8: product ABC and JKL releases against the multi-product VEX (vers:generic ranges)', () => {
  const document = vex('CISA-Use-Cases/Case-8/vex.json');
  const abc = bom('CISA-Use-Cases/Case-8/bom-1.json');
  const jkl = bom('CISA-Use-Cases/Case-8/bom-2.json');
  const statuses = (sbom: ParsedSbom) =>
    applyCycloneDxVex(document, sbom).statements.map(
      (statement) => `${statement.vulnerability} ${statement.status}`,
    );
  // ABC: 2.4, 2.6 and 2.9-4.1 affected; 1.0-2.3, 2.5, 2.7-2.8 and 4.2 not affected (both CVEs).
  assert.deepEqual(statuses(atVersion(abc, '3.0')), ['CVE-2021-44228 affected', 'CVE-2021-45105 affected']);
  assert.deepEqual(statuses(atVersion(abc, '2.5')), [
    'CVE-2021-44228 not_affected',
    'CVE-2021-45105 not_affected',
  ]);
  assert.deepEqual(statuses(atVersion(abc, '4.3')), []);
  // JKL: 4.5-5.0 affected, 1.0-4.4 not affected, 5.1 fixed for CVE-2021-44228 but affected by CVE-2021-45105;
  // for 5.2 the document states CVE-2021-45105 twice, as not_affected (version 5.2 "unaffected") and resolved.
  assert.deepEqual(statuses(atVersion(jkl, '5.1')), ['CVE-2021-44228 fixed', 'CVE-2021-45105 affected']);
  assert.deepEqual(statuses(atVersion(jkl, '5.2')), [
    'CVE-2021-44228 fixed',
    'CVE-2021-45105 not_affected',
    'CVE-2021-45105 fixed',
  ]);
  // Two not_affected statements of CVE-2021-45105 cover JKL 1.0-4.4; both are kept, each with its own detail.
  assert.deepEqual(statuses(atVersion(jkl, '4.4')), [
    'CVE-2021-44228 not_affected',
    'CVE-2021-45105 not_affected',
    'CVE-2021-45105 not_affected',
  ]);
  const seven = applyCycloneDxVex(vex('CISA-Use-Cases/Case-7/vex.json'), atVersion(jkl, '5.1'));
  assert.deepEqual(summary(seven), [['CVE-2021-44228', 'product-JKL', 'fixed', undefined]]);
});

test('a reference to nothing in the SBOM is reported unresolved', () => {
  const document = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    vulnerabilities: [
      {
        id: 'CVE-2024-0001',
        analysis: { state: 'exploitable' },
        affects: [{ ref: 'no-such-ref' }, { ref: 'pkg:npm/left-pad@1.0.0' }],
      },
    ],
  };
  const application = applyCycloneDxVex(document, bom('bom.json'));
  assert.deepEqual(application.statements, []);
  assert.deepEqual(
    application.unresolved.map((entry) => entry.ref),
    ['no-such-ref', 'pkg:npm/left-pad@1.0.0'],
  );
});

test('a statement without analysis reads as affected (fail closed), or as its version status says', () => {
  const application = applyCycloneDxVex(
    {
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      vulnerabilities: [
        {
          id: 'CVE-2024-0002',
          affects: [{ ref: 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar' }],
        },
        {
          id: 'CVE-2024-0003',
          affects: [
            {
              ref: 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar',
              versions: [{ range: 'vers:maven/>=2.0|<3.0', status: 'unaffected' }],
            },
          ],
        },
      ],
    },
    bom('bom.json'),
  );
  assert.deepEqual(
    application.statements.map((statement) => statement.status),
    ['affected', 'not_affected'],
  );
});

test('refuses what breaks CycloneDX with VULNS_VEX_INVALID, bytes that are not JSON with VULNS_ADVISORY_MALFORMED', () => {
  const sbom = bom('bom.json');
  const invalid = [
    { bomFormat: 'SPDX' },
    { bomFormat: 'CycloneDX', vulnerabilities: [{ id: 'CVE-1', analysis: { state: 'fine' }, affects: [] }] },
    {
      bomFormat: 'CycloneDX',
      vulnerabilities: [{ id: 'CVE-1', analysis: { state: 'not_affected', justification: 'trust_me' } }],
    },
    { bomFormat: 'CycloneDX', vulnerabilities: [{ id: 'CVE-1', affects: [{}] }] },
    {
      bomFormat: 'CycloneDX',
      vulnerabilities: [
        { id: 'CVE-1', affects: [{ ref: 'x', versions: [{ range: 'vers:npm/>=1.0.0', version: '1.0.0' }] }] },
      ],
    },
    {
      bomFormat: 'CycloneDX',
      vulnerabilities: [{ id: 'CVE-1', affects: [{ ref: 'x', versions: [{ range: 'not a vers' }] }] }],
    },
    { bomFormat: 'CycloneDX', vulnerabilities: 'none' },
  ];
  for (const document of invalid) {
    assert.throws(
      () => applyCycloneDxVex(document, sbom),
      (error) => isVigilError(error, 'VULNS_VEX_INVALID'),
      JSON.stringify(document),
    );
  }
  assert.throws(
    () => applyCycloneDxVex(Buffer.from('{'), sbom),
    (error) => isVigilError(error, 'VULNS_ADVISORY_MALFORMED'),
  );
});

test('whatever JSON it is given, applyCycloneDxVex returns or refuses with a typed error', () => {
  const sbom = bom('bom.json');
  const statement = fc.record({
    id: fc.oneof(fc.constant('CVE-2020-25649'), fc.jsonValue()),
    analysis: fc.record({
      state: fc.constantFrom('not_affected', 'exploitable', 'x'),
      justification: fc.constantFrom('code_not_present', 'x'),
      response: fc.array(fc.constantFrom('update', 'x')),
    }),
    affects: fc.array(
      fc.record({
        ref: fc.oneof(
          fc.constantFrom(
            'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar',
            'urn:cdx:5f0f0da9-c03d-47d8-b38d-009e6df67094/1#x',
          ),
          fc.string(),
        ),
        versions: fc.array(
          fc.record(
            {
              version: fc.string(),
              range: fc.oneof(fc.constant('vers:maven/>=2.0'), fc.string()),
              status: fc.constantFrom('affected', 'unaffected', 'x'),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
    ),
  });
  const document = fc
    .array(statement, { maxLength: 3 })
    .map((vulnerabilities) => ({ bomFormat: 'CycloneDX', specVersion: '1.6', vulnerabilities }));
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), document), (value) => {
      try {
        applyCycloneDxVex(value as object, sbom);
      } catch (error) {
        assert.ok(isVigilError(error), String(error));
        assert.notEqual(error.code, 'VULNS_VEX_APPLY_FAILED', error.message);
      }
    }),
    { numRuns: 1000 },
  );
});
