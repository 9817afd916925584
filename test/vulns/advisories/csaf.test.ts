import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import { parseCsaf, type CsafDocument } from '../../../src/vulns/advisories/index.ts';
import { assertVigilError, csafExampleFiles, readSharedFile } from './fixtures.ts';

function readExample(name: string): CsafDocument {
  return parseCsaf(readSharedFile(`csaf/examples/${name}`));
}

function statementOf(document: CsafDocument, cve: string, productId: string) {
  return document.advisories
    .find((advisory) => advisory.id === cve)
    ?.statements.find((statement) => statement.productId === productId);
}

test('every CSAF 2.0 example of the OASIS repository parses', () => {
  const files = csafExampleFiles();
  assert.equal(files.length, 19);
  for (const file of files) {
    const document = parseCsaf(readSharedFile(file));
    assert.ok(document.trackingId.length > 0, file);
    assert.ok(document.products.length > 0, file);
  }
});

test('document facts: category, tracking id, publisher and one advisory per vulnerability', () => {
  const vex = readExample('csaf_vex/2022-evd-uc-03-ms-001.json');
  assert.equal(vex.category, 'csaf_vex');
  assert.equal(vex.trackingId, '2022-EVD-UC-03-MS-001');
  assert.equal(vex.advisories.length, 19); // CVE-2020-11896 … CVE-2020-11914 (Ripple20)
  assert.equal(vex.advisories[0]?.id, 'CVE-2020-11896');
  assert.equal(vex.advisories[0]?.csaf?.trackingId, '2022-EVD-UC-03-MS-001');
  const informational = readExample('rhsa-2019_1862.json');
  assert.equal(informational.category, 'csaf_informational_advisory');
  assert.deepEqual(informational.advisories, []);
  assert.equal(readExample('cisco-sa-20180328-smi2.json').category, 'Cisco Security Advisory');
});

test('the four VEX statuses of use case 1, one document each', () => {
  const cases: [string, string][] = [
    ['csaf_vex/2022-evd-uc-01-a-001.json', 'affected'],
    ['csaf_vex/2022-evd-uc-01-f-001.json', 'fixed'],
    ['csaf_vex/2022-evd-uc-01-na-001.json', 'not_affected'],
    ['csaf_vex/2022-evd-uc-01-ui-001.json', 'under_investigation'],
  ];
  for (const [file, status] of cases) {
    const document = readExample(file);
    assert.equal(statementOf(document, 'CVE-2021-44228', 'CSAFPID-0001')?.status, status, file);
  }
});

test('use case 3 gives each Ripple20 CVE its own status for product GHI 17.4', () => {
  const document = readExample('csaf_vex/2022-evd-uc-03-ms-001.json');
  const statuses = new Map(
    document.advisories.map((advisory) => [advisory.id, advisory.statements[0]?.status]),
  );
  // Read off product_status in the file: 5 under investigation, 6 not affected, 5 affected, 3 fixed.
  const count = (status: string) => [...statuses.values()].filter((value) => value === status).length;
  assert.deepEqual(
    {
      under_investigation: count('under_investigation'),
      not_affected: count('not_affected'),
      affected: count('affected'),
      fixed: count('fixed'),
    },
    { under_investigation: 5, not_affected: 6, affected: 5, fixed: 3 },
  );
  assert.equal(statuses.get('CVE-2020-11896'), 'under_investigation');
  assert.equal(statuses.get('CVE-2020-11897'), 'not_affected');
  assert.equal(statuses.get('CVE-2020-11898'), 'affected');
  assert.equal(statuses.get('CVE-2020-11901'), 'fixed');
  const notAffected = statementOf(document, 'CVE-2020-11897', 'CSAFPID-0001');
  assert.equal(notAffected?.impactStatement, 'IPv6 is not supported and code is not present.');
});

test('CSAF §3.2.3.5 flags give not-affected products their justification', () => {
  const document = readExample('csaf_vex/sec-vex-2022-0001.json');
  assert.deepEqual(
    document.advisories.map((advisory) => advisory.id),
    ['CVE-2021-44228', 'CVE-2021-45046', 'CVE-2021-45105'],
  );
  for (const advisory of document.advisories) {
    assert.deepEqual(advisory.statements, [
      {
        productId: 'CSAFPID-0001',
        productName: 'Secvisogram <=1.14.0',
        status: 'not_affected',
        csafStatus: 'known_not_affected',
        justification: 'component_not_present',
        impactStatement: 'Secvisogram is written in JavaScript. No Java is included.',
      },
    ]);
  }
  assert.equal(document.products[0]?.versionRange, '<=1.14.0');
});

