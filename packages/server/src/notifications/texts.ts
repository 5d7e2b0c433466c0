/**
 * What a notice says, in English and German (issue 18 §4): a title (the e-mail subject's tail and
 * the inbox headline), a short body saying what happened and what to do, and the console page to
 * open. Event data can hold text from outside (a researcher's disclosure title): it is flattened
 * to one line and shortened, and never becomes a header on its own.
 */
import type { OutboundEventType } from './catalogue.js';

export const languages = ['en', 'de'] as const;
export type Language = (typeof languages)[number];

export interface NoticeText {
  title: string;
  body: string;
  /** The console path to open (joined to `http.publicUrl` when the server knows it). */
  path: string;
}

/** One line, no control characters, at most `max` characters: safe in a subject and an inbox line. */
export function oneLine(value: unknown, max = 200): string {
  const text = String(value ?? '')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const enc = encodeURIComponent;
const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const round1 = (value: unknown) => Math.round(num(value) * 10) / 10;

type Texts = (d: Record<string, unknown>, lang: Language) => NoticeText;

const TEXTS: Record<OutboundEventType, Texts> = {
  'rollout.halted': (d, lang) => ({
    title:
      lang === 'de'
        ? `Rollout angehalten: ${oneLine(d.rolloutName, 80)} (${oneLine(d.version, 40)})`
        : `Rollout halted: ${oneLine(d.rolloutName, 80)} (${oneLine(d.version, 40)})`,
    body:
      lang === 'de'
        ? `Der Rollout von Version ${oneLine(d.version, 40)} wurde angehalten: ${oneLine(d.reason, 300)}. ` +
          'Sehen Sie sich die fehlgeschlagenen Geräte an; setzen Sie den Rollout danach fort (`brickless rollouts resume`) oder brechen Sie ihn ab.'
        : `The rollout of version ${oneLine(d.version, 40)} halted: ${oneLine(d.reason, 300)}. ` +
          'Look at the devices that failed, then resume the rollout (`brickless rollouts resume`) or cancel it.',
    path: `/rollouts/${enc(String(d.rolloutId ?? ''))}`,
  }),
  'exposure.new': (d, lang) => {
    const why = d.kev
      ? lang === 'de'
        ? 'aktiv ausgenutzt (KEV-Liste)'
        : 'actively exploited (KEV list)'
      : lang === 'de'
        ? 'kritisch'
        : 'critical';
    const products = Array.isArray(d.products) ? d.products.map((p) => oneLine(p, 60)).join(', ') : '';
    return {
      title:
        lang === 'de'
          ? `Neue Schwachstelle: ${oneLine(d.vulnerabilityId, 80)} (${why})`
          : `New exposure: ${oneLine(d.vulnerabilityId, 80)} (${why})`,
      body:
        lang === 'de'
          ? `${num(d.devices)} Geräte (${products}) laufen mit einer Version, die von ${oneLine(d.vulnerabilityId, 80)} betroffen ist. ` +
            'Bewerten Sie die Schwachstelle (Triage); bei aktiver Ausnutzung läuft die Meldefrist nach CRA Art. 14 bereits.'
          : `${num(d.devices)} devices (${products}) run a release affected by ${oneLine(d.vulnerabilityId, 80)}. ` +
            'Triage it; when it is actively exploited, the CRA Art. 14 report clock is already running.',
      path: `/vulnerabilities/${enc(String(d.vulnerabilityId ?? ''))}`,
    };
  },
  'report.deadline': (d, lang) => {
    const left = round1(d.hoursLeft);
    return {
      title:
        lang === 'de'
          ? `Meldefrist läuft ab: ${oneLine(d.stage, 40)} ${left > 0 ? `in ${left} h` : 'überschritten'}`
          : `Report deadline: ${oneLine(d.stage, 40)} ${left > 0 ? `due in ${left} h` : 'overdue'}`,
      body:
        lang === 'de'
          ? `Die Stufe „${oneLine(d.stage, 40)}“ des Meldefalls ${oneLine(d.reportCaseId, 40)} (${oneLine(d.vulnerabilityId, 80)}) ist bis ${oneLine(d.dueAt, 40)} fällig (CRA Art. 14). ` +
            'Reichen Sie die Meldung bei der ENISA-Plattform ein und tragen Sie sie ein (`brickless reports submit`).'
          : `The ${oneLine(d.stage, 40)} of report case ${oneLine(d.reportCaseId, 40)} (${oneLine(d.vulnerabilityId, 80)}) is due by ${oneLine(d.dueAt, 40)} (CRA Art. 14). ` +
            'Submit it on the ENISA platform and record the submission (`brickless reports submit`).',
      path: `/reports/${enc(String(d.reportCaseId ?? ''))}`,
    };
  },
  'disclosure.received': (d, lang) => ({
    title: lang === 'de' ? 'Neue Schwachstellenmeldung eingegangen' : 'A vulnerability disclosure arrived',
    body:
      lang === 'de'
        ? `Eine Forscherin oder ein Forscher hat eine Schwachstelle gemeldet: „${oneLine(d.title, 200)}“. ` +
          'Bestätigen Sie den Eingang und bewerten Sie die Meldung (`brickless disclosures show`).'
        : `A researcher reported a vulnerability: “${oneLine(d.title, 200)}”. ` +
          'Acknowledge it and triage the report (`brickless disclosures show`).',
    path: `/disclosures/${enc(String(d.disclosureId ?? ''))}`,
  }),
  'escrow.failed': (d, lang) => {
    const drill = d.what === 'drill';
    return {
      title:
        lang === 'de'
          ? drill
            ? 'Übernahmeprobe fehlgeschlagen'
            : 'Treuhand-Hinterlegung fehlgeschlagen'
          : drill
            ? 'Takeover drill failed'
            : 'Escrow deposit failed',
      body:
        lang === 'de'
          ? `${drill ? 'Die Übernahmeprobe' : 'Die Hinterlegung'} ist fehlgeschlagen: ${oneLine(d.reason, 400)}. ` +
            'Ohne gültige Hinterlegung kann ein Nachfolger den Betrieb nicht übernehmen; beheben Sie die Ursache und wiederholen Sie den Vorgang.'
          : `The ${drill ? 'takeover drill' : 'escrow deposit'} failed: ${oneLine(d.reason, 400)}. ` +
            'Without a good deposit a successor cannot take over; fix the cause and run it again.',
      path: '/continuity',
    };
  },
  'signing.expiring': (d, lang) => {
    const days = Math.max(0, Math.floor(num(d.daysLeft)));
    return {
      title:
        lang === 'de'
          ? `TUF-Rolle ${oneLine(d.role, 20)} läuft ${days > 0 ? `in ${days} Tagen` : 'jetzt'} ab`
          : `TUF ${oneLine(d.role, 20)} metadata expires ${days > 0 ? `in ${days} days` : 'now'}`,
      body:
        lang === 'de'
          ? `Die signierten ${oneLine(d.role, 20)}-Metadaten laufen am ${oneLine(d.expiresAt, 40)} ab; danach verweigern Geräte Updates. ` +
            'Signieren Sie rechtzeitig neu (root: `brickless updates root`, targets: `brickless release sign`; snapshot und timestamp signiert `brickless serve` selbst).'
          : `The signed ${oneLine(d.role, 20)} metadata expires at ${oneLine(d.expiresAt, 40)}; after that devices refuse updates. ` +
            'Sign it again in time (root: `brickless updates root`, targets: `brickless release sign`; `brickless serve` re-signs snapshot and timestamp itself).',
      path: '/releases',
    };
  },
  'continuity.warning': (d, lang) => ({
    title:
      lang === 'de'
        ? `Übernahmebereitschaft: Warnung ${oneLine(d.code, 40)}`
        : `Takeover readiness warning: ${oneLine(d.code, 40)}`,
    body:
      lang === 'de'
        ? `Der Bericht zur Übernahmebereitschaft warnt: ${oneLine(d.message, 400)} ` +
          'Prüfen Sie den Bericht (`brickless continuity readiness`) und beheben Sie die Ursache.'
        : `The takeover readiness report warns: ${oneLine(d.message, 400)} ` +
          'Look at the report (`brickless continuity readiness`) and fix the cause.',
    path: '/continuity',
  }),
  'webhook.test': (d, lang) => ({
    title: lang === 'de' ? 'Testereignis' : 'Test event',
    body: oneLine(d.message, 400),
    path: '/settings',
  }),
};

/** The notice of one event in one language. */
export function noticeText(
  type: OutboundEventType,
  data: Record<string, unknown>,
  lang: Language,
): NoticeText {
  return TEXTS[type](data, lang);
}

/** The e-mail: subject names the organisation, the body what happened, what to do, and where. */
export function mailText(
  notice: { title: string; body: string; link: string | null },
  orgName: string,
  lang: Language,
): { subject: string; text: string } {
  const org = oneLine(orgName, 80);
  const lines = [
    notice.body,
    '',
    ...(notice.link ? [lang === 'de' ? `Öffnen: ${notice.link}` : `Open: ${notice.link}`, ''] : []),
    '--',
    lang === 'de'
      ? `brickless, Organisation ${org}. Sie erhalten diese Nachricht wegen Ihrer Rolle dort; abbestellen mit \`brickless notifications preferences --set TYP=inbox\` oder auf Ihrer Kontoseite.`
      : `brickless, organisation ${org}. You get this because of your role there; stop these e-mails with \`brickless notifications preferences --set TYPE=inbox\` or on your account page.`,
  ];
  return { subject: `[${org}] ${notice.title}`, text: `${lines.join('\n')}\n` };
}
