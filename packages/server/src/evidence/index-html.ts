import type { Provision } from './etsi-303-645.js';

/**
 * The pack's index.html: readable in any browser without tools, no scripts, no external
 * resources; every text escaped (the maker's values and file names are data, never markup).
 */
const escapeHtml = (value: string): string =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const DESCRIPTIONS: Record<string, string> = {
  'product.json': 'The product, its support period, brands and security contact',
  'update-mechanism.json':
    'The update mechanism: TUF roles, thresholds, key ids, versions, expiry, root history',
  'security-updates.json': 'Per vulnerability: first seen, fixing release, time to fix, device coverage',
  'metrics.json':
    'Patch and support metrics over time: devices on a supported release, on the newest security release, exposed to KEV; time to fix and to coverage by severity',
  'cvd.json': 'Coordinated vulnerability disclosure: contact, policy, security.txt, CSAF advisories',
  'report-cases.json': 'CRA Art. 14 report cases with their clocks and submissions',
  'audit-excerpt.json': 'Audit log entries about the product and its releases, with the chain verification',
  'annex-ii.en.md': 'Information for users (CRA Annex II), English',
  'annex-ii.de.md': 'Informationen für Nutzer (CRA Anhang II), Deutsch',
  'etsi-en-303-645.json': 'ETSI EN 303 645 and CRA Annex I: who carries each provision, and the evidence',
  'manifest.json': 'Every file with its SHA-256, signed (verify: brickless evidence verify FILE --key KEY)',
};

export function indexHtml(input: {
  title: string;
  createdAt: string;
  signingKey: string;
  files: string[];
  etsi: Provision[];
  craAnnexI: Provision[];
}): string {
  const link = (path: string) => `<a href="${escapeHtml(path)}">${escapeHtml(path)}</a>`;
  const rows = (list: Provision[]) =>
    list
      .map(
        (p) =>
          `<tr><td>${escapeHtml(p.id)}</td><td>${escapeHtml(p.title)}</td><td>${escapeHtml(p.carrier)}</td><td>${
            p.evidence ? link(p.evidence) : '—'
          }</td><td>${escapeHtml(p.makerProvides)}</td></tr>`,
      )
      .join('\n');
  const table = (caption: string, list: Provision[]) =>
    `<h2>${escapeHtml(caption)}</h2>\n<table>\n<tr><th>Provision</th><th>Title</th><th>Carried by</th><th>Evidence</th><th>The maker provides</th></tr>\n${rows(list)}\n</table>`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font-family:sans-serif;max-width:70em;margin:1em auto}td,th{border:1px solid #999;padding:.2em .4em;vertical-align:top}table{border-collapse:collapse}</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<p>Created ${escapeHtml(input.createdAt)}. The manifest is signed with the organisation's Ed25519 key <code>${escapeHtml(input.signingKey)}</code>; compare it with the key the organisation publishes (its evidence key in the API, <code>brickless evidence key</code>).</p>
<h2>Files</h2>
<ul>
${input.files.map((f) => `<li>${link(f)}${DESCRIPTIONS[f] ? ` — ${escapeHtml(DESCRIPTIONS[f])}` : ''}</li>`).join('\n')}
</ul>
${table('ETSI EN 303 645 V2.1.1', input.etsi)}
${table('CRA Annex I', input.craAnnexI)}
</body>
</html>
`;
}
