import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseNvd } from './feeds/nvd.js';
import { parseOsv } from './feeds/osv.js';
import { cpeComponentKey, ecosystemPackage, packageKey, purlKeys } from './identifiers.js';
import { isAffected } from './ranges.js';
import { cveOf, groupsOf } from './records.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, '../../../../test/data');
const read = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(data, path), 'utf8')) as Record<string, unknown>;

/** The key of a component, as the SBOM import makes it. */
const keyOf = (purl: string, version?: string): string | undefined => purlKeys(purl, version)[0]?.key;

describe('a purl without a version', () => {
  it('is matched with the component version field', () => {
    const [key] = purlKeys('pkg:npm/lodash', '2.4.2');
    assert.deepEqual(key, { key: 'pkg:npm/lodash', version: '2.4.2', scheme: 'semver', distro: null });
    const lodash = parseOsv(read('osv/GHSA-p6mc-m468-83gw.json')).record.affected.find(
      (a) => a.key === 'pkg:npm/lodash',
    );
    assert.ok(lodash && isAffected(lodash, key?.version ?? ''), '2.4.2 is inside <4.17.20');
  });

  it('keeps the purl version when both are given, and gives no key when neither is', () => {
    assert.equal(purlKeys('pkg:npm/lodash@4.17.21', '2.4.2')[0]?.version, '4.17.21');
    assert.deepEqual(purlKeys('pkg:npm/lodash'), []);
    assert.deepEqual(purlKeys('pkg:npm/lodash', '  '), []);
    assert.equal(purlKeys('pkg:golang/golang.org/x/net', 'v0.16.0')[0]?.version, '0.16.0');
  });
});

describe('purl names compare by their type definition (package-url/purl-spec types/)', () => {
  const same = (a: string, b: string): void => assert.equal(keyOf(a), keyOf(b), `${a} = ${b}`);
  const different = (a: string, b: string): void => assert.notEqual(keyOf(a), keyOf(b), `${a} != ${b}`);

  it('npm: scope and name lowercased', () => {
    same('pkg:npm/%40Babel/Core@7.0.0', 'pkg:npm/%40babel/core@7.0.0');
    same('pkg:npm/JSONStream@1.0.0', 'pkg:npm/jsonstream@1.0.0');
    assert.equal(ecosystemPackage('npm', '@Babel/Core')?.key, keyOf('pkg:npm/%40babel/core@1'));
  });

  it('pypi: lowercased, `_` (and as PyPI compares, `.`) the same as `-`', () => {
    same('pkg:pypi/Django_REST.framework@3.0', 'pkg:pypi/django-rest-framework@3.0');
    same('pkg:pypi/zope.interface@5', 'pkg:pypi/zope-interface@5');
    assert.equal(ecosystemPackage('PyPI', 'Requests')?.key, keyOf('pkg:pypi/requests@2.30.0'));
    different('pkg:pypi/requests@1', 'pkg:pypi/requests2@1');
  });

  it('deb: vendor and name lowercased', () => {
    same('pkg:deb/Debian/OpenSSL@3.0.7-1', 'pkg:deb/debian/openssl@3.0.7-1');
    different('pkg:deb/debian/openssl@1', 'pkg:deb/ubuntu/openssl@1');
    assert.equal(ecosystemPackage('Debian:12', 'OpenSSL')?.key, keyOf('pkg:deb/debian/openssl@1'));
  });

  it('apk: vendor and name lowercased', () => {
    same('pkg:apk/Alpine/BusyBox@1.36.1-r2', 'pkg:apk/alpine/busybox@1.36.1-r2');
    different('pkg:apk/alpine/busybox@1', 'pkg:apk/openwrt/busybox@1');
    assert.equal(ecosystemPackage('Alpine:v3.18', 'busybox')?.key, keyOf('pkg:apk/alpine/busybox@1'));
  });

  it('rpm: vendor lowercased, the name case sensitive', () => {
    same('pkg:rpm/Fedora/curl@7.50.3-1.fc25', 'pkg:rpm/fedora/curl@7.50.3-1.fc25');
    different('pkg:rpm/fedora/SDL2@2.0', 'pkg:rpm/fedora/sdl2@2.0');
  });

  it('golang: namespace and name lowercased', () => {
    same('pkg:golang/github.com/Sirupsen/logrus@v1.0.0', 'pkg:golang/github.com/sirupsen/logrus@v1.0.0');
    assert.equal(
      ecosystemPackage('Go', 'golang.org/x/net')?.key,
      keyOf('pkg:golang/golang.org/x/net@v0.1.0'),
    );
  });

  it('composer and hex: vendor or organisation and name lowercased', () => {
    same('pkg:composer/Laravel/Framework@7.12.0', 'pkg:composer/laravel/framework@7.12.0');
    assert.equal(
      ecosystemPackage('Packagist', 'Laravel/Framework')?.key,
      keyOf('pkg:composer/laravel/framework@1'),
    );
    same('pkg:hex/Acme/Phoenix@1.0.0', 'pkg:hex/acme/phoenix@1.0.0');
  });

  it('pub: lowercased, other characters become `_`', () => {
    same('pkg:pub/Flutter-Markdown@1.0.0', 'pkg:pub/flutter_markdown@1.0.0');
  });

  it('nuget: case-preserving but case-insensitive', () => {
    same('pkg:nuget/Newtonsoft.Json@13.0.1', 'pkg:nuget/newtonsoft.json@13.0.1');
  });

  it('maven, cargo and gem: case sensitive, as written', () => {
    different('pkg:maven/org.apache.jena/Jena-Core@1', 'pkg:maven/org.apache.jena/jena-core@1');
    different('pkg:cargo/Regex@1.5.4', 'pkg:cargo/regex@1.5.4');
    different('pkg:gem/Rack@2.0', 'pkg:gem/rack@2.0');
    assert.equal(ecosystemPackage('crates.io', 'regex')?.key, keyOf('pkg:cargo/regex@1.5.4'));
    assert.equal(packageKey('generic', 'Acme', 'Firmware'), 'pkg:generic/Acme/Firmware');
  });
});

