import { compareDigits } from './debian.js';

/**
 * PyPI version order (PEP 440): epoch, release (trailing zeros ignored), then pre-release
 * (a < b < rc), post-release and dev-release; a dev-only release sorts before its pre-releases.
 * Local versions (`+ubuntu1`) sort after the same public version.
 */
const pattern =
  /^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i;

interface Pep440 {
  epoch: string;
  release: string[];
  pre: [number, string] | null;
  post: string | null;
  dev: string | null;
  local: string | null;
}

const preRank: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

function parse(version: string): Pep440 | null {
  const m = pattern.exec(version);
  if (!m) return null;
  const release = (m[2] ?? '0').split('.');
  while (release.length > 1 && /^0+$/.test(release[release.length - 1] ?? '')) release.pop();
  return {
    epoch: m[1] ?? '0',
    release,
    pre: m[3] ? [preRank[m[3].toLowerCase()] ?? 0, m[4] || '0'] : null,
    post: m[5] !== undefined ? m[5] : m[6] !== undefined ? m[6] || '0' : null,
    dev: m[7] ? m[8] || '0' : null,
    local: m[9] ?? null,
  };
}

export function isPep440(version: string): boolean {
  return parse(version) !== null;
}

export function comparePep440(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return a < b ? -1 : a > b ? 1 : 0;
  let diff = compareDigits(pa.epoch, pb.epoch);
  if (diff) return diff;
  const n = Math.max(pa.release.length, pb.release.length);
  for (let i = 0; i < n; i++) {
    diff = compareDigits(pa.release[i] ?? '0', pb.release[i] ?? '0');
    if (diff) return diff;
  }
  diff = comparePre(pa, pb);
  if (diff) return diff;
  diff = compareOptional(pa.post, pb.post, -1);
  if (diff) return diff;
  diff = compareOptional(pa.dev, pb.dev, 1);
  if (diff) return diff;
  if (pa.local === pb.local) return 0;
  if (pa.local === null) return -1;
  if (pb.local === null) return 1;
  return pa.local < pb.local ? -1 : 1;
}

/** A dev release without a pre-release sorts before every pre-release of that release. */
function comparePre(a: Pep440, b: Pep440): number {
  const key = (v: Pep440): [number, string] => {
    if (v.pre) return v.pre;
    if (v.dev !== null && v.post === null) return [-1, '0'];
    return [3, '0'];
  };
  const [ra, na] = key(a);
  const [rb, nb] = key(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  return compareDigits(na, nb);
}

/** `missing` says where an absent part sorts: -1 before any value, 1 after. */
function compareOptional(a: string | null, b: string | null, missing: -1 | 1): number {
  if (a === b) return 0;
  if (a === null) return missing;
  if (b === null) return -missing;
  return compareDigits(a, b);
}
