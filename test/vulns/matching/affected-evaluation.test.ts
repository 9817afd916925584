import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AffectedPackage, RangeEvent, RangeType } from '../../../src/vulns/advisories/index.ts';
import { isAffected, type AffectedEvaluation } from '../../../src/vulns/matching/index.ts';
import { versionSchemes } from '../../../src/vulns/versions/index.ts';

type EventSpec = Partial<Record<RangeEvent['kind'], string>>;

function affected(
  events: EventSpec[],
  options: {
    ecosystem?: string;
    type?: RangeType;
    versions?: string[];
    extraRanges?: AffectedPackage['ranges'];
  } = {},
): AffectedPackage {
  return {
    ecosystem: options.ecosystem ?? 'npm',
    name: 'example',
    ranges: [
      {
        type: options.type ?? 'SEMVER',
        events: events.map((event) => {
          const [kind, version] = Object.entries(event)[0] as [RangeEvent['kind'], string];
          return { kind, version };
        }),
      },
      ...(options.extraRanges ?? []),
    ],
    versions: options.versions ?? [],
    versRanges: [],
    severity: [],
  };
}

function verdicts(entry: AffectedPackage, versions: string[]): Record<string, boolean | 'unevaluated'> {
  return Object.fromEntries(
    versions.map((version) => {
      const evaluation = isAffected(entry, version);
      return [version, evaluation.evaluated ? evaluation.affected : 'unevaluated'];
    }),
  );
}

test('introduced "0" sorts before every version, pre-releases of 0.0.0 included', () => {
  const entry = affected([{ introduced: '0' }]);
  assert.deepEqual(verdicts(entry, ['0.0.0-alpha', '0.0.0', '1.0.0', '99.0.0']), {
    '0.0.0-alpha': true,
    '0.0.0': true,
    '1.0.0': true,
    '99.0.0': true,
  });
});

test('fixed is exclusive: the fixed version and later are not affected, its pre-releases are', () => {
  const entry = affected([{ introduced: '0' }, { fixed: '1.0.2' }]);
  assert.deepEqual(verdicts(entry, ['0.1.0', '1.0.1', '1.0.2-rc.1', '1.0.2', '1.0.3']), {
    '0.1.0': true,
    '1.0.1': true,
    '1.0.2-rc.1': true,
    '1.0.2': false,
    '1.0.3': false,
  });
});

test('last_affected is inclusive', () => {
  const entry = affected([{ introduced: '1.0.0' }, { last_affected: '1.2.0' }]);
  assert.deepEqual(verdicts(entry, ['0.9.0', '1.0.0', '1.2.0', '1.2.1']), {
    '0.9.0': false,
    '1.0.0': true,
    '1.2.0': true,
    '1.2.1': false,
  });
  // Bitnami writes single affected versions this way (BIT-activemq-2020-11998: introduced = last_affected = 5.15.12).
  const single = affected([{ introduced: '5.15.12' }, { last_affected: '5.15.12' }], {
    ecosystem: 'Bitnami',
  });
  assert.deepEqual(verdicts(single, ['5.15.11', '5.15.12', '5.15.13']), {
    '5.15.11': false,
    '5.15.12': true,
    '5.15.13': false,
  });
});

test('limit bounds the range from above (BeforeLimits); "*" is infinity; any one limit suffices', () => {
  const limited = affected([{ introduced: '1.0.0' }, { limit: '1.5.0' }]);
  assert.deepEqual(verdicts(limited, ['0.9.0', '1.0.0', '1.4.9', '1.5.0', '2.0.0']), {
    '0.9.0': false,
    '1.0.0': true,
    '1.4.9': true,
    '1.5.0': false,
    '2.0.0': false,
  });
  const infinite = affected([{ introduced: '1.0.0' }, { limit: '*' }]);
  assert.deepEqual(verdicts(infinite, ['2.0.0']), { '2.0.0': true });
  const two = affected([{ introduced: '0' }, { fixed: '1.2.0' }, { limit: '1.0.0' }, { limit: '3.0.0' }]);
  assert.deepEqual(verdicts(two, ['1.1.0', '1.3.0', '2.0.0']), {
    '1.1.0': true,
    '1.3.0': false,
    '2.0.0': false,
  });
  assert.equal(
    (isAffected(limited, '1.2.0') as { matchedBy: string }).matchedBy,
    'SEMVER >=1.0.0 (limit <1.5.0)',
  );
});