describe('CPE versions `-` (NA) and `*` (ANY) on both sides, with real NVD records', () => {
  // CVE-2022-0847 (Dirty Pipe): NetApp H300S firmware `-` AND hardware h300s `-` (not vulnerable).
  const dirtyPipe = parseNvd(read('nvd/CVE-2022-0847.json')).record;
  const entry = (key: string) => dirtyPipe.affected.find((a) => a.key === key);
  const matches = (cpe: string, version?: string): boolean => {
    const component = cpeComponentKey(cpe, version);
    const record = component && entry(component.key);
    return !!(component && record && isAffected(record, component.version));
  };

  it('a firmware CPE with version `-` matches a component carrying that CPE', () => {
    const firmware = entry('cpe:o:netapp:h300s_firmware');
    assert.ok(firmware, 'the vulnerable part of the AND configuration is read');
    assert.deepEqual(firmware.versions, ['-']);
    assert.ok(matches('cpe:2.3:o:netapp:h300s_firmware:-:*:*:*:*:*:*:*'));
    assert.equal(entry('cpe:h:netapp:h300s'), undefined, 'the hardware is a platform, not vulnerable');
  });

  it('record `-` does not match a component with a real version (NA is not a version)', () => {
    assert.ok(!matches('cpe:2.3:o:netapp:h300s_firmware:9.10:*:*:*:*:*:*:*'));
  });

  it('component `-` does not match a bounded range, nor an exact version', () => {
    assert.ok(!matches('cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*'));
    assert.ok(matches('cpe:2.3:o:linux:linux_kernel:5.15.20:*:*:*:*:*:*:*'), '5.15–<5.15.25');
    assert.ok(!matches('cpe:2.3:o:redhat:enterprise_linux:-:*:*:*:*:*:*:*'), 'record says 8.0');
  });

  it('record `*` without bounds (any version) matches a component `-`', () => {
    // CVE-2022-37434: `cpe:2.3:a:netapp:hci:-` is NA; a synthetic any-version entry for the rule.
    assert.ok(isAffected({ scheme: 'generic', intervals: [{}], versions: [] }, '-'));
    assert.ok(!isAffected({ scheme: 'generic', intervals: [{ end: '1.0' }], versions: [] }, '-'));
  });

  it('component `*` takes the component version, or gives no key', () => {
    assert.ok(matches('cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*', '5.15.20'));
    assert.equal(cpeComponentKey('cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*'), null);
    assert.equal(
      cpeComponentKey('cpe:2.3:o:netapp:h300s_firmware:-:*:*:*:*:*:*:*', '9.10')?.version,
      '-',
      'the CPE says NA; the version field does not override it',
    );
  });

  it('zlib in CVE-2022-37434: NetApp firmware `-` and the zlib range side by side', () => {
    const zlib = parseNvd(read('nvd/CVE-2022-37434.json')).record;
    const h500s = zlib.affected.find((a) => a.key === 'cpe:o:netapp:h500s_firmware');
    assert.ok(h500s && isAffected(h500s, '-'));
    const lib = zlib.affected.find((a) => a.key === 'cpe:a:zlib:zlib');
    assert.ok(lib && isAffected(lib, '1.2.12') && !isAffected(lib, '1.2.13') && !isAffected(lib, '-'));
  });
});

