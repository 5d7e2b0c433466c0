import { compareDigits } from './debian.js';

/**
 * Order for versions without a package ecosystem: CPE versions of C libraries, kernels and
 * firmware (`1.1.1t`, `1.0.2zd`, `5.15.25`, `7.88.1`). Numbers compare numerically; a letter
 * run glued to a number is a later patch letter (OpenSSL `1.1.1t` > `1.1.1`), while pre-release
 * words (alpha, beta, rc, pre, dev) and runs after a `-` sort before the release.
 */
type Token = { number: string } | { text: string; pre: boolean };

const preWords = /^(alpha|beta|rc|pre|preview|dev|snapshot|a|b)$/;

function tokens(version: string): Token[] {
  const out: Token[] = [];
  const re = /(\d+)|([A-Za-z]+)|([^A-Za-z\d]+)/g;
  let separator = '';
  for (let m = re.exec(version.trim()); m; m = re.exec(version.trim())) {
    if (m[1] !== undefined) {
      out.push({ number: m[1] });
      separator = '';
    } else if (m[2] !== undefined) {
      const text = m[2].toLowerCase();
      out.push({ text, pre: preWords.test(text) || separator.includes('-') || separator.includes('~') });
      separator = '';
    } else separator = m[3] ?? '';
  }
  return out;
}

export function compareGeneric(a: string, b: string): number {
  const ta = tokens(a);
  const tb = tokens(b);
  const n = Math.max(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === undefined || y === undefined) {
      const extra = (x ?? y) as Token;
      // The longer version is later unless what it adds is a pre-release marker.
      if ('number' in extra && /^0+$/.test(extra.number)) continue;
      const later = 'number' in extra || !extra.pre;
      return (x === undefined ? -1 : 1) * (later ? 1 : -1);
    }
    if ('number' in x && 'number' in y) {
      const diff = compareDigits(x.number, y.number);
      if (diff) return diff;
    } else if ('text' in x && 'text' in y) {
      if (x.pre !== y.pre) return x.pre ? -1 : 1;
      if (x.text !== y.text) return x.text < y.text ? -1 : 1;
    } else {
      // A number against letters: pre-release letters are earlier, patch letters later.
      const text = ('text' in x ? x : y) as { text: string; pre: boolean };
      const sign = 'text' in x ? 1 : -1;
      return text.pre ? -sign : sign;
    }
  }
  return 0;
}