test('several introduced/fixed pairs: [1.0.0, 1.0.2) and [3.0.0, 3.2.5) (OSV schema "Multiple range example")', () => {
  const entry = affected([
    { introduced: '1.0.0' },
    { fixed: '1.0.2' },
    { introduced: '3.0.0' },
    { fixed: '3.2.5' },
  ]);
  assert.deepEqual(
    verdicts(entry, ['0.9.0', '1.0.0', '1.0.1', '1.0.2', '2.0.0', '3.0.0', '3.2.4', '3.2.5', '4.0.0']),
    {
      '0.9.0': false,
      '1.0.0': true,
      '1.0.1': true,
      '1.0.2': false,
      '2.0.0': false,
      '3.0.0': true,
      '3.2.4': true,
      '3.2.5': false,
      '4.0.0': false,
    },
  );
  assert.equal((isAffected(entry, '3.1.0') as { matchedBy: string }).matchedBy, 'SEMVER >=3.0.0 <3.2.5');
});

test('events are sorted by the range order, not as written and not as strings', () => {
  const shuffled = affected([
    { fixed: '3.2.5' },
    { introduced: '1.0.0' },
    { fixed: '1.0.2' },
    { introduced: '3.0.0' },
  ]);
  const sorted = affected([
    { introduced: '1.0.0' },
    { fixed: '1.0.2' },
    { introduced: '3.0.0' },
    { fixed: '3.2.5' },
  ]);
  for (const version of ['0.9.0', '1.0.1', '2.0.0', '3.2.4', '3.2.5']) {
    assert.deepEqual(isAffected(shuffled, version), isAffected(sorted, version), version);
  }
  // As strings "1.10.0" < "1.9.0"; as versions it is the other way round.
  const numeric = affected([{ fixed: '1.10.0' }, { introduced: '1.9.0' }]);
  assert.deepEqual(verdicts(numeric, ['1.8.0', '1.9.5', '1.10.0']), {
    '1.8.0': false,
    '1.9.5': true,
    '1.10.0': false,
  });
});

test('a version listed in `versions` is affected, by string or by equality in the ecosystem order', () => {
  const listed: AffectedPackage = {
    ecosystem: 'Go',
    name: 'example.com/m',
    ranges: [],
    versions: ['1.2.3', '2.0.0'],
    versRanges: [],
    severity: [],
  };
  assert.deepEqual(verdicts(listed, ['1.2.3', 'v1.2.3', '1.2.4', 'v2.0.0+incompatible']), {
    '1.2.3': true,
    'v1.2.3': true,
    '1.2.4': false,
    'v2.0.0+incompatible': true,
  });
  assert.equal((isAffected(listed, 'v1.2.3') as { matchedBy: string }).matchedBy, 'versions lists 1.2.3');
  // A version in the list is affected even outside every range ("affected if in any range or in versions").
  const both = affected([{ introduced: '5.0.0' }], { versions: ['1.0.0'] });
  assert.deepEqual(verdicts(both, ['1.0.0', '4.0.0', '5.0.0']), {
    '1.0.0': true,
    '4.0.0': false,
    '5.0.0': true,
  });
});