describe('one vulnerability under several ids', () => {
  const osv = (file: string) => parseOsv(read(`osv/${file}`)).record;

  it('a GHSA with one CVE belongs to that CVE', () => {
    assert.deepEqual(groupsOf(osv('GHSA-p6mc-m468-83gw.json'), []), ['CVE-2020-8203']);
  });

  it('GO-2023-2102 belongs to both CVEs it names, which stay two vulnerabilities', () => {
    assert.deepEqual(groupsOf(osv('GO-2023-2102.json'), []), ['CVE-2023-39325', 'CVE-2023-44487']);
    assert.deepEqual(groupsOf(osv('GHSA-4374-p667-p6c8.json'), []), ['CVE-2023-39325']);
  });

  it("USN-5844-1's upstream UBUNTU-CVE-… records name its eight CVEs", () => {
    const usn = osv('USN-5844-1.json');
    assert.equal(cveOf('UBUNTU-CVE-2023-0286'), 'CVE-2023-0286');
    assert.equal(cveOf('GHSA-4374-p667-p6c8'), null);
    const groups = groupsOf(usn, []);
    assert.equal(groups.length, 8);
    assert.ok(groups.includes('CVE-2023-0286'));
  });

  it('a DSA names its CVEs in `related`; a GHSA `related` CVE is another vulnerability', () => {
    const dsa = parseOsv({
      id: 'DSA-5343-1',
      modified: '2023-02-08T00:00:00Z',
      related: ['CVE-2023-0286'],
      affected: [
        {
          package: { ecosystem: 'Debian:11', name: 'openssl' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.1.1n-0+deb11u4' }] }],
        },
      ],
    }).record;
    assert.deepEqual(groupsOf(dsa, []), ['CVE-2023-0286']);
    const ghsa = parseOsv({
      id: 'GHSA-aaaa-bbbb-cccc',
      modified: '2023-02-08T00:00:00Z',
      related: ['CVE-2023-0286'],
      affected: [{ package: { ecosystem: 'npm', name: 'x' }, versions: ['1.0.0'] }],
    }).record;
    assert.deepEqual(groupsOf(ghsa, []), ['GHSA-aaaa-bbbb-cccc']);
  });

  it('records without a CVE join through their neighbours', () => {
    const go = { id: 'GO-2024-0001', aliases: ['GHSA-xxxx-yyyy-zzzz'] };
    const ghsa = { id: 'GHSA-xxxx-yyyy-zzzz', aliases: [] };
    const pysec = { id: 'PYSEC-2024-1', aliases: ['GHSA-xxxx-yyyy-zzzz'] };
    assert.deepEqual(groupsOf(go, [ghsa]), ['GHSA-xxxx-yyyy-zzzz']);
    assert.deepEqual(groupsOf(ghsa, [go, pysec]), ['GHSA-xxxx-yyyy-zzzz']);
    assert.deepEqual(groupsOf(pysec, [ghsa]), ['GHSA-xxxx-yyyy-zzzz']);
    assert.deepEqual(groupsOf(go, [{ ...ghsa, aliases: ['CVE-2024-10001'] }]), ['CVE-2024-10001']);
  });
});
