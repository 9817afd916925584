import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  completenessReport,
  parseSbom,
  type ComponentElementResult,
  type StandardCompleteness,
} from '../../../src/vulns/sbom/index.ts';
import {
  generatedCycloneDx,
  infusionPumpCycloneDx,
  infusionPumpSpdx,
  jsonBytes,
  readRealSbom,
} from './fixtures.ts';

type Json = Record<string, unknown>;

function componentElement(standard: StandardCompleteness, element: string): ComponentElementResult {
  const found = standard.components.find((result) => result.element === element);
  assert.ok(found, `no element ${element}`);
  return found;
}

function documentElementSatisfied(standard: StandardCompleteness, element: string): boolean | undefined {
  return standard.document.find((result) => result.element === element)?.satisfied;
}

/** element → "satisfied/applicable" for every component element. */
function tally(standard: StandardCompleteness): Record<string, string> {
  return Object.fromEntries(
    standard.components.map((result) => [result.element, `${result.satisfied}/${result.applicable}`]),
  );
}

/** The hand-made CycloneDX 1.6 document, its two libraries given SHA-512 digests. */
function completeCycloneDx(): Json {
  const document = infusionPumpCycloneDx('1.6');
  const rtos = (document.components as Json[])[0] as Json;
  const tls = (rtos.components as Json[])[0] as Json;
  const zlib = (document.components as Json[])[1] as Json;
  tls.hashes = [...(tls.hashes as Json[]), { alg: 'SHA-512', content: '1'.repeat(128) }];
  zlib.hashes = [{ alg: 'SHA-512', content: '2'.repeat(128) }];
  return document;
}

describe('completenessReport: NTIA minimum elements', () => {
  it('finds a CycloneDX 1.6 document with suppliers, versions, purls and a full graph complete', () => {
    const report = completenessReport(parseSbom(jsonBytes(infusionPumpCycloneDx('1.6'))));
    assert.equal(report.componentCount, 4);
    assert.equal(report.ntia.complete, true);
    assert.deepEqual(
      report.ntia.document.map((result) => [result.element, result.satisfied]),
      [
        ['author', true],
        ['timestamp', true],
        ['top-level-dependencies', true],
      ],
    );
    assert.deepEqual(tally(report.ntia), {
      'supplier-name': '4/4',
      'component-name': '4/4',
      version: '4/4',
      'unique-identifier': '4/4',
      'dependency-relationship': '4/4',
    });
  });

  it('lists the packages of an SPDX document that name no supplier or originator', () => {
    const report = completenessReport(parseSbom(jsonBytes(infusionPumpSpdx())));
    assert.equal(report.componentCount, 3);
    assert.equal(report.ntia.complete, false);
    const supplier = componentElement(report.ntia, 'supplier-name');
    assert.equal(supplier.satisfied, 2);
    assert.deepEqual(supplier.missing, ['SPDXRef-Package-mbedtls']);
    assert.equal(componentElement(report.ntia, 'dependency-relationship').satisfied, 3);
  });

  it('finds juice-shop without suppliers and without any dependency relationship', () => {
    const report = completenessReport(parseSbom(readRealSbom('juice-shop-11.1.2.cdx.json')));
    assert.equal(report.componentCount, 841);
    assert.equal(report.ntia.complete, false);
    assert.equal(documentElementSatisfied(report.ntia, 'top-level-dependencies'), false);
    assert.deepEqual(tally(report.ntia), {
      'supplier-name': '0/841',
      'component-name': '841/841',
      version: '841/841',
      'unique-identifier': '841/841',
      'dependency-relationship': '0/841',
    });
    const missing = componentElement(report.ntia, 'dependency-relationship');
    assert.equal(missing.missing.length, 100);
    assert.equal(missing.missingOmitted, 741);
    assert.equal(missing.missing[0], 'pkg:npm/juice-shop@11.1.2');
  });

  it("finds laravel's graph complete but its timestamp missing", () => {
    const report = completenessReport(parseSbom(readRealSbom('laravel-7.12.0.cdx.json')));
    assert.equal(documentElementSatisfied(report.ntia, 'timestamp'), false);
    assert.equal(documentElementSatisfied(report.ntia, 'top-level-dependencies'), true);
    assert.equal(componentElement(report.ntia, 'dependency-relationship').satisfied, 63);
    assert.deepEqual(
      report.ntia.document.find((result) => result.element === 'timestamp')?.detail,
      'the SBOM carries no timestamp',
    );
  });

  it('finds no top-level dependencies when the SBOM describes no component', () => {
    const document = infusionPumpCycloneDx('1.6');
    delete (document.metadata as Json).component;
    const report = completenessReport(parseSbom(jsonBytes(document)));
    assert.equal(report.componentCount, 3);
    assert.equal(documentElementSatisfied(report.ntia, 'top-level-dependencies'), false);
    assert.equal(report.ntia.complete, false);
  });
});

