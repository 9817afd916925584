import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCpe, isSpecificCpeValue, parseCpe } from '../../../src/vulns/advisories/index.ts';

test('reads a CPE 2.3 formatted string (NISTIR 7695 §6.2), quoted characters unquoted', () => {
  assert.deepEqual(parseCpe('cpe:2.3:a:apache:activemq:5.15.12:*:*:*:*:*:*:*'), {
    part: 'a',
    vendor: 'apache',
    product: 'activemq',
    version: '5.15.12',
    update: '*',
    edition: '*',
    language: '*',
    swEdition: '*',
    targetSw: '*',
    targetHw: '*',
    other: '*',
  });
  const quoted = parseCpe('cpe:2.3:a:example:big\\:app:1.0\\+build:-:*:*:*:*:*:*');
  assert.equal(quoted?.product, 'big:app');
  assert.equal(quoted?.version, '1.0+build');
  assert.equal(quoted?.update, '-');
});

test('reads CPE 2.2 URIs (§6.1) as the CSAF examples write them, packed editions included', () => {
  const openshift = parseCpe('cpe:/a:redhat:openshift:4.6::el8');
  assert.equal(openshift?.vendor, 'redhat');
  assert.equal(openshift?.version, '4.6');
  assert.equal(openshift?.update, '*');
  assert.equal(openshift?.edition, 'el8');
  const rhel = parseCpe('cpe:/o:redhat:rhel_aus:7.6::server');
  assert.equal(formatCpe(rhel!), 'cpe:2.3:o:redhat:rhel_aus:7.6:*:server:*:*:*:*:*');
  const packed = parseCpe('cpe:/a:vendor:product:1.0:sp1:~~pro~android~arm~x:en');
  assert.deepEqual(
    packed && [
      packed.edition,
      packed.swEdition,
      packed.targetSw,
      packed.targetHw,
      packed.other,
      packed.language,
    ],
    ['*', 'pro', 'android', 'arm', 'x', 'en'],
  );
  assert.equal(parseCpe('cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-rc1')?.version, '1.0.0-rc1');
  assert.equal(parseCpe('cpe:/a:vendor:pro%21duct')?.product, 'pro!duct');
});

test('both bindings of one name format to the same 2.3 string', () => {
  const fromUri = parseCpe('cpe:/a:Apache:ActiveMQ:5.15.12');
  const fromString = parseCpe('cpe:2.3:a:apache:activemq:5.15.12:*:*:*:*:*:*:*');
  assert.equal(formatCpe(fromUri!), formatCpe(fromString!));
  assert.equal(
    formatCpe(parseCpe('cpe:2.3:a:example:big\\:app:1.0:*:*:*:*:*:*:*')!),
    'cpe:2.3:a:example:big\\:app:1.0:*:*:*:*:*:*:*',
  );
});

test('answers undefined for what is no CPE, never throws', () => {
  for (const text of [
    'cpe:2.3:a:apache:activemq', // too few attributes
    'cpe:2.3:a:apache:activemq:5:*:*:*:*:*:*:*:extra',
    'cpe:2.3:x:apache:activemq:5:*:*:*:*:*:*:*', // no such part
    'cpe:2.3:a:apache:activemq:5:*:*:*:*:*:*:\\',
    'cpe:/a:v:p:1:2:3:4:5',
    'cpe:/a:v:%zz',
    'pkg:npm/left-pad',
    `cpe:2.3:a:${'v'.repeat(2000)}:p:1:*:*:*:*:*:*:*`,
    'cpe:2.3:a:vendor:prod uct:1:*:*:*:*:*:*:*',
  ]) {
    assert.equal(parseCpe(text), undefined, text);
  }
});

test('ANY and NA say nothing specific', () => {
  assert.deepEqual(['*', '-', '', '1.0'].map(isSpecificCpeValue), [false, false, false, true]);
});
