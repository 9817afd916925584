import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readPackageUrl } from '../../../src/vulns/sbom/package-url.ts';

describe('readPackageUrl', () => {
  it('returns the canonical form and the parts', () => {
    assert.deepEqual(readPackageUrl('pkg:maven/io.dropwizard/dropwizard-core@1.3.15?type=jar'), {
      valid: true,
      purl: {
        canonical: 'pkg:maven/io.dropwizard/dropwizard-core@1.3.15?type=jar',
        type: 'maven',
        namespace: 'io.dropwizard',
        name: 'dropwizard-core',
        version: '1.3.15',
        qualifiers: { type: 'jar' },
      },
    });
  });

  it("normalises what the purl type says to normalise (npm scope '@', PyPI names, GitHub case)", () => {
    const canonical = (text: string): string | undefined => {
      const reading = readPackageUrl(text);
      return reading.valid ? reading.purl.canonical : undefined;
    };
    assert.equal(canonical('pkg:npm/@angular/core@17.0.0'), 'pkg:npm/%40angular/core@17.0.0');
    assert.equal(canonical('pkg:PyPI/Django_REST@3.0'), 'pkg:pypi/django-rest@3.0');
    assert.equal(canonical('pkg:github/Mbed-TLS/mbedtls@v3.6.0'), 'pkg:github/mbed-tls/mbedtls@v3.6.0');
    assert.equal(
      canonical('pkg:golang/github.com/ProtonMail/go-crypto@v0.1.0#openpgp'),
      'pkg:golang/github.com/ProtonMail/go-crypto@v0.1.0#openpgp',
    );
  });

  it('hands back qualifiers as a plain object', () => {
    const reading = readPackageUrl('pkg:deb/debian/openssl@3.0.11-1?arch=arm64&distro=bookworm');
    assert.ok(reading.valid);
    assert.equal(Object.getPrototypeOf(reading.purl.qualifiers), Object.prototype);
    assert.deepEqual(reading.purl.qualifiers, { arch: 'arm64', distro: 'bookworm' });
  });

  it('says what is wrong with text that is not a valid purl', () => {
    for (const [text, problem] of [
      ['zlib@1.3.1', /scheme/],
      ['pkg:npm/', /name/],
      ['pkg:maven/zlib@1.3.1', /namespace/],
    ] as const) {
      const reading = readPackageUrl(text);
      assert.equal(reading.valid, false);
      assert.match(reading.valid ? '' : reading.problem, problem);
    }
  });
});
