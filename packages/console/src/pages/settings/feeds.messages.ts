import { messages } from '../../i18n/index.js';

export const f = messages({
  en: {
    escrowTitle: 'Escrow and continuity',
    escrowIntro:
      'If your company stops, devices must keep working. Escrow deposits, the published endpoint records and continuity drills are on the Continuity page.',
    toContinuity: 'Open Continuity',
    checkpoints:
      'Escrow agents and monitors can also keep the signed checkpoints of every audit chain, published at:',
    feedsTitle: 'Vulnerability feeds',
    feedsIntro:
      'brickless matches your SBOMs against public vulnerability feeds (OSV, CISA KEV and others). The feeds are shared by the whole platform and configured by its operator (vulnerabilities.feeds).',
    feedsOrg:
      'Feeds are synchronised for the whole platform by its administrator, so there is nothing to set here. New matches appear under Vulnerabilities.',
    feedsNoStatus:
      'This server reports no feed status yet: synchronise now to fetch the configured feeds and see the result.',
    sync: 'Synchronise feeds now',
    syncing: 'Synchronising… this can take a minute.',
    synced: 'Feeds synchronised.',
    result: 'Result',
  },
  de: {
    escrowTitle: 'Escrow und Fortbestand',
    escrowIntro:
      'Wenn Ihr Unternehmen aufhört, müssen Geräte weiter funktionieren. Escrow-Hinterlegungen, die veröffentlichten Endpunkt-Einträge und Fortbestandsübungen finden Sie auf der Seite Fortbestand.',
    toContinuity: 'Fortbestand öffnen',
    checkpoints:
      'Escrow-Treuhänder und Beobachter können außerdem die signierten Checkpoints jeder Audit-Kette aufbewahren, veröffentlicht unter:',
    feedsTitle: 'Schwachstellen-Feeds',
    feedsIntro:
      'brickless gleicht Ihre SBOMs mit öffentlichen Schwachstellen-Feeds ab (OSV, CISA KEV und andere). Die Feeds gelten für die ganze Plattform und werden von ihrem Betreiber eingerichtet (vulnerabilities.feeds).',
    feedsOrg:
      'Die Feeds werden für die ganze Plattform von ihrer Administration synchronisiert; hier ist nichts einzustellen. Neue Treffer erscheinen unter Schwachstellen.',
    feedsNoStatus:
      'Dieser Server meldet noch keinen Feed-Status: Synchronisieren Sie jetzt, um die eingerichteten Feeds abzurufen und das Ergebnis zu sehen.',
    sync: 'Feeds jetzt synchronisieren',
    syncing: 'Wird synchronisiert… das kann eine Minute dauern.',
    synced: 'Feeds synchronisiert.',
    result: 'Ergebnis',
  },
});
