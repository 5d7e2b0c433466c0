import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { escapeHtml } from '../vulnerabilities/routes/html.js';
import { INVITATION_SCRIPT } from './invitation-page.script.js';
import { PASSWORD_MIN } from './passwords.js';

/**
 * The page a one-time link opens (`/invitation#<secret>`: the setup link of the first start,
 * `people invite`, the successor's link after `escrow restore`) until the console (issue 17)
 * replaces it. The HTML is static, one per language; its script (/invitation.js) reads the secret
 * from the fragment, which no browser sends to a server, and talks to the JSON API
 * (`GET /v1/auth/invitations/{secret}`, `POST …/accept`).
 */

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}' +
  'label{display:block;margin-top:1rem;font-weight:600}input{display:block;width:100%;box-sizing:border-box;font:inherit;padding:.4rem;border:1px solid #555}' +
  'button{margin-top:1.25rem;font:inherit;padding:.5rem 1rem}dt{font-weight:600}dd{margin:0 0 .5rem}' +
  '.hint{color:#444;margin:.25rem 0 0}.alert{border:2px solid #a00;padding:.5rem .75rem;margin:1rem 0;font-weight:600}' +
  ':focus-visible{outline:3px solid #0b57d0;outline-offset:2px}[aria-invalid=true]{border:3px solid #a00}';

/**
 * The page's policy: PAGE_CSP's strictness (nothing by default, never framed, no base, forms only to
 * ourselves), plus our own script and our own API, the one style block by its hash instead of
 * 'unsafe-inline', and Trusted Types so that no string can become HTML in this page.
 */
export const INVITATION_CSP = [
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
    title: 'Accept your invitation to brickless',
    intro: 'This one-time link creates your brickless account.',
    noscript:
      'This page needs JavaScript. A script can accept the link with POST /v1/auth/invitations/{secret}/accept.',
    offer: 'What this link gives you',
    account: 'Your account',
    email: 'E-mail address',
    displayName: 'Display name',
    displayNameHint: 'How brickless names you to others, for example in the audit trail.',
    password: 'Password',
    passwordHint: `At least ${PASSWORD_MIN} characters; a passphrase of a few words works well. Not your e-mail address.`,
    submit: 'Create my account',
    done: 'Welcome',
    next: 'Next: add a passkey in the console, the sign-in brickless prefers, or turn on a second factor there.',
    openAccount: 'Open my account in the console',
  },
  de: {
    title: 'Einladung zu brickless annehmen',
    intro: 'Dieser einmalige Link legt Ihr brickless-Konto an.',
    noscript:
      'Diese Seite braucht JavaScript. Ein Skript kann den Link mit POST /v1/auth/invitations/{secret}/accept annehmen.',
    offer: 'Was dieser Link Ihnen gibt',
    account: 'Ihr Konto',
    email: 'E-Mail-Adresse',
    displayName: 'Anzeigename',
    displayNameHint: 'So nennt brickless Sie anderen, zum Beispiel im Audit-Protokoll.',
    password: 'Passwort',
    passwordHint: `Mindestens ${PASSWORD_MIN} Zeichen; eine Passphrase aus einigen Wörtern eignet sich gut. Nicht Ihre E-Mail-Adresse.`,
    submit: 'Mein Konto anlegen',
    done: 'Willkommen',
    next: 'Als Nächstes: Fügen Sie in der Konsole einen Passkey hinzu, die Anmeldung, die brickless bevorzugt, oder schalten Sie dort einen zweiten Faktor ein.',
    openAccount: 'Mein Konto in der Konsole öffnen',
  },
};

function render(lang: Lang): string {
  const t = Object.fromEntries(Object.entries(TEXT[lang]).map(([k, v]) => [k, escapeHtml(v)]));
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.title}</title>
<style>${STYLE}</style>
<script type="module" src="/invitation.js"></script>
</head><body><main>
<h1>${t.title}</h1>
<p>${t.intro}</p>
<noscript><p>${t.noscript}</p></noscript>
<p id="status" role="status" aria-live="polite"></p>
<div id="alert" class="alert" role="alert" aria-live="assertive" hidden></div>
<section id="offer-section" aria-labelledby="offer-heading" hidden><h2 id="offer-heading">${t.offer}</h2><dl id="offer"></dl></section>
<form id="accept" novalidate hidden aria-labelledby="account-heading">
<h2 id="account-heading">${t.account}</h2>
<div id="email-field"><label for="email">${t.email}</label><input id="email" name="email" type="email" autocomplete="email" maxlength="254" required></div>
<label for="displayName">${t.displayName}</label><input id="displayName" name="displayName" autocomplete="name" maxlength="200" aria-describedby="displayName-hint"><p id="displayName-hint" class="hint">${t.displayNameHint}</p>
<label for="password">${t.password}</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="${PASSWORD_MIN}" maxlength="1024" required aria-describedby="password-hint"><p id="password-hint" class="hint">${t.passwordHint}</p>
<button id="submit" type="submit">${t.submit}</button>
</form>
<section id="done" aria-labelledby="done-heading" hidden><h2 id="done-heading" tabindex="-1">${t.done}</h2><p id="signed-in-as"></p><p>${t.next}</p><p><a href="/account">${t.openAccount}</a></p></section>
</main></body></html>`;
}

const PAGES: Record<Lang, string> = { en: render('en'), de: render('de') };

/** The language the browser prefers among ours (RFC 9110 §12.5.4: quality values; English otherwise). */
export function pickLanguage(acceptLanguage: string | undefined): Lang {
  let best: Lang = 'en';
  let bestQ = 0;
  for (const part of (acceptLanguage ?? '').split(',').slice(0, 20)) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const q = Number(
      params
        .find((p) => p.trim().startsWith('q='))
        ?.trim()
        .slice(2) ?? '1',
    );
    const primary = range.split('-')[0];
    if ((primary === 'de' || primary === 'en') && Number.isFinite(q) && q > bestQ) {
      best = primary;
      bestQ = q;
    }
  }
  return best;
}

/** Headers of both answers: never stored (the page's address held a secret), never named to others. */
function noTrace(reply: FastifyReply): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', INVITATION_CSP);
}

export function invitationPageRoutes(app: FastifyInstance): void {
  const tags = ['people'];
  app.get<{ Querystring: { lang?: Lang } }>(
    '/invitation',
    {
      schema: {
        tags,
        security: [],
        summary:
          'The page a one-time link opens (/invitation#secret): shows the invitation, creates the account (English or German)',
        querystring: Type.Object(
          { lang: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('de')])) },
          { additionalProperties: false },
        ),
        produces: ['text/html'],
      },
    },
    async (request, reply) => {
      const lang = request.query.lang ?? pickLanguage(request.headers['accept-language']);
      return noTrace(reply)
        .header('vary', 'accept-language')
        .type('text/html; charset=utf-8')
        .send(PAGES[lang]);
    },
  );
  app.get(
    '/invitation.js',
    {
      schema: {
        tags,
        security: [],
        summary: 'The script of the invitation page',
        produces: ['text/javascript'],
      },
    },
    async (_request, reply) => noTrace(reply).type('text/javascript; charset=utf-8').send(INVITATION_SCRIPT),
  );
}
