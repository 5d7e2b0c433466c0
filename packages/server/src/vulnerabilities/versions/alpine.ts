import { compareDigits } from './debian.js';

/**
 * Alpine apk version order (apk-tools version.c): dotted numbers, an optional letter, suffixes
 * (`_alpha` < `_beta` < `_pre` < `_rc` < none < `_cvs` < `_svn` < `_git` < `_hg` < `_p`), then `-rN`.
 */
const suffixRank: Record<string, number> = {
  alpha: -4,
  beta: -3,
  pre: -2,
  rc: -1,
  cvs: 1,
  svn: 2,
  git: 3,
  hg: 4,
  p: 5,
};

const pattern = /^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:-r(\d+))?$/;

interface AlpineVersion {
  numbers: string[];
  letter: string;
  suffixes: Array<{ rank: number; number: string }>;
  release: string;
}

function parse(version: string): AlpineVersion | null {
  const m = pattern.exec(version.trim());
  if (!m) return null;
  const suffixes = (m[3] ?? '')
    .split('_')
    .filter(Boolean)
    .map((s) => {
      const [, word = '', number = ''] = /^([a-z]+)(\d*)$/.exec(s) ?? [];
      return { rank: suffixRank[word] ?? 0, number };
    });
  return { numbers: (m[1] ?? '').split('.'), letter: m[2] ?? '', suffixes, release: m[4] ?? '0' };
}

export function isAlpineVersion(version: string): boolean {
  return parse(version) !== null;
}

export function compareAlpine(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return a < b ? -1 : a > b ? 1 : 0;
  const n = Math.max(pa.numbers.length, pb.numbers.length);
  for (let i = 0; i < n; i++) {
    const x = pa.numbers[i];
    const y = pb.numbers[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const diff = compareDigits(x, y);
    if (diff) return diff;
  }
  if (pa.letter !== pb.letter) return pa.letter < pb.letter ? -1 : 1;
  const m = Math.max(pa.suffixes.length, pb.suffixes.length);
  for (let i = 0; i < m; i++) {
    const x = pa.suffixes[i] ?? { rank: 0, number: '' };
    const y = pb.suffixes[i] ?? { rank: 0, number: '' };
    if (x.rank !== y.rank) return x.rank < y.rank ? -1 : 1;
    const diff = compareDigits(x.number || '0', y.number || '0');
    if (diff) return diff;
  }
  return compareDigits(pa.release, pb.release);
}
