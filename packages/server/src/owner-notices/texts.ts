/**
 * What each owner notice says, in English and German (issue 18 §3). Product names, serials and
 * the maker's sunset message come from outside the owner's control: they are flattened to one
 * line and shortened (oneLine), and the HTML part of an e-mail escapes them.
 */
import { type Language, oneLine } from '../notifications/texts.js';
import { escapeHtml } from '../vulnerabilities/routes/html.js';
import { EXPORT_PATH, type OwnerEventData, type OwnerNoticeKind } from './catalogue.js';

export interface OwnerNoticeContext {
  productName: string;
  modelNumber: string;
  /** The serials of the recipient's devices the notice is about. */
  serials: string[];
  /** `http.publicUrl` without a trailing slash, or null. */
  publicUrl: string | null;
  /** Today (YYYY-MM-DD), to tell a support period that has ended from one that runs. */
  today?: string;
}

export interface OwnerNoticeText {
  title: string;
  body: string;
}

const day = (iso: unknown) => oneLine(iso, 40).slice(0, 10);
const url = (base: string | null, path: string) => (base ? `${base}${path}` : path);

function devicesLine(ctx: OwnerNoticeContext, lang: Language): string {
  const serials = ctx.serials.slice(0, 10).map((s) => oneLine(s, 60));
  const more = ctx.serials.length > 10 ? ` (+${ctx.serials.length - 10})` : '';
  const list = `${serials.join(', ')}${more}`;
  return lang === 'de' ? `Betrifft Ihr Gerät (Seriennummer): ${list}.` : `Your device (serial): ${list}.`;
}

type Texts = {
  [K in OwnerNoticeKind]: (
    d: OwnerEventData[`owner.${K}`],
    ctx: OwnerNoticeContext,
    lang: Language,
  ) => OwnerNoticeText;
};

