import semver from 'semver';
import { compareAlpine } from './alpine.js';
import { compareDebian } from './debian.js';
import { compareGeneric } from './generic.js';
import { compareMaven } from './maven.js';
import { comparePep440 } from './pep440.js';

/**
 * The version order a package ecosystem uses. Matching must compare versions the way the
 * ecosystem's own tools do, or ranges give wrong answers (`1.10` > `1.9` everywhere, but
 * `1.0~rc1` < `1.0` only in Debian, `1.0a1` < `1.0` only in PyPI).
 */
export type VersionScheme = 'semver' | 'pypi' | 'maven' | 'debian' | 'alpine' | 'generic';

export type Compare = (a: string, b: string) => number;

/** Versions that are not semver (`1.2`, `v1.2.3`) are coerced; SemVer 2.0 order otherwise. */
function compareSemver(a: string, b: string): number {
  const x = toSemver(a);
  const y = toSemver(b);
  if (x && y) return semver.compare(x, y);
  return compareGeneric(a, b);
}

function toSemver(version: string): semver.SemVer | null {
  const trimmed = version.trim().replace(/^v/, '');
  const parsed = semver.parse(trimmed, { loose: true });
  if (parsed) return parsed;
  // "1.2" or "1" (common in Go and crates ranges written by hand).
  if (/^\d+(\.\d+)?$/.test(trimmed)) return semver.coerce(trimmed);
  return null;
}

export const comparators: Record<VersionScheme, Compare> = {
  semver: compareSemver,
  pypi: comparePep440,
  maven: compareMaven,
  debian: compareDebian,
  alpine: compareAlpine,
  generic: compareGeneric,
};

/** OSV ecosystem (prefix before any `:release`) → the order its versions follow. */
export function schemeOfEcosystem(ecosystem: string): VersionScheme {
  const base = ecosystem.split(':')[0]?.toLowerCase() ?? '';
  switch (base) {
    case 'npm':
    case 'go':
    case 'crates.io':
    case 'nuget':
    case 'hex':
    case 'pub':
    case 'swifturl':
      return 'semver';
    case 'pypi':
      return 'pypi';
    case 'maven':
      return 'maven';
    case 'debian':
    case 'ubuntu':
      return 'debian';
    case 'alpine':
      return 'alpine';
    default:
      return 'generic';
  }
}

/** purl type → the order its versions follow. */
export function schemeOfPurlType(type: string): VersionScheme {
  switch (type) {
    case 'npm':
    case 'golang':
    case 'cargo':
    case 'nuget':
    case 'hex':
    case 'pub':
      return 'semver';
    case 'pypi':
      return 'pypi';
    case 'maven':
      return 'maven';
    case 'deb':
      return 'debian';
    case 'apk':
      return 'alpine';
    default:
      return 'generic';
  }
}