test('SEMVER ranges use SemVer even in an ecosystem with another order; ECOSYSTEM ranges use the ecosystem', () => {
  const semverInPyPI = affected([{ introduced: '0' }, { fixed: '2.0.0' }], {
    ecosystem: 'PyPI',
    type: 'SEMVER',
  });
  const ecosystemInPyPI = affected([{ introduced: '0' }, { fixed: '2.0.0' }], {
    ecosystem: 'PyPI',
    type: 'ECOSYSTEM',
  });
  // "2.0.0rc1" is a PEP 440 pre-release of 2.0.0 but no SemVer version at all.
  assert.deepEqual(verdicts(semverInPyPI, ['2.0.0rc1', '2.0.0-rc.1', '1.9.0']), {
    '2.0.0rc1': 'unevaluated',
    '2.0.0-rc.1': true,
    '1.9.0': true,
  });
  assert.deepEqual(verdicts(ecosystemInPyPI, ['2.0.0rc1', '2.0.0.post1', '1.9.0']), {
    '2.0.0rc1': true,
    '2.0.0.post1': false,
    '1.9.0': true,
  });
  // Maven orders "1.0-SNAPSHOT" < "1.0" < "1.0-sp1"; the ECOSYSTEM range follows it.
  const maven = affected([{ introduced: '0' }, { fixed: '1.0' }], { ecosystem: 'Maven', type: 'ECOSYSTEM' });
  assert.deepEqual(verdicts(maven, ['1.0-SNAPSHOT', '1.0', '1.0-sp1']), {
    '1.0-SNAPSHOT': true,
    '1.0': false,
    '1.0-sp1': false,
  });
  // Debian epochs: 1:0.9 is newer than 2.0.
  const debian = affected([{ introduced: '0' }, { fixed: '1:1.0-1' }], {
    ecosystem: 'Debian:12',
    type: 'ECOSYSTEM',
  });
  assert.deepEqual(verdicts(debian, ['2.0-1', '1:0.9-1', '1:1.0-1']), {
    '2.0-1': true,
    '1:0.9-1': true,
    '1:1.0-1': false,
  });
});

test('GIT ranges cannot be evaluated against a version: no match, reported as unevaluated unless versions decide', () => {
  const git: AffectedPackage = {
    ranges: [
      {
        type: 'GIT',
        repo: 'https://github.com/madler/zlib',
        events: [
          { kind: 'introduced', version: '0' },
          { kind: 'fixed', version: 'a'.repeat(40) },
        ],
      },
    ],
    versions: [],
    versRanges: [],
    severity: [],
  };
  const evaluation = isAffected(git, '1.2.11');
  assert.equal(evaluation.affected, false);
  assert.equal(evaluation.evaluated, false);
  assert.match((evaluation as { reason: string }).reason, /GIT ranges name commits/);
  const withVersions = { ...git, ecosystem: 'OSS-Fuzz', versions: ['v1.2.11'] };
  assert.deepEqual(verdicts(withVersions, ['v1.2.11', 'v1.2.12']), { 'v1.2.11': true, 'v1.2.12': false });
});

test('a version the order cannot read is unevaluated, never affected and never a crash', () => {
  const entry = affected([{ introduced: '0' }]);
  for (const version of ['', 'latest', 'not a version', 'v'.repeat(300), '1.0.0\n']) {
    const evaluation = isAffected(entry, version);
    assert.equal(evaluation.affected, false, version);
    assert.equal(evaluation.evaluated, false, version);
  }
});

test('an advisory whose own versions its order cannot read is unevaluated, with the reason', () => {
  const broken = affected([{ introduced: '0' }, { fixed: 'one.two' }]);
  const evaluation = isAffected(broken, '1.0.0') as Extract<AffectedEvaluation, { evaluated: false }>;
  assert.equal(evaluation.evaluated, false);
  assert.match(evaluation.reason, /fixed version "one.two" is not a valid semver version/);
  // Another range of the same package still matches.
  const mixed = affected([{ introduced: '0' }, { fixed: 'one.two' }], {
    extraRanges: [{ type: 'SEMVER', events: [{ kind: 'introduced', version: '0.5.0' }] }],
  });
  assert.equal(isAffected(mixed, '1.0.0').affected, true);
  const empty: AffectedPackage = {
    ecosystem: 'npm',
    name: 'x',
    ranges: [],
    versions: [],
    versRanges: [],
    severity: [],
  };
  assert.equal(isAffected(empty, '1.0.0').evaluated, false);
});

