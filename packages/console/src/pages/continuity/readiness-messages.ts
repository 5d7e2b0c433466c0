import { formatNumber, messages } from '../../i18n/index.js';

const pct = (share: number) => `${formatNumber(Math.round(share * 1000) / 10)} %`;

/** The takeover readiness section's messages (docs/evidence.md, "The takeover readiness report"). */
export const r = messages({
  en: {
    title: 'Takeover readiness',
    intro:
      'For an insurer or escrow agent: how far a successor could take over today. Each report shown here is recorded, so the history below shows the trend.',
    download: 'Download signed report',
    downloadHint:
      'A ZIP signed with the deposit key; check it offline with brickless evidence verify FILE --key KEY.',
    lastDeposit: 'Last deposit',
    lastVerified: 'Last verified deposit (recovery point)',
    none: 'none',
    hoursAgo: (h: number) => `${formatNumber(h)} h ago`,
    interval: (h: number) => `agreed interval ${formatNumber(h)} h`,
    drill: 'Last takeover drill',
    drillFigures: (ok: boolean, days: number, served: number | null, moved: number | null) =>
      `${ok ? 'passed' : 'failed'} ${formatNumber(days)} days ago; 99 % served after ${served === null ? '–' : `${formatNumber(served)} s`}; ${moved === null ? '–' : pct(moved)} of its devices moved`,
    escrowKey: 'Escrow key in the TUF root',
    escrowYes: (held: number, threshold: number) => `yes: ${held} of the ${threshold} root signatures needed`,
    escrowNo: 'no: a successor cannot sign updates',
    devices: 'Devices that can move',
    devicesShare: (can: number, total: number, share: number | null) =>
      `${formatNumber(can)} of ${formatNumber(total)}${share === null ? '' : ` (${pct(share)})`}`,
    standard: 'Standard parts',
    custom: 'Custom configuration',
    customUnknown: 'not reported (the server was not started by brickless serve)',
    customNone: 'none: every setting at its default',
    needs: 'A successor would still need',
    warnings: 'Warnings',
    noWarnings: 'No warnings.',
    history: 'History, newest first',
    at: 'Built',
    depositAge: 'Deposit age',
    drillCol: 'Drill',
    canMove: 'Can move',
    warningsCol: 'Warnings',
    passed: 'passed',
    failed: 'failed',
    share: pct,
  },
  de: {
    title: 'Übernahmebereitschaft',
    intro:
      'Für Versicherer oder Escrow-Agenten: wie weit ein Nachfolger heute übernehmen könnte. Jeder hier gezeigte Bericht wird festgehalten, der Verlauf unten zeigt die Entwicklung.',
    download: 'Signierten Bericht herunterladen',
    downloadHint:
      'Ein mit dem Hinterlegungsschlüssel signiertes ZIP; offline prüfen mit brickless evidence verify DATEI --key SCHLÜSSEL.',
    lastDeposit: 'Letzte Hinterlegung',
    lastVerified: 'Letzte geprüfte Hinterlegung (Wiederherstellungspunkt)',
    none: 'keine',
    hoursAgo: (h: number) => `vor ${formatNumber(h)} h`,
    interval: (h: number) => `vereinbarter Abstand ${formatNumber(h)} h`,
    drill: 'Letzte Übernahmeübung',
    drillFigures: (ok: boolean, days: number, served: number | null, moved: number | null) =>
      `${ok ? 'bestanden' : 'fehlgeschlagen'} vor ${formatNumber(days)} Tagen; 99 % bedient nach ${served === null ? '–' : `${formatNumber(served)} s`}; ${moved === null ? '–' : pct(moved)} ihrer Geräte umgezogen`,
    escrowKey: 'Escrow-Schlüssel in der TUF-Root',
    escrowYes: (held: number, threshold: number) => `ja: ${held} der ${threshold} nötigen Root-Signaturen`,
    escrowNo: 'nein: ein Nachfolger kann keine Updates signieren',
    devices: 'Geräte, die umziehen können',
    devicesShare: (can: number, total: number, share: number | null) =>
      `${formatNumber(can)} von ${formatNumber(total)}${share === null ? '' : ` (${pct(share)})`}`,
    standard: 'Standardteile',
    custom: 'Eigene Konfiguration',
    customUnknown: 'nicht gemeldet (der Server wurde nicht mit brickless serve gestartet)',
    customNone: 'keine: alle Einstellungen auf ihrem Standard',
    needs: 'Ein Nachfolger bräuchte noch',
    warnings: 'Warnungen',
    noWarnings: 'Keine Warnungen.',
    history: 'Verlauf, neueste zuerst',
    at: 'Erstellt',
    depositAge: 'Alter der Hinterlegung',
    drillCol: 'Übung',
    canMove: 'Umzugsfähig',
    warningsCol: 'Warnungen',
    passed: 'bestanden',
    failed: 'fehlgeschlagen',
    share: pct,
  },
});