describe('completenessReport: BSI TR-03183-2', () => {
  it('asks for a SHA-512 digest of every deployed component', () => {
    const report = completenessReport(parseSbom(jsonBytes(infusionPumpCycloneDx('1.6'))));
    assert.equal(report.bsiTr03183.complete, false);
    assert.deepEqual(
      report.bsiTr03183.document.map((result) => [result.element, result.satisfied, result.required]),
      [
        ['format', true, true],
        ['creator', true, true],
        ['timestamp', true, true],
        ['sbom-uri', true, false],
      ],
    );
    assert.deepEqual(tally(report.bsiTr03183), {
      'component-creator': '4/4',
      'component-name': '4/4',
      'component-version': '4/4',
      dependencies: '4/4',
      licences: '4/4',
      'hash-sha-512': '2/4',
      'hash-sha-256': '2/4',
      'unique-identifier': '4/4',
    });
    assert.deepEqual(componentElement(report.bsiTr03183, 'hash-sha-512').missing, ['mbedtls', 'zlib']);
    assert.deepEqual(
      report.bsiTr03183.notEvaluated.map((entry) => entry.element),
      ['filename', 'executable-archive-structured'],
    );
  });

  it('finds the document complete once every deployed component has a SHA-512 digest', () => {
    const report = completenessReport(parseSbom(jsonBytes(completeCycloneDx())));
    assert.equal(report.bsiTr03183.complete, true);
    assert.equal(report.ntia.complete, true);
  });

  it('does not ask for digests of components scoped excluded', () => {
    const document = infusionPumpCycloneDx('1.6');
    const rtos = (document.components as Json[])[0] as Json;
    const tls = (rtos.components as Json[])[0] as Json;
    tls.hashes = [...(tls.hashes as Json[]), { alg: 'SHA-512', content: '1'.repeat(128) }];
    ((document.components as Json[])[1] as Json).scope = 'excluded';
    const report = completenessReport(parseSbom(jsonBytes(document)));
    assert.equal(componentElement(report.bsiTr03183, 'hash-sha-512').applicable, 3);
    assert.equal(report.bsiTr03183.complete, true);
  });

  it('refuses CycloneDX before 1.5 as a format (§4), however complete the content', () => {
    const document = infusionPumpCycloneDx('1.4');
    const rtos = (document.components as Json[])[0] as Json;
    const tls = (rtos.components as Json[])[0] as Json;
    const zlib = (document.components as Json[])[1] as Json;
    tls.hashes = [...(tls.hashes as Json[]), { alg: 'SHA-512', content: '1'.repeat(128) }];
    zlib.hashes = [{ alg: 'SHA-512', content: '2'.repeat(128) }];
    zlib.supplier = { name: 'zlib', url: ['https://zlib.net/'] };
    const report = completenessReport(parseSbom(jsonBytes(document)));
    assert.equal(documentElementSatisfied(report.bsiTr03183, 'format'), false);
    assert.ok(
      report.bsiTr03183.components.every(
        (result) => !result.required || result.satisfied === result.applicable,
      ),
    );
    assert.equal(report.bsiTr03183.complete, false);
    assert.equal(report.ntia.complete, true);
  });

  it('wants an e-mail address or URL for the SBOM creator and each component creator, not just a name', () => {
    const document = infusionPumpSpdx();
    (document.creationInfo as Json).creators = ['Organization: Vigil Medical GmbH', 'Tool: syft-1.18.1'];
    const report = completenessReport(parseSbom(jsonBytes(document)));
    assert.equal(documentElementSatisfied(report.bsiTr03183, 'creator'), false);
    assert.equal(documentElementSatisfied(report.ntia, 'author'), true);
    const creator = componentElement(report.bsiTr03183, 'component-creator');
    assert.deepEqual(creator.missing, ['SPDXRef-Package-mbedtls']);
    assert.equal(creator.satisfied, 2);
  });

  it("counts proton-bridge's SHA-256 digests but finds no SHA-512", () => {
    const report = completenessReport(parseSbom(readRealSbom('proton-bridge-1.6.3.cdx.json')));
    assert.equal(componentElement(report.bsiTr03183, 'hash-sha-512').satisfied, 0);
    const sha256 = componentElement(report.bsiTr03183, 'hash-sha-256');
    assert.equal(`${sha256.satisfied}/${sha256.applicable}`, '201/202');
    assert.deepEqual(sha256.missing, ['pkg:golang/github.com/ProtonMail/proton-bridge@v1.6.3']);
    assert.equal(componentElement(report.bsiTr03183, 'dependencies').satisfied, 202);
  });
});

describe('completenessReport: shape', () => {
  it('is plain JSON', () => {
    for (const sbom of [
      parseSbom(readRealSbom('dropwizard-1.3.15.cdx.json')),
      parseSbom(jsonBytes(infusionPumpSpdx())),
    ]) {
      const report = completenessReport(sbom);
      assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
    }
  });

  it('lists at most 100 components missing an element and counts the rest', () => {
    const document = generatedCycloneDx(150);
    for (const component of document.components as Json[]) delete component.supplier;
    const supplier = componentElement(
      completenessReport(parseSbom(jsonBytes(document))).ntia,
      'supplier-name',
    );
    assert.equal(supplier.satisfied, 0);
    assert.equal(supplier.missing.length, 100);
    assert.equal(supplier.missingOmitted, 50);
  });
});