const TEXTS: Texts = {
  // CRA Annex II (8); ETSI EN 303 645 5.3-13: the support period, in plain words.
  'support-period': (d, ctx, lang) => {
    const name = oneLine(ctx.productName, 80);
    const changed = d.previous !== null && d.previous !== d.supportEnds;
    // A device bought second-hand after its support ended: say so, plainly (CRA Annex II (8)).
    if (ctx.today && d.supportEnds < ctx.today)
      return lang === 'de'
        ? {
            title: `${name}: Sicherheitsupdates endeten am ${day(d.supportEnds)}`,
            body:
              `Der Hersteller hat die Sicherheitsupdates für ${name} am ${day(d.supportEnds)} beendet. Das Gerät funktioniert weiter, erhält aber keine Sicherheitskorrekturen mehr; verbinden Sie es nur mit Netzen, denen Sie vertrauen. ` +
              devicesLine(ctx, lang),
          }
        : {
            title: `${name}: security updates ended on ${day(d.supportEnds)}`,
            body:
              `The maker stopped security updates for ${name} on ${day(d.supportEnds)}. The device keeps working but gets no more security fixes; connect it only to networks you trust. ` +
              devicesLine(ctx, lang),
          };
    if (lang === 'de')
      return {
        title: changed
          ? `${name}: Sicherheitsupdates jetzt bis ${day(d.supportEnds)}`
          : `${name}: Sicherheitsupdates bis ${day(d.supportEnds)}`,
        body:
          (changed
            ? `Der Hersteller hat den Unterstützungszeitraum von ${name} geändert: Sicherheitsupdates gibt es jetzt bis ${day(d.supportEnds)} (bisher ${day(d.previous)}). `
            : `Der Hersteller liefert für ${name} (Modell ${oneLine(ctx.modelNumber, 60)}) kostenlose Sicherheitsupdates bis einschließlich ${day(d.supportEnds)}. `) +
          'Updates kommen automatisch, solange das Gerät mit dem Netz verbunden ist; wir schreiben Ihnen, wenn eines verfügbar ist und wenn es installiert wurde, und rechtzeitig vor dem Ende. ' +
          devicesLine(ctx, lang),
      };
    return {
      title: changed
        ? `${name}: security updates now until ${day(d.supportEnds)}`
        : `${name}: security updates until ${day(d.supportEnds)}`,
      body:
        (changed
          ? `The maker changed the support period of ${name}: security updates now come until ${day(d.supportEnds)} (was ${day(d.previous)}). `
          : `The maker provides free security updates for ${name} (model ${oneLine(ctx.modelNumber, 60)}) until ${day(d.supportEnds)} inclusive. `) +
        'Updates arrive by themselves while the device is online; we write to you when one is available, when it is installed, and in good time before support ends. ' +
        devicesLine(ctx, lang),
    };
  },
  'update-available': (d, ctx, lang) => {
    const name = oneLine(ctx.productName, 80);
    const version = oneLine(d.version, 40);
    if (lang === 'de')
      return {
        title: d.security
          ? `Sicherheitsupdate ${version} für ${name} verfügbar`
          : `Update ${version} für ${name} verfügbar`,
        body:
          `Version ${version} wird gerade an Ihr Gerät verteilt${d.security ? '; sie schließt Sicherheitslücken und ist kostenlos' : ''}. ` +
          'Sie müssen nichts tun: Das Gerät installiert sie, sobald es nicht beschäftigt ist, und meldet sich danach. Lassen Sie es eingeschaltet und verbunden. ' +
          devicesLine(ctx, lang),
      };
    return {
      title: d.security
        ? `Security update ${version} available for ${name}`
        : `Update ${version} available for ${name}`,
      body:
        `Version ${version} is being delivered to your device${d.security ? '; it fixes security vulnerabilities and is free' : ''}. ` +
        'Nothing to do: the device installs it when it is not busy and reports back. Keep it switched on and connected. ' +
        devicesLine(ctx, lang),
    };
  },
  'update-installed': (d, ctx, lang) => {
    const name = oneLine(ctx.productName, 80);
    const version = oneLine(d.version, 40);
    if (lang === 'de')
      return {
        title: `${name}: Version ${version} installiert`,
        body: `Ihr Gerät hat Version ${version} installiert und läuft damit. ${devicesLine(ctx, lang)}`,
      };
    return {
      title: `${name}: version ${version} installed`,
      body: `Your device installed version ${version} and runs it now. ${devicesLine(ctx, lang)}`,
    };
  },
  // CRA Annex II (8), ETSI 5.3-13: the end of support, told ahead of time.
  'end-of-support-ahead': (d, ctx, lang) => {
    const name = oneLine(ctx.productName, 80);
    const exportUrl = url(ctx.publicUrl, EXPORT_PATH);
    if (lang === 'de')
      return {
        title: `${name}: Sicherheitsupdates enden am ${day(d.supportEnds)}`,
        body:
          `Der Hersteller liefert für ${name} noch bis ${day(d.supportEnds)} Sicherheitsupdates (noch ${d.daysLeft} Tage). ` +
          'Danach funktioniert das Gerät weiter, erhält aber keine Sicherheitskorrekturen mehr; verbinden Sie es dann nur noch mit Netzen, denen Sie vertrauen. ' +
          `Ihre Daten können Sie jederzeit exportieren: ${exportUrl}. ${devicesLine(ctx, lang)}`,
      };
    return {
      title: `${name}: security updates end on ${day(d.supportEnds)}`,
      body:
        `The maker provides security updates for ${name} until ${day(d.supportEnds)} (${d.daysLeft} days from now). ` +
        'After that the device keeps working but gets no more security fixes; then connect it only to networks you trust. ' +
        `You can export your data at any time: ${exportUrl}. ${devicesLine(ctx, lang)}`,
    };
  },
  // CRA Art. 13(23); ETSI 5.11: local mode from now on, and the data export.
  sunset: (d, ctx, lang) => {
    const name = oneLine(ctx.productName, 80);
    const localDoc = url(ctx.publicUrl, '/public/docs/local-mode.md');
    const notice = url(
      ctx.publicUrl,
      `/public/orgs/${encodeURIComponent(d.orgSlug)}/products/${encodeURIComponent(d.productId)}/end-of-support`,
    );
    const exportUrl = url(ctx.publicUrl, EXPORT_PATH);
    const message = oneLine(d.message, 600);
    if (lang === 'de')
      return {
        title: `${name}: Der Hersteller beendet den Dienst (seit ${day(d.publishedAt)})`,
        body:
          `Der Hersteller hat den Cloud-Dienst für ${name} am ${day(d.publishedAt)} eingestellt. Seine Mitteilung: „${message}“ ` +
          'Ihr Gerät wechselt in den lokalen Modus und funktioniert in Ihrem eigenen Netz weiter: Es spricht dasselbe Protokoll mit einem MQTT-Broker, den Sie betreiben (etwa dem Mosquitto-Add-on von Home Assistant), mit Ihren eigenen Zugangsdaten; nichts verlässt Ihr Netz, und Home Assistant findet es von selbst. ' +
          `Anleitung: ${localDoc}. Exportieren Sie Ihre Daten, solange dieser Server läuft: ${exportUrl}. Bekanntmachung des Herstellers: ${notice}. ${devicesLine(ctx, lang)}`,
      };
    return {
      title: `${name}: the maker ended its service (on ${day(d.publishedAt)})`,
      body:
        `The maker ended the cloud service for ${name} on ${day(d.publishedAt)}. Their notice: “${message}” ` +
        'Your device switches to local mode and keeps working on your own network: it speaks the same protocol to an MQTT broker you run (for example the Mosquitto add-on of Home Assistant), with your own credentials; nothing leaves your network, and Home Assistant discovers it. ' +
        `How to set it up: ${localDoc}. Export your data while this server still runs: ${exportUrl}. The maker's notice: ${notice}. ${devicesLine(ctx, lang)}`,
    };
  },
};

export function ownerNoticeText(
  kind: OwnerNoticeKind,
  data: Record<string, unknown>,
  ctx: OwnerNoticeContext,
  lang: Language,
): OwnerNoticeText {
  return (TEXTS[kind] as (d: unknown, c: OwnerNoticeContext, l: Language) => OwnerNoticeText)(
    data,
    ctx,
    lang,
  );
}

/** The e-mail of a notice: plain text, and an HTML part in which everything from outside is escaped. */
export function ownerMail(
  notice: { title: string; body: string },
  lang: Language,
  noticesUrl: string | null,
): { subject: string; text: string; html: string } {
  const footer =
    lang === 'de'
      ? 'Sie erhalten diese Nachricht, weil Sie dieses Gerät bei brickless registriert haben. Alle Hinweise finden Sie auch in Ihrer App.'
      : 'You get this because you registered this device with brickless. Every notice is in your app as well.';
  const link = noticesUrl
    ? [lang === 'de' ? `Alle Hinweise: ${noticesUrl}` : `All notices: ${noticesUrl}`]
    : [];
  const text = [notice.body, '', ...link, ...(link.length ? [''] : []), '--', footer].join('\n');
  const html =
    `<!doctype html><html lang="${lang}"><body><h1>${escapeHtml(notice.title)}</h1>` +
    `<p>${escapeHtml(notice.body)}</p>${link.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}` +
    `<hr><p><small>${escapeHtml(footer)}</small></p></body></html>`;
  return { subject: oneLine(notice.title, 200), text: `${text}\n`, html };
}