test('a vendor fix names the fixed versions of the same product line (BSI-2022-0001: 1.0.0-rc2)', () => {
  const document = readExample('bsi-2022-0001.json');
  const [advisory] = document.advisories;
  assert.equal(advisory?.id, 'CVE-2022-27193');
  assert.deepEqual(advisory?.aliases, ['csaf-tools/CVRF-CSAF-Converter#78']);
  const affected = statementOf(document, 'CVE-2022-27193', 'CSAFPID-0005');
  assert.equal(affected?.status, 'affected');
  assert.equal(affected?.remediationCategory, 'vendor_fix');
  assert.deepEqual(affected?.fixedVersions, ['1.0.0-rc2']);
  assert.equal(
    affected?.remediationUrl,
    'https://github.com/csaf-tools/CVRF-CSAF-Converter/releases/tag/1.0.0-rc2',
  );
  assert.equal(statementOf(document, 'CVE-2022-27193', 'CSAFPID-0006')?.status, 'fixed');
  // The stated base score agrees with the one computed from the vector.
  assert.equal(advisory?.severity[0]?.baseScore, 6.1);
  assert.equal(advisory?.severity[0]?.baseScoreOrigin, 'stated');
  // Products named by CPE 2.2 URIs give the advisory its CPEs, in 2.3 form, affected ones only.
  assert.deepEqual(advisory?.cpes, [
    'cpe:2.3:a:csaf-tools:cvrf-csaf-converter:1.0.0-alpha:*:*:*:*:*:*:*',
    'cpe:2.3:a:csaf-tools:cvrf-csaf-converter:1.0.0-dev1:*:*:*:*:*:*:*',
    'cpe:2.3:a:csaf-tools:cvrf-csaf-converter:1.0.0-dev2:*:*:*:*:*:*:*',
    'cpe:2.3:a:csaf-tools:cvrf-csaf-converter:1.0.0-dev3:*:*:*:*:*:*:*',
    'cpe:2.3:a:csaf-tools:cvrf-csaf-converter:1.0.0-rc1:*:*:*:*:*:*:*',
  ]);
});

test('use case 7: JKL 4.5-5.0 is fixed in 5.1; ABC has no fixed product line version, so none is derived', () => {
  const document = readExample('csaf_vex/2022-evd-uc-07-001.json');
  const jkl = statementOf(document, 'CVE-2021-44228', 'CSAFPID-0008');
  assert.equal(jkl?.status, 'affected');
  assert.deepEqual(jkl?.fixedVersions, ['5.1']);
  assert.equal(jkl?.actionStatement, 'Update to the new version 5.1 or later.');
  const abc = statementOf(document, 'CVE-2021-44228', 'CSAFPID-0004');
  assert.equal(abc?.status, 'affected');
  assert.equal(abc?.fixedVersions, undefined); // "Update to version 4.2" names a not-affected version, not a fixed one
  assert.equal(
    statementOf(document, 'CVE-2021-44228', 'CSAFPID-0009')?.impactStatement,
    'Log4j was not included in those versions at all.',
  );
  assert.equal(
    document.products.find((product) => product.productId === 'CSAFPID-0008')?.versionRange,
    'vers:generic/>=4.5|<=5.0',
  );
});

test('relationships build products that are components of platforms (RHSA-2022:0011)', () => {
  const document = readExample('rhsa-2022_0011.json');
  const product = document.products.find(
    (candidate) => candidate.productId === '7Server-7.6.AUS:telnet-1:0.17-65.el7_6.x86_64',
  );
  assert.deepEqual(product?.relationship, {
    category: 'default_component_of',
    productReference: 'telnet-1:0.17-65.el7_6.x86_64',
    relatesToProductReference: '7Server-7.6.AUS',
  });
  assert.equal(product?.version, 'telnet-1:0.17-65.el7_6.x86_64');
  const [advisory] = document.advisories;
  assert.equal(advisory?.id, 'CVE-2020-10188');
  assert.equal(advisory?.statements.length, 15);
  assert.ok(advisory?.statements.every((statement) => statement.status === 'fixed'));
});

