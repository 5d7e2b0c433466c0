import { messages } from '../../i18n/index.js';

export const t = messages({
  en: {
    title: (name: string) => `Security metrics: ${name}`,
    productIntro:
      'How many devices of this product run a supported release, the newest security release, or a release with a known exploited vulnerability, and how fast fixes were published and installed.',
    brandIntro: 'The same figures for the devices sold under this brand, across its products.',
    period: 'Period',
    last30: 'Last 30 days (daily)',
    last90: 'Last 90 days (daily)',
    lastYear: 'Last year (weekly)',
    last5Years: 'Last five years (monthly)',
    nowTitle: 'Now',
    devices: 'Devices',
    supported: 'On a supported release',
    newestSecurity: 'On the newest security release',
    kevExposed: 'Exposed to a known exploited vulnerability',
    ofDevices: (n: string, total: string) => `${n} of ${total}`,
    overTime: 'Over time',
    chartSummary: (points: number, supported: string, newest: string, kev: string) =>
      `${points} points. Latest: ${supported} on a supported release, ${newest} on the newest security release, ${kev} exposed to a known exploited vulnerability.`,
    noHistory:
      'No history yet: the server records these figures once a day, so the chart fills in from tomorrow.',
    showTable: 'Show the figures as a table',
    tableCaption: 'Devices per day',
    day: 'Day',
    source: 'Source',
    live: 'now',
    snapshot: 'daily record',
    timesTitle: 'Time to fix and time to coverage',
    timesIntro:
      'Per vulnerability matched in a release: days from first seen to the publication of the fixing release, and from that publication until 90 % and 100 % of the exposed devices ran a fixed release.',
    severity: 'Severity',
    vulnerabilities: 'Vulnerabilities',
    timeToFix: 'Time to fix (median / max)',
    coverage90: 'To 90 % coverage (median / max)',
    coverage100: 'To 100 % coverage (median / max)',
    daysPair: (median: string, max: string) => `${median} / ${max} days`,
    noVulnerabilities: 'No vulnerability has been matched in the releases yet.',
    productsTitle: 'Products',
    product: 'Product',
    supportEnds: 'Security support until',
    newestSecurityRelease: 'Newest security release',
    none: 'none yet',
    ended: 'ended',
    rulesTitle: 'How the figures are counted',
    ruleSupported:
      'On a supported release: the support period has not ended, and the device reports a published release with no open vulnerability rated high or critical, or the newest security release (or a higher version).',
    ruleNewest:
      'On the newest security release: the device reports the newest published security release (highest version), or a higher version.',
    ruleKev:
      'Exposed to a known exploited vulnerability: the device reports a release with an open vulnerability listed in the CISA KEV catalogue.',
    ruleHistory:
      'Past days come from a record the server writes once a day; the last point is computed now. Devices that never report their firmware count only in the total.',
    severityName: (s: string) =>
      ({ critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low', unknown: 'Unknown' })[s] ?? s,
    back: 'Back to the list',
  },
  de: {
    title: (name: string) => `Sicherheitskennzahlen: ${name}`,
    productIntro:
      'Wie viele Geräte dieses Produkts einen unterstützten Stand, das neueste Sicherheitsupdate oder einen Stand mit einer bekannt ausgenutzten Schwachstelle haben, und wie schnell Korrekturen veröffentlicht und installiert wurden.',
    brandIntro:
      'Dieselben Zahlen für die Geräte, die unter dieser Marke verkauft werden, über alle ihre Produkte.',
    period: 'Zeitraum',
    last30: 'Letzte 30 Tage (täglich)',
    last90: 'Letzte 90 Tage (täglich)',
    lastYear: 'Letztes Jahr (wöchentlich)',
    last5Years: 'Letzte fünf Jahre (monatlich)',
    nowTitle: 'Jetzt',
    devices: 'Geräte',
    supported: 'Auf einem unterstützten Stand',
    newestSecurity: 'Auf dem neuesten Sicherheitsupdate',
    kevExposed: 'Einer bekannt ausgenutzten Schwachstelle ausgesetzt',
    ofDevices: (n: string, total: string) => `${n} von ${total}`,
    overTime: 'Im Verlauf',
    chartSummary: (points: number, supported: string, newest: string, kev: string) =>
      `${points} Punkte. Zuletzt: ${supported} auf einem unterstützten Stand, ${newest} auf dem neuesten Sicherheitsupdate, ${kev} einer bekannt ausgenutzten Schwachstelle ausgesetzt.`,
    noHistory:
      'Noch kein Verlauf: Der Server hält diese Zahlen einmal täglich fest, das Diagramm füllt sich ab morgen.',
    showTable: 'Zahlen als Tabelle zeigen',
    tableCaption: 'Geräte pro Tag',
    day: 'Tag',
    source: 'Quelle',
    live: 'jetzt',
    snapshot: 'Tagesstand',
    timesTitle: 'Zeit bis zur Korrektur und bis zur Abdeckung',
    timesIntro:
      'Je Schwachstelle, die in einem Release gefunden wurde: Tage vom ersten Fund bis zur Veröffentlichung des korrigierenden Release und von dort, bis 90 % und 100 % der betroffenen Geräte einen korrigierten Stand hatten.',
    severity: 'Schweregrad',
    vulnerabilities: 'Schwachstellen',
    timeToFix: 'Bis zur Korrektur (Median / Maximum)',
    coverage90: 'Bis 90 % Abdeckung (Median / Maximum)',
    coverage100: 'Bis 100 % Abdeckung (Median / Maximum)',
    daysPair: (median: string, max: string) => `${median} / ${max} Tage`,
    noVulnerabilities: 'In den Releases wurde noch keine Schwachstelle gefunden.',
    productsTitle: 'Produkte',
    product: 'Produkt',
    supportEnds: 'Sicherheitsupdates bis',
    newestSecurityRelease: 'Neuestes Sicherheitsupdate',
    none: 'noch keines',
    ended: 'beendet',
    rulesTitle: 'Wie die Zahlen gezählt werden',
    ruleSupported:
      'Auf einem unterstützten Stand: Der Supportzeitraum ist nicht abgelaufen, und das Gerät meldet ein veröffentlichtes Release ohne offene Schwachstelle der Stufe hoch oder kritisch, oder das neueste Sicherheitsupdate (oder eine höhere Version).',
    ruleNewest:
      'Auf dem neuesten Sicherheitsupdate: Das Gerät meldet das neueste veröffentlichte Sicherheitsupdate (höchste Version) oder eine höhere Version.',
    ruleKev:
      'Einer bekannt ausgenutzten Schwachstelle ausgesetzt: Das Gerät meldet ein Release mit einer offenen Schwachstelle aus dem CISA-KEV-Katalog.',
    ruleHistory:
      'Vergangene Tage stammen aus einem Stand, den der Server einmal täglich festhält; der letzte Punkt wird jetzt berechnet. Geräte, die nie ihre Firmware melden, zählen nur in der Summe.',
    severityName: (s: string) =>
      ({ critical: 'Kritisch', high: 'Hoch', medium: 'Mittel', low: 'Niedrig', unknown: 'Unbekannt' })[s] ??
      s,
    back: 'Zurück zur Liste',
  },
});
