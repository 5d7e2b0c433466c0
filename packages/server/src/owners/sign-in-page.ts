import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { escapeHtml } from '../vulnerabilities/routes/html.js';
import { ownerPageRoutes } from './page-routes.js';
import { LINK_MINUTES } from './sign-in.js';
import { OWNER_SIGN_IN_SCRIPT } from './sign-in-page.script.js';

/**
 * The page an owner's sign-in link opens (`/owner/sign-in#<secret>`, issue 18 §1): it posts the
 * secret from the fragment, which no browser sends to a server, to `/v1/owner/sign-in/complete`;
 * it also asks for a new link by e-mail, signs in with a passkey, and lets a signed-in owner add
 * one. Static HTML, one per language, and a script of its own (/owner/sign-in.js), as the
 * invitation page (people/invitation-page.ts) does.
 */

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}' +
  'label{display:block;margin-top:1rem;font-weight:600}input{display:block;width:100%;box-sizing:border-box;font:inherit;padding:.4rem;border:1px solid #555}' +
  'button{margin-top:1rem;font:inherit;padding:.5rem 1rem}.hint{color:#444;margin:.25rem 0 0}' +
  '.alert{border:2px solid #a00;padding:.5rem .75rem;margin:1rem 0;font-weight:600}' +
  ':focus-visible{outline:3px solid #0b57d0;outline-offset:2px}[aria-invalid=true]{border:3px solid #a00}';

/** The invitation page's policy: only our own script and API, the style by its hash, Trusted Types. */
export const OWNER_SIGN_IN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

type Lang = 'en' | 'de';

const TEXT: Record<Lang, Record<string, string>> = {
  en: {
    title: 'Sign in to your devices',
    intro: 'No password: sign in with a passkey, or with a link we send to your e-mail address.',
    noscript:
      'This page needs JavaScript. A script can use the link with POST /v1/owner/sign-in/complete and the part of the link after #.',
    passkeyHeading: 'With a passkey',
    passkeyHint: 'If you added a passkey before, your device or password manager offers it.',
    passkeyButton: 'Sign in with a passkey',
    linkHeading: 'With an e-mail link',
    email: 'E-mail address',
    emailHint: `The link works once, for ${LINK_MINUTES} minutes. Open it in this browser.`,
    send: 'Send me a link',
    done: 'You are signed in',
    next: 'Next: claim a device with the code on its label in your maker’s app, or see your devices there. Add a passkey below, and next time you sign in without waiting for an e-mail.',
    passkeys: 'Your passkeys',
    none: 'No passkey yet.',
    passkeyName: 'Name of the new passkey',
    passkeyNameHint: 'So that you recognise it later, for example “my phone”.',
    defaultName: 'My passkey',
    add: 'Add a passkey',
    signOut: 'Sign out',
  },
  de: {
    title: 'Bei Ihren Geräten anmelden',
    intro:
      'Ohne Passwort: Melden Sie sich mit einem Passkey an oder mit einem Link, den wir an Ihre E-Mail-Adresse senden.',
    noscript:
      'Diese Seite braucht JavaScript. Ein Skript kann den Link mit POST /v1/owner/sign-in/complete und dem Teil des Links nach # verwenden.',
    passkeyHeading: 'Mit einem Passkey',
    passkeyHint:
      'Wenn Sie schon einen Passkey hinzugefügt haben, bietet ihn Ihr Gerät oder Passwort-Manager an.',
    passkeyButton: 'Mit einem Passkey anmelden',
    linkHeading: 'Mit einem Link per E-Mail',
    email: 'E-Mail-Adresse',
    emailHint: `Der Link funktioniert einmal, ${LINK_MINUTES} Minuten lang. Öffnen Sie ihn in diesem Browser.`,
    send: 'Link senden',
    done: 'Sie sind angemeldet',
    next: 'Als Nächstes: Beanspruchen Sie ein Gerät mit dem Code auf seinem Etikett in der App des Herstellers, oder sehen Sie dort Ihre Geräte. Fügen Sie unten einen Passkey hinzu, dann melden Sie sich nächstes Mal ohne Warten auf eine E-Mail an.',
    passkeys: 'Ihre Passkeys',
    none: 'Noch kein Passkey.',
    passkeyName: 'Name des neuen Passkeys',
    passkeyNameHint: 'Damit Sie ihn später wiedererkennen, zum Beispiel „mein Telefon“.',
    defaultName: 'Mein Passkey',
    add: 'Passkey hinzufügen',
    signOut: 'Abmelden',
  },
};

function render(lang: Lang): string {
  const t = Object.fromEntries(Object.entries(TEXT[lang]).map(([k, v]) => [k, escapeHtml(v)]));
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.title}</title>
<style>${STYLE}</style>
<script type="module" src="/owner/sign-in.js"></script>
</head><body><main>
<h1>${t.title}</h1>
<noscript><p>${t.noscript}</p></noscript>
<p id="status" role="status" aria-live="polite"></p>
<div id="alert" class="alert" role="alert" aria-live="assertive" hidden></div>
<div id="sign-in" hidden>
<p>${t.intro}</p>
<section aria-labelledby="passkey-heading"><h2 id="passkey-heading">${t.passkeyHeading}</h2>
<p class="hint">${t.passkeyHint}</p>
<button id="passkey" type="button">${t.passkeyButton}</button></section>
<section aria-labelledby="link-heading"><h2 id="link-heading">${t.linkHeading}</h2>
<form id="link-form" novalidate>
<label for="email">${t.email}</label><input id="email" name="email" type="email" autocomplete="email" maxlength="254" required aria-describedby="email-hint"><p id="email-hint" class="hint">${t.emailHint}</p>
<button id="send" type="submit">${t.send}</button>
</form></section>
</div>
<section id="done" aria-labelledby="done-heading" hidden><h2 id="done-heading" tabindex="-1">${t.done}</h2>
<p id="signed-in-as"></p><p>${t.next}</p>
<h3 id="passkeys-heading">${t.passkeys}</h3>
<ul id="passkeys" aria-labelledby="passkeys-heading"></ul><p id="no-passkeys" hidden>${t.none}</p>
<form id="add-form" novalidate>
<label for="passkey-name">${t.passkeyName}</label><input id="passkey-name" name="name" maxlength="200" value="${t.defaultName}" aria-describedby="passkey-name-hint"><p id="passkey-name-hint" class="hint">${t.passkeyNameHint}</p>
<button id="add" type="submit">${t.add}</button>
</form>
<button id="sign-out" type="button">${t.signOut}</button>
</section>
</main></body></html>`;
}

const PAGES: Record<Lang, string> = { en: render('en'), de: render('de') };

export function ownerSignInPageRoutes(app: FastifyInstance): void {
  ownerPageRoutes(app, {
    path: '/owner/sign-in',
    summary:
      'The page an owner’s sign-in link opens (/owner/sign-in#secret): link, passkey, adding a passkey (English or German)',
    scriptSummary: 'The script of the owner sign-in page',
    pages: PAGES,
    script: OWNER_SIGN_IN_SCRIPT,
    csp: OWNER_SIGN_IN_CSP,
  });
}