test('vers ranges (CSAF product_version_range) are evaluated with versContains', () => {
  const entry: AffectedPackage = {
    purl: { type: 'generic', name: 'abc' },
    ranges: [],
    versions: [],
    versRanges: ['vers:generic/>=2.9|<=4.1'],
    severity: [],
  };
  assert.deepEqual(verdicts(entry, ['2.8', '2.9', '4.1', '4.2']), {
    '2.8': false,
    '2.9': true,
    '4.1': true,
    '4.2': false,
  });
});

/** The OSV schema §Evaluation pseudocode, transcribed without any shortcut: the reference for the property below. */
function referenceIsVulnerable(
  events: { kind: RangeEvent['kind']; version: string }[],
  version: string,
): boolean {
  const scheme = versionSchemes.semver;
  const compare = (a: string, b: string): number =>
    a === '0' ? (b === '0' ? 0 : -1) : b === '0' ? 1 : scheme.compare(a, b);
  const limits = events.filter((event) => event.kind === 'limit');
  const beforeLimits =
    limits.length === 0 ||
    limits.some((event) => event.version.includes('*') || scheme.compare(version, event.version) < 0);
  if (!beforeLimits) return false;
  let vulnerable = false;
  const sorted = events
    .map((event, index) => ({ event, index }))
    .sort((a, b) => compare(a.event.version, b.event.version) || a.index - b.index)
    .map(({ event }) => event);
  for (const event of sorted) {
    if (event.kind === 'introduced' && (event.version === '0' || scheme.compare(version, event.version) >= 0))
      vulnerable = true;
    else if (event.kind === 'fixed' && scheme.compare(version, event.version) >= 0) vulnerable = false;
    else if (event.kind === 'last_affected' && scheme.compare(version, event.version) > 0) vulnerable = false;
  }
  return vulnerable;
}

test('agrees with a literal transcription of the OSV pseudocode on random ranges and versions', () => {
  const versionArbitrary = fc
    .tuple(
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 3 }),
      fc.constantFrom('', '-rc.1', '-alpha'),
    )
    .map(([major, minor, pre]) => `${major}.${minor}.0${pre}`);
  const eventArbitrary = fc.oneof(
    fc.record({
      kind: fc.constant<'introduced'>('introduced'),
      version: fc.oneof(fc.constant('0'), versionArbitrary),
    }),
    fc.record({
      kind: fc.constantFrom<'fixed' | 'last_affected' | 'limit'>('fixed', 'last_affected', 'limit'),
      version: versionArbitrary,
    }),
  );
  fc.assert(
    fc.property(
      fc.array(eventArbitrary, { minLength: 1, maxLength: 8 }),
      versionArbitrary,
      (events, version) => {
        const withIntroduced = events.some((event) => event.kind === 'introduced')
          ? events
          : [{ kind: 'introduced' as const, version: '0' }, ...events];
        const entry: AffectedPackage = {
          ecosystem: 'npm',
          name: 'x',
          ranges: [{ type: 'SEMVER', events: withIntroduced }],
          versions: [],
          versRanges: [],
          severity: [],
        };
        const evaluation = isAffected(entry, version);
        assert.equal(evaluation.evaluated, true);
        assert.equal(evaluation.affected, referenceIsVulnerable(withIntroduced, version));
      },
    ),
    { numRuns: 3000 },
  );
});

test('prepared comparison agrees with string comparison on the Go database versions (vulns/versions prepare)', () => {
  const versions = [
    '0.0.0-20190125091013-d26f9f9a57f3',
    '0.0.0-20200707034311-ab3426394381',
    '0.1.1-0.20221104162952-702349b0e862',
    '0.4.0',
    '1.3.1-0.20190301021747-ccb9e902956d',
    '1.6.0',
    '12.2.0-alpha8',
    'v2.0.0+incompatible',
  ];
  const go = versionSchemes.go;
  for (const a of versions)
    for (const b of versions)
      assert.equal(go.comparePrepared(go.prepare(a), go.prepare(b)), go.compare(a, b), `${a} ${b}`);
  assert.throws(
    () => go.comparePrepared(go.prepare('1.0.0'), versionSchemes.npm.prepare('1.0.0')),
    TypeError,
  );
});
