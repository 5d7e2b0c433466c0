import { compareDigits } from './debian.js';

/**
 * Maven version order (ComparableVersion): items split at `.`, `-` and digit/letter changes;
 * numbers compare numerically; known qualifiers in the order
 * alpha < beta < milestone < rc < snapshot < (release) < sp, other qualifiers after them by text;
 * a number beats a qualifier; missing items count as 0 or as the release.
 */
const qualifierRank: Record<string, number> = {
  alpha: 0,
  a: 0,
  beta: 1,
  b: 1,
  milestone: 2,
  m: 2,
  rc: 3,
  cr: 3,
  snapshot: 4,
  '': 5,
  ga: 5,
  final: 5,
  release: 5,
  sp: 6,
};

type Item = { kind: 'number'; value: string } | { kind: 'qualifier'; value: string };

function items(version: string): Item[] {
  const out: Item[] = [];
  for (const token of version
    .trim()
    .toLowerCase()
    .match(/\d+|[a-z]+/g) ?? []) {
    out.push(/^\d/.test(token) ? { kind: 'number', value: token } : { kind: 'qualifier', value: token });
  }
  // Trailing zeros and release qualifiers carry no order ("1.0" = "1" = "1-ga").
  while (out.length > 0) {
    const last = out[out.length - 1];
    if (
      last &&
      ((last.kind === 'number' && /^0+$/.test(last.value)) ||
        (last.kind === 'qualifier' && qualifierRank[last.value] === 5))
    )
      out.pop();
    else break;
  }
  return out;
}

function compareQualifier(a: string, b: string): number {
  const ra = qualifierRank[a];
  const rb = qualifierRank[b];
  if (ra !== undefined && rb !== undefined) return ra === rb ? 0 : ra < rb ? -1 : 1;
  if (ra !== undefined) return -1;
  if (rb !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareItem(a: Item | undefined, b: Item | undefined): number {
  if (!a && !b) return 0;
  if (!a) return -compareItem(b, undefined);
  if (!b) {
    if (a.kind === 'number') return /^0+$/.test(a.value) ? 0 : 1;
    return compareQualifier(a.value, '');
  }
  if (a.kind === 'number' && b.kind === 'number') return compareDigits(a.value, b.value);
  if (a.kind === 'number') return 1;
  if (b.kind === 'number') return -1;
  return compareQualifier(a.value, b.value);
}

export function compareMaven(a: string, b: string): number {
  const ia = items(a);
  const ib = items(b);
  const n = Math.max(ia.length, ib.length);
  for (let i = 0; i < n; i++) {
    const diff = compareItem(ia[i], ib[i]);
    if (diff) return diff;
  }
  return 0;
}
