import { messages } from '../../i18n/index.js';

export const t = messages({
  en: {
    title: 'Evidence',
    pageTitle: (name: string) => `Evidence: ${name}`,
    back: 'Products',
    intro:
      'What brickless can show for this product under the Cyber Resilience Act: who carries each provision of ETSI EN 303 645 and CRA Annex I, and the signed evidence pack with the documents behind it.',
    noPermission:
      'The evidence needs the audit:read permission (roles admin, security and auditor). Ask an administrator.',
    downloadTitle: 'Download the evidence pack',
    downloadIntro:
      'A ZIP with a manifest signed by the organisation’s evidence key. Check it offline with “brickless evidence verify FILE --key KEY” (docs/evidence.md).',
    signedBy: 'The organisation’s evidence key (pin it as KEY; also at /public/orgs/…/evidence-key):',
    downloadProduct: 'Download the pack of the product',
    releaseLabel: 'One release',
    releaseHint: 'Only this release: its SBOMs, vulnerabilities and audit entries.',
    chooseRelease: 'Choose a release',
    downloadRelease: 'Download the pack of this release',
    noReleases: 'The product has no releases yet, so there is no release pack.',
    filterLabel: 'Show provisions carried by',
    all: 'everyone',
    carrierBrickless: 'brickless',
    carrierShared: 'shared',
    carrierMaker: 'maker',
    carrierHint:
      'brickless: the backend carries it. shared: brickless carries the backend’s part, the device’s part is yours. maker: it lies in the device, its documentation or your processes.',
    etsiTitle: 'ETSI EN 303 645 V2.1.1',
    annexTitle: 'CRA Annex I',
    id: 'Provision',
    provision: 'Title',
    carriedBy: 'Carried by',
    evidence: 'Evidence in the pack',
    makerProvides: 'What you still provide',
    none: '–',
    shown: (n: number, total: number) => `${n} of ${total} shown`,
    nothingShown: 'No provision has this carrier.',
  },
  de: {
    title: 'Nachweise',
    pageTitle: (name: string) => `Nachweise: ${name}`,
    back: 'Produkte',
    intro:
      'Was brickless für dieses Produkt nach dem Cyber Resilience Act zeigen kann: wer jede Anforderung von ETSI EN 303 645 und CRA Anhang I trägt, und das signierte Nachweispaket mit den Dokumenten dazu.',
    noPermission:
      'Die Nachweise brauchen die Berechtigung audit:read (Rollen admin, security und auditor). Bitten Sie eine Administratorin.',
    downloadTitle: 'Nachweispaket herunterladen',
    downloadIntro:
      'Ein ZIP mit einem Manifest, signiert mit dem Nachweisschlüssel der Organisation. Offline prüfen mit „brickless evidence verify DATEI --key SCHLÜSSEL“ (docs/evidence.md).',
    signedBy:
      'Der Nachweisschlüssel der Organisation (als SCHLÜSSEL festhalten; auch unter /public/orgs/…/evidence-key):',
    downloadProduct: 'Paket des Produkts herunterladen',
    releaseLabel: 'Ein Release',
    releaseHint: 'Nur dieses Release: seine SBOMs, Schwachstellen und Audit-Einträge.',
    chooseRelease: 'Release wählen',
    downloadRelease: 'Paket dieses Releases herunterladen',
    noReleases: 'Das Produkt hat noch keine Releases, daher gibt es kein Release-Paket.',
    filterLabel: 'Anforderungen zeigen, getragen von',
    all: 'allen',
    carrierBrickless: 'brickless',
    carrierShared: 'geteilt',
    carrierMaker: 'Hersteller',
    carrierHint:
      'brickless: das Backend trägt sie. geteilt: brickless trägt den Teil des Backends, der Teil des Geräts liegt bei Ihnen. Hersteller: sie liegt im Gerät, seiner Dokumentation oder Ihren Abläufen.',
    etsiTitle: 'ETSI EN 303 645 V2.1.1',
    annexTitle: 'CRA Anhang I',
    id: 'Anforderung',
    provision: 'Titel',
    carriedBy: 'Getragen von',
    evidence: 'Nachweis im Paket',
    makerProvides: 'Was Sie noch liefern',
    none: '–',
    shown: (n: number, total: number) => `${n} von ${total} angezeigt`,
    nothingShown: 'Keine Anforderung hat diesen Träger.',
  },
});