test('the Cisco advisory: 259 affected IOS products, a workaround as action statement, CVSS 9.8', () => {
  const document = readExample('cisco-sa-20180328-smi2.json');
  const [advisory] = document.advisories;
  assert.equal(advisory?.id, 'CVE-2018-0171');
  assert.equal(advisory?.statements.length, 259);
  assert.ok(
    advisory?.statements.every(
      (statement) => statement.status === 'affected' && statement.remediationCategory === 'workaround',
    ),
  );
  assert.equal(advisory?.severity[0]?.baseScore, 9.8);
});

test('products named by purl become affected packages with their versions and vers ranges', () => {
  const document = parseCsaf(
    csafDocument({
      product_tree: {
        branches: [
          {
            category: 'vendor',
            name: 'Vigil Medical',
            branches: [
              {
                category: 'product_name',
                name: 'pump-firmware',
                branches: [
                  {
                    category: 'product_version',
                    name: '4.2.0',
                    product: {
                      name: 'pump 4.2.0',
                      product_id: 'P-420',
                      product_identification_helper: { purl: 'pkg:generic/vigil/pump-firmware@4.2.0' },
                    },
                  },
                  {
                    category: 'product_version_range',
                    name: 'vers:generic/>=3.0|<4.0',
                    product: {
                      name: 'pump 3.x',
                      product_id: 'P-3X',
                      product_identification_helper: { purl: 'pkg:generic/vigil/pump-firmware' },
                    },
                  },
                  {
                    category: 'product_version',
                    name: '4.3.0',
                    product: {
                      name: 'pump 4.3.0',
                      product_id: 'P-430',
                      product_identification_helper: { purl: 'pkg:generic/vigil/pump-firmware@4.3.0' },
                    },
                  },
                ],
              },
            ],
          },
        ],
      },
      vulnerabilities: [
        { cve: 'CVE-2025-0001', product_status: { known_affected: ['P-420', 'P-3X'], fixed: ['P-430'] } },
      ],
    }),
  );
  const [advisory] = document.advisories;
  assert.deepEqual(advisory?.affected, [
    {
      purl: { type: 'generic', namespace: 'vigil', name: 'pump-firmware' },
      ranges: [],
      versions: ['4.2.0'],
      versRanges: ['vers:generic/>=3.0|<4.0'],
      severity: [],
    },
  ]);
});

function csafDocument(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    document: {
      category: 'csaf_vex',
      csaf_version: '2.0',
      publisher: { category: 'vendor', name: 'Vigil PSIRT', namespace: 'https://vigil.example' },
      title: 'test',
      tracking: {
        id: 'VIGIL-2025-0001',
        status: 'final',
        version: '1',
        initial_release_date: '2025-01-01T00:00:00Z',
        current_release_date: '2025-01-02T00:00:00Z',
        revision_history: [{ date: '2025-01-01T00:00:00Z', number: '1', summary: 'first' }],
      },
    },
    ...fields,
  };
}

const oneProduct = { full_product_names: [{ name: 'pump', product_id: 'P-1' }] };

const refusals: [string, Record<string, unknown>][] = [
  [
    'a product status naming an undefined product (§6.1.1)',
    { product_tree: oneProduct, vulnerabilities: [{ product_status: { known_affected: ['P-2'] } }] },
  ],
  [
    'a product id defined twice (§6.1.2)',
    {
      product_tree: {
        full_product_names: [
          { name: 'a', product_id: 'P-1' },
          { name: 'b', product_id: 'P-1' },
        ],
      },
    },
  ],
  [
    'a product both affected and not affected (§6.1.6)',
    {
      product_tree: oneProduct,
      vulnerabilities: [{ product_status: { known_affected: ['P-1'], known_not_affected: ['P-1'] } }],
    },
  ],
  [
    'an undefined product group (§6.1.4)',
    {
      product_tree: oneProduct,
      vulnerabilities: [
        {
          product_status: { known_not_affected: ['P-1'] },
          threats: [{ category: 'impact', details: 'x', group_ids: ['G-1'] }],
        },
      ],
    },
  ],
  [
    'a flag label CSAF does not define',
    {
      product_tree: oneProduct,
      vulnerabilities: [
        {
          product_status: { known_not_affected: ['P-1'] },
          flags: [{ label: 'trust_me', product_ids: ['P-1'] }],
        },
      ],
    },
  ],
  [
    'a CVE field that is no CVE',
    { product_tree: oneProduct, vulnerabilities: [{ cve: 'GHSA-xxxx-xxxx-xxxx' }] },
  ],
];

