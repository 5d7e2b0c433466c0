import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparators, type VersionScheme } from './index.js';

/** Each pair is in ascending order under the scheme; equal pairs are marked with '='. */
const ordered: Record<VersionScheme, Array<[string, string] | [string, string, '=']>> = {
  semver: [
    ['1.9.0', '1.10.0'],
    ['1.0.0-alpha', '1.0.0-alpha.1'],
    ['1.0.0-rc.1', '1.0.0'],
    ['v0.16.0', 'v0.17.0'],
    ['0.0.0-0', '1.5.5'],
    ['1.2', '1.2.1'],
    ['v1.2.3', '1.2.3', '='],
    ['0.0.0-20230321023759-10a507213a29', '0.17.0'],
  ],
  pypi: [
    ['1.0.dev0', '1.0a1'],
    ['1.0a1', '1.0b2'],
    ['1.0b2', '1.0rc1'],
    ['1.0rc1', '1.0'],
    ['1.0', '1.0.post1'],
    ['1.0', '1.0+ubuntu1'],
    ['2.30.0', '2.31.0'],
    ['1.0', '1.0.0', '='],
    ['1!0.1', '2.0'].reverse() as [string, string],
    ['2.3.0', '2.10'],
  ],
  maven: [
    ['1.0-alpha-1', '1.0-beta'],
    ['1.0-beta', '1.0-rc1'],
    ['1.0-rc1', '1.0-SNAPSHOT'],
    ['1.0-SNAPSHOT', '1.0'],
    ['1.0', '1.0-sp1'],
    ['1.0', '1.0.1'],
    ['2.9', '2.10'],
    ['1.0', '1.0.0', '='],
    ['1-ga', '1', '='],
  ],
  debian: [
    ['1.0~rc1', '1.0'],
    ['1.0', '1.0-1'],
    ['7.88.1-10+deb12u4', '7.88.1-10+deb12u14'],
    ['1.1.1-1ubuntu2.1~18.04.9', '1.1.1-1ubuntu2.1~18.04.21'],
    ['9:1.0', '1:2.0'].reverse() as [string, string],
    ['2.36-9+deb12u3', '2.36-9+deb12u10'],
    ['1.0a', '1.0+'],
    ['0:1.2', '1.2', '='],
  ],
  alpine: [
    ['1.36.1-r5', '1.36.1-r15'],
    ['1.2.3_rc1', '1.2.3'],
    ['1.2.3', '1.2.3_p1'],
    ['1.2.3_alpha', '1.2.3_beta'],
    ['3.0.8-r0', '3.0.10-r0'],
    ['1.2a', '1.2b'],
  ],
  generic: [
    ['1.0.2', '1.0.2zd'],
    ['1.0.2zd', '1.0.2zg'],
    ['1.1.1n', '1.1.1t'],
    ['3.0.7', '3.0.8'],
    ['5.15.20', '5.15.25'],
    ['1.2.12', '1.2.13'],
    ['8.4.0-beta', '8.4.0'],
    ['1.36.1', '1.36.1', '='],
    ['5.15', '5.15.0', '='],
  ],
};

describe('version order per ecosystem', () => {
  for (const [scheme, pairs] of Object.entries(ordered) as Array<[VersionScheme, typeof ordered.semver]>) {
    it(scheme, () => {
      const compare = comparators[scheme];
      for (const [a, b, equal] of pairs) {
        if (equal) {
          assert.equal(compare(a, b), 0, `${a} = ${b}`);
        } else {
          assert.ok(compare(a, b) < 0, `${a} < ${b}`);
          assert.ok(compare(b, a) > 0, `${b} > ${a}`);
        }
      }
    });
  }
});
