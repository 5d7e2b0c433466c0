import { messages } from '../../i18n/index.js';

const statusEn: Record<string, string> = {
  in_triage: 'under investigation (in triage)',
  affected: 'affected',
  not_affected: 'not affected',
  fixed: 'fixed',
  false_positive: 'false positive',
};
const statusDe: Record<string, string> = {
  in_triage: 'wird untersucht (in Triage)',
  affected: 'betroffen',
  not_affected: 'nicht betroffen',
  fixed: 'behoben',
  false_positive: 'Fehltreffer',
};
const justificationEn: Record<string, string> = {
  component_not_present: 'The component is not present',
  vulnerable_code_not_present: 'The vulnerable code is not present',
  vulnerable_code_not_in_execute_path: 'The vulnerable code is never executed',
  vulnerable_code_cannot_be_controlled_by_adversary:
    'An attacker cannot reach or control the vulnerable code',
  inline_mitigations_already_exist: 'Built-in mitigations already exist',
};
const justificationDe: Record<string, string> = {
  component_not_present: 'Die Komponente ist nicht enthalten',
  vulnerable_code_not_present: 'Der verwundbare Code ist nicht enthalten',
  vulnerable_code_not_in_execute_path: 'Der verwundbare Code wird nie ausgeführt',
  vulnerable_code_cannot_be_controlled_by_adversary:
    'Angreifer können den verwundbaren Code nicht erreichen oder steuern',
  inline_mitigations_already_exist: 'Eingebaute Gegenmaßnahmen bestehen bereits',
};
const severityEn: Record<string, string> = {
  critical: 'critical',
  high: 'high',
  medium: 'medium',
  low: 'low',
  none: 'none',
  unknown: 'unknown',
};
const severityDe: Record<string, string> = {
  critical: 'kritisch',
  high: 'hoch',
  medium: 'mittel',
  low: 'niedrig',
  none: 'keine',
  unknown: 'unbekannt',
};

export const t = messages({
  en: {
    title: 'Vulnerabilities',
    intro:
      'Vulnerabilities that match a component in one of your releases’ SBOMs, most urgent first: known exploited, then by severity and devices exposed.',
    listTitle: 'Matched vulnerabilities',
    filters: 'Filter',
    show: 'Show',
    showOpen: 'with devices exposed',
    showAll: 'all matched',
    severity: 'Severity',
    kev: 'Known exploited (KEV)',
    any: 'any',
    kevOnly: 'only known exploited',
    kevNot: 'not known exploited',
    triage: 'Triage status',
    id: 'Vulnerability',
    summary: 'Summary',
    devices: 'Devices exposed',
    releases: 'Releases exposed',
    products: 'Products',
    knownExploited: 'known exploited',
    emptyTitle: 'No vulnerability matches these filters.',
    emptyOpen:
      'Either no release has an SBOM yet, or triage has cleared everything. Import an SBOM for each release (brickless sbom import) so matching can start, or show all matched vulnerabilities.',
    vexTitle: 'VEX export',
    vexIntro: 'Your triage decisions as a machine-readable VEX document, for customers and scanners.',
    vexOpen: 'OpenVEX',
    vexCyclone: 'CycloneDX 1.6 VEX',
    vexCsaf: 'CSAF 2.0 VEX',
    severityLabel: (s: string) => severityEn[s.toLowerCase()] ?? s,
    statusLabel: (s: string) => statusEn[s] ?? s,
    justificationLabel: (s: string) => justificationEn[s] ?? s,
    score: (rating: string, score: string) => `${rating} ${score}`,
  },
  de: {
    title: 'Schwachstellen',
    intro:
      'Schwachstellen, die zu einer Komponente in der SBOM eines Ihrer Releases passen, die dringendsten zuerst: bekannt ausgenutzte, dann nach Schweregrad und betroffenen Geräten.',
    listTitle: 'Zugeordnete Schwachstellen',
    filters: 'Filter',
    show: 'Anzeigen',
    showOpen: 'mit betroffenen Geräten',
    showAll: 'alle zugeordneten',
    severity: 'Schweregrad',
    kev: 'Bekannt ausgenutzt (KEV)',
    any: 'alle',
    kevOnly: 'nur bekannt ausgenutzte',
    kevNot: 'nicht bekannt ausgenutzte',
    triage: 'Triage-Status',
    id: 'Schwachstelle',
    summary: 'Zusammenfassung',
    devices: 'Betroffene Geräte',
    releases: 'Betroffene Releases',
    products: 'Produkte',
    knownExploited: 'bekannt ausgenutzt',
    emptyTitle: 'Keine Schwachstelle passt zu diesen Filtern.',
    emptyOpen:
      'Entweder hat noch kein Release eine SBOM, oder die Triage hat alles geklärt. Importieren Sie für jedes Release eine SBOM (brickless sbom import), damit die Zuordnung beginnt, oder zeigen Sie alle zugeordneten Schwachstellen an.',
    vexTitle: 'VEX-Export',
    vexIntro: 'Ihre Triage-Entscheidungen als maschinenlesbares VEX-Dokument, für Kunden und Scanner.',
    vexOpen: 'OpenVEX',
    vexCyclone: 'CycloneDX 1.6 VEX',
    vexCsaf: 'CSAF 2.0 VEX',
    severityLabel: (s: string) => severityDe[s.toLowerCase()] ?? s,
    statusLabel: (s: string) => statusDe[s] ?? s,
    justificationLabel: (s: string) => justificationDe[s] ?? s,
    score: (rating: string, score: string) => `${rating} ${score}`,
  },
});