for (const [what, fields] of refusals) {
  test(`refuses ${what} with VULNS_ADVISORY_INVALID`, () => {
    assertVigilError(() => parseCsaf(csafDocument(fields)), 'VULNS_ADVISORY_INVALID');
  });
}

test('refuses a document of another CSAF version or without tracking', () => {
  const document = csafDocument({});
  assertVigilError(
    () => parseCsaf({ ...document, document: { ...(document.document as object), csaf_version: '2.1' } }),
    'VULNS_ADVISORY_INVALID',
  );
  assertVigilError(
    () => parseCsaf({ ...document, document: { ...(document.document as object), tracking: undefined } }),
    'VULNS_ADVISORY_INVALID',
  );
});

test('product groups expand in flags, threats and remediations', () => {
  const document = parseCsaf(
    csafDocument({
      product_tree: {
        full_product_names: [
          { name: 'a', product_id: 'P-1' },
          { name: 'b', product_id: 'P-2' },
        ],
        product_groups: [{ group_id: 'G-ALL', product_ids: ['P-1', 'P-2'] }],
      },
      vulnerabilities: [
        {
          cve: 'CVE-2025-0002',
          product_status: { known_not_affected: ['P-1', 'P-2'] },
          flags: [{ label: 'vulnerable_code_not_in_execute_path', group_ids: ['G-ALL'] }],
          threats: [{ category: 'impact', details: 'never called', group_ids: ['G-ALL'] }],
        },
      ],
    }),
  );
  const statements = document.advisories[0]?.statements ?? [];
  assert.equal(statements.length, 2);
  assert.ok(
    statements.every(
      (statement) =>
        statement.justification === 'vulnerable_code_not_in_execute_path' &&
        statement.impactStatement === 'never called',
    ),
  );
});

test('whatever JSON it is given, parseCsaf returns or refuses with a typed VULNS_ADVISORY_* error', () => {
  const base = csafDocument({});
  const productTree = fc.record({
    branches: fc.array(
      fc.record({
        category: fc.string(),
        name: fc.string(),
        product: fc.record({
          name: fc.string(),
          product_id: fc.constantFrom('P-1', 'P-2'),
          product_identification_helper: fc.record({ purl: fc.string(), cpe: fc.string() }),
        }),
        branches: fc.jsonValue(),
      }),
      { maxLength: 3 },
    ),
    product_groups: fc.array(
      fc.record({
        group_id: fc.constantFrom('G-1', 'G-2'),
        product_ids: fc.array(fc.constantFrom('P-1', 'P-2', 'P-3')),
      }),
      { maxLength: 2 },
    ),
  });
  const vulnerability = fc.record({
    cve: fc.oneof(fc.constant('CVE-2025-0001'), fc.string()),
    product_status: fc.dictionary(
      fc.constantFrom('known_affected', 'fixed', 'known_not_affected', 'under_investigation', 'recommended'),
      fc.array(fc.constantFrom('P-1', 'P-2', 'P-3')),
    ),
    flags: fc.array(
      fc.record({
        label: fc.constantFrom('component_not_present', 'x'),
        product_ids: fc.array(fc.constantFrom('P-1', 'P-2')),
        group_ids: fc.array(fc.constantFrom('G-1', 'G-3')),
      }),
    ),
    remediations: fc.array(
      fc.record({
        category: fc.constantFrom('vendor_fix', 'workaround', 'x'),
        details: fc.string(),
        product_ids: fc.array(fc.constantFrom('P-1', 'P-2')),
      }),
    ),
    scores: fc.array(
      fc.record({
        products: fc.array(fc.constantFrom('P-1', 'P-2')),
        cvss_v3: fc.record({ vectorString: fc.string(), baseScore: fc.double() }),
      }),
    ),
  });
  const document = fc
    .record({ product_tree: productTree, vulnerabilities: fc.array(vulnerability, { maxLength: 2 }) })
    .map((fields) => ({ ...base, ...fields }));
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), document), (value) => {
      try {
        parseCsaf(value as object);
      } catch (error) {
        assert.ok(isVigilError(error), String(error));
        assert.notEqual(error.code, 'VULNS_ADVISORY_PARSER_FAILED', error.message);
      }
    }),
    { numRuns: 1000 },
  );
});
