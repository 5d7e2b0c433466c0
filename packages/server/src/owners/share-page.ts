import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { escapeHtml } from '../vulnerabilities/routes/html.js';
import { ownerPageRoutes } from './page-routes.js';
import { SHARE_PAGE_SCRIPT } from './share-page.script.js';

/**
 * The page a share invitation opens (`/owner/shares/accept#<secret>`, issue 18 §1, docs/owners.md
 * "Sharing"): it posts the secret from the fragment, which no browser sends to a server, to
 * `/v1/owner/shares/accept` for the signed-in owner. Someone not signed in asks for a sign-in link
 * here, opens it in another tab, and comes back to this one, which kept the secret in memory.
 * Static HTML, one per language, and a script of its own (/owner/shares/accept.js), as the
 * sign-in page (owners/sign-in-page.ts) does.
 */

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}' +
  'label{display:block;margin-top:1rem;font-weight:600}input{display:block;width:100%;box-sizing:border-box;font:inherit;padding:.4rem;border:1px solid #555}' +
  'button{margin-top:1rem;margin-right:1rem;font:inherit;padding:.5rem 1rem}.hint{color:#444;margin:.25rem 0 0}' +
  '.alert{border:2px solid #a00;padding:.5rem .75rem;margin:1rem 0;font-weight:600}' +
  ':focus-visible{outline:3px solid #0b57d0;outline-offset:2px}[aria-invalid=true]{border:3px solid #a00}';

/** Only our own script and API, the style by its hash, Trusted Types (as the sign-in page). */
export const SHARE_PAGE_CSP = [
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
    title: 'Accept a shared device',
    noscript:
      'This page needs JavaScript. A script can accept the invitation with POST /v1/owner/shares/accept and the part of the link after #.',
    signInHeading: 'Sign in first',
    signInIntro:
      'Sign in with the e-mail address the invitation was sent to. We send you a sign-in link: open it in this browser, then come back to this tab and accept.',
    email: 'E-mail address',
    emailHint: 'The address the invitation was sent to.',
    send: 'Send me a sign-in link',
    acceptHint: 'After you opened the sign-in link:',
    accept: 'Accept the invitation',
    elsewhere:
      'Or sign in on the sign-in page, and open the invitation link from the e-mail again afterwards.',
    signInLink: 'Go to the sign-in page',
    done: 'The device is shared with you',
    next: 'Find it with your other devices in your maker’s app.',
    signOut: 'Sign out',
  },
  de: {
    title: 'Ein geteiltes Gerät annehmen',
    noscript:
      'Diese Seite braucht JavaScript. Ein Skript kann die Einladung mit POST /v1/owner/shares/accept und dem Teil des Links nach # annehmen.',
    signInHeading: 'Bitte zuerst anmelden',
    signInIntro:
      'Melden Sie sich mit der E-Mail-Adresse an, an die die Einladung ging. Wir senden Ihnen einen Anmeldelink: Öffnen Sie ihn in diesem Browser, kommen Sie dann zu diesem Tab zurück und nehmen Sie an.',
    email: 'E-Mail-Adresse',
    emailHint: 'Die Adresse, an die die Einladung ging.',
    send: 'Anmeldelink senden',
    acceptHint: 'Nachdem Sie den Anmeldelink geöffnet haben:',
    accept: 'Einladung annehmen',
    elsewhere:
      'Oder melden Sie sich auf der Anmeldeseite an und öffnen Sie danach den Einladungslink aus der E-Mail erneut.',
    signInLink: 'Zur Anmeldeseite',
    done: 'Das Gerät ist mit Ihnen geteilt',
    next: 'Sie finden es bei Ihren anderen Geräten in der App des Herstellers.',
    signOut: 'Abmelden',
  },
};

function render(lang: Lang): string {
  const t = Object.fromEntries(Object.entries(TEXT[lang]).map(([k, v]) => [k, escapeHtml(v)]));
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.title}</title>
<style>${STYLE}</style>
<script type="module" src="/owner/shares/accept.js"></script>
</head><body><main>
<h1>${t.title}</h1>
<noscript><p>${t.noscript}</p></noscript>
<p id="status" role="status" aria-live="polite"></p>
<div id="alert" class="alert" role="alert" aria-live="assertive" hidden></div>
<section id="sign-in" aria-labelledby="sign-in-heading" hidden><h2 id="sign-in-heading">${t.signInHeading}</h2>
<p>${t.signInIntro}</p>
<form id="link-form" novalidate>
<label for="email">${t.email}</label><input id="email" name="email" type="email" autocomplete="email" maxlength="254" required aria-describedby="email-hint"><p id="email-hint" class="hint">${t.emailHint}</p>
<button id="send" type="submit">${t.send}</button>
</form>
<p>${t.acceptHint}</p>
<button id="accept" type="button">${t.accept}</button>
<p>${t.elsewhere} <a href="/owner/sign-in">${t.signInLink}</a></p>
</section>
<section id="done" aria-labelledby="done-heading" hidden><h2 id="done-heading" tabindex="-1">${t.done}</h2>
<p id="shared"></p><p>${t.next}</p>
</section>
<p id="signed-in-as" hidden></p>
<button id="sign-out" type="button" hidden>${t.signOut}</button>
</main></body></html>`;
}

const PAGES: Record<Lang, string> = { en: render('en'), de: render('de') };

export function sharePageRoutes(app: FastifyInstance): void {
  ownerPageRoutes(app, {
    path: '/owner/shares/accept',
    summary:
      'The page a share invitation opens (/owner/shares/accept#secret): sign in if needed, accept (English or German)',
    scriptSummary: 'The script of the share invitation page',
    pages: PAGES,
    script: SHARE_PAGE_SCRIPT,
    csp: SHARE_PAGE_CSP,
  });
}
