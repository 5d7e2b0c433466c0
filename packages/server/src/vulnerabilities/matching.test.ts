import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { intervalsFromVers } from './feeds/csaf.js';
import { parseFeedDocument } from './feeds/detect.js';
import { FeedFormatError } from './feeds/record.js';
import { cpeComponentKey, ecosystemPackage, parseCpe, purlKeys, sameDistro } from './identifiers.js';
import { intervalsFromEvents, isAffected } from './ranges.js';

describe('keys that bring components and records together', () => {
  it('normalises purls the way each ecosystem compares names', () => {
    assert.equal(purlKeys('pkg:pypi/Django_REST.framework@3.0')[0]?.key, 'pkg:pypi/django-rest-framework');
    assert.equal(purlKeys('pkg:npm/%40babel/core@7.0.0')[0]?.key, 'pkg:npm/@babel/core');
    assert.equal(purlKeys('pkg:golang/golang.org/x/net@v0.16.0')[0]?.version, '0.16.0');
    assert.deepEqual(purlKeys('pkg:npm/lodash'), [], 'no version, nothing to compare');
    assert.deepEqual(purlKeys('not a purl'), []);
    const libssl = purlKeys(
      'pkg:deb/debian/libssl3@3.0.19-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl',
    );
    assert.deepEqual(
      libssl.map((k) => k.key),
      ['pkg:deb/debian/libssl3', 'pkg:deb/debian/openssl'],
    );
    assert.equal(libssl[0]?.distro, '12');
  });

  it('maps OSV ecosystems onto the same keys', () => {
    assert.equal(
      ecosystemPackage('Maven', 'org.apache.jena:apache-jena')?.key,
      'pkg:maven/org.apache.jena/apache-jena',
    );
    assert.equal(ecosystemPackage('Go', 'golang.org/x/net')?.key, 'pkg:golang/golang.org/x/net');
    assert.equal(ecosystemPackage('Ubuntu:22.04:LTS', 'openssl')?.distro, '22.04');
    assert.equal(ecosystemPackage('Debian:12', 'curl')?.key, 'pkg:deb/debian/curl');
    assert.equal(ecosystemPackage('SomethingNew', 'x'), null);
  });

  it('keeps distribution releases apart but accepts point releases', () => {
    assert.ok(sameDistro('3.18', '3.18.4'));
    assert.ok(!sameDistro('22.04', '18.04'));
    assert.ok(sameDistro(null, '12'));
    assert.equal(purlKeys('pkg:deb/ubuntu/openssl@1.1.1?distro=jammy')[0]?.distro, '22.04');
  });

  it('reads CPE 2.3 with escapes and CPE 2.2 URIs', () => {
    assert.deepEqual(parseCpe('cpe:2.3:a:haxx:libcurl:7.88.1:*:*:*:*:*:*:*'), {
      part: 'a',
      vendor: 'haxx',
      product: 'libcurl',
      version: '7.88.1',
      update: '*',
    });
    assert.equal(parseCpe('cpe:2.3:a:foo\\:bar:baz:1.0:*:*:*:*:*:*:*')?.vendor, 'foo:bar');
    assert.equal(parseCpe('cpe:/a:openssl:openssl:1.0.2')?.version, '1.0.2');
    assert.equal(parseCpe('cpe:2.3:x:a:b:1'), null);
    assert.equal(parseCpe('cpe:2.3:a:*:*:*'), null);
    assert.equal(cpeComponentKey('cpe:2.3:a:openssl:openssl:1.1.1:t:*:*:*:*:*:*')?.version, '1.1.1t');
    assert.equal(cpeComponentKey('cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*'), null, 'no version, no match');
  });
});

describe('affected ranges', () => {
  it('walks OSV events in version order, whatever order they come in', () => {
    const intervals = intervalsFromEvents(
      [{ fixed: '1.2.3' }, { introduced: '1.0.0' }, { fixed: '0.2.1' }, { introduced: '0' }],
      'semver',
    );
    assert.deepEqual(intervals, [
      { end: '0.2.1', endInclusive: false },
      { start: '1.0.0', startInclusive: true, end: '1.2.3', endInclusive: false },
    ]);
    assert.ok(isAffected({ scheme: 'semver', intervals, versions: [] }, '0.2.0'));
    assert.ok(!isAffected({ scheme: 'semver', intervals, versions: [] }, '0.2.3'));
    assert.ok(isAffected({ scheme: 'semver', intervals, versions: [] }, '1.2.2'));
    assert.ok(!isAffected({ scheme: 'semver', intervals, versions: [] }, '1.2.3'));
    const last = intervalsFromEvents([{ introduced: '0' }, { last_affected: '4.5.1' }], 'semver');
    assert.ok(isAffected({ scheme: 'semver', intervals: last, versions: [] }, '4.5.1'));
    assert.ok(!isAffected({ scheme: 'semver', intervals: last, versions: [] }, '4.5.2'));
    const open = intervalsFromEvents([{ introduced: '2.0.0' }], 'semver');
    assert.ok(isAffected({ scheme: 'semver', intervals: open, versions: [] }, '99.0.0'));
  });

  it('reads vers ranges from CSAF product_version_range', () => {
    const intervals = intervalsFromVers('vers:generic/>=1.0.0|<1.2.3|>=2.0|<=2.1');
    assert.ok(isAffected({ scheme: 'generic', intervals, versions: [] }, '2.1'));
    assert.ok(!isAffected({ scheme: 'generic', intervals, versions: [] }, '1.5'));
    assert.ok(
      isAffected({ scheme: 'generic', intervals: intervalsFromVers('vers:generic/*'), versions: [] }, '7'),
    );
  });
});

describe('hostile feed documents get a clear error', () => {
  for (const [what, doc] of [
    ['an array', []],
    ['a string', 'CVE'],
    ['null', null],
    ['an OSV record without modified', { id: 'GHSA-x', affected: [] }],
    [
      'an OSV record whose affected is not a list',
      { id: 'GHSA-x', modified: '2024-01-01T00:00:00Z', affected: 'lodash' },
    ],
    ['an NVD record with a bad id', { id: 'CVE-1', descriptions: [], configurations: [] }],
    ['CSAF 2.1', { document: { csaf_version: '2.1', tracking: { id: 'x' } } }],
    ['an unknown shape', { hello: 'world' }],
  ] as const) {
    it(what, () => assert.throws(() => parseFeedDocument(doc), FeedFormatError));
  }

  it('skips what it cannot use inside an otherwise good record', () => {
    const parsed = parseFeedDocument({
      id: 'GHSA-test',
      modified: '2024-01-01T00:00:00Z',
      affected: [
        null,
        { package: { ecosystem: 'Unheard', name: 'x' } },
        {
          package: { ecosystem: 'npm', name: 'ok' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }],
        },
      ],
      summary: 'x'.repeat(50_000),
    });
    assert.equal(parsed.kind, 'records');
    if (parsed.kind !== 'records') return;
    assert.equal(parsed.records[0]?.affected.length, 1);
    assert.equal(parsed.skipped.length, 2);
    assert.ok((parsed.records[0]?.summary.length ?? 0) <= 1000, 'capped');
  });
});
