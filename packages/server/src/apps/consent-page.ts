import { createHash } from 'node:crypto';
import { escapeHtml } from '../vulnerabilities/routes/html.js';
import { type AppScope, SCOPE_TEXT } from './scopes.js';

type Lang = 'en' | 'de';

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}' +
  'ul{padding-left:1.25rem}button{font:inherit;padding:.5rem 1.25rem;margin:1rem 1rem 0 0}' +
  '.app{font-weight:700}.hint{color:#444}:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}';
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

const TEXT = {
  en: {
    consentTitle: 'Allow access to your devices?',
    wants: 'wants to act for you on your devices of',
    may: 'It will be able to:',
    allow: 'Allow',
    deny: 'Deny',
    later: 'You can take this back at any time in your account (your apps).',
    signInTitle: 'Sign in first',
    signIn:
      'An app asked to act for you. Sign in as the owner of your devices first, then open the app’s link again.',
    signInLink: 'Sign in',
    errorTitle: 'This request cannot be used',
    errorHint: 'Tell the app’s maker what went wrong:',
    continue: 'Continue',
  },
  de: {
    consentTitle: 'Zugriff auf Ihre Geräte erlauben?',
    wants: 'möchte für Sie auf Ihre Geräte zugreifen, von',
    may: 'Die App kann dann:',
    allow: 'Erlauben',
    deny: 'Ablehnen',
    later: 'Sie können das jederzeit in Ihrem Konto (Ihre Apps) zurücknehmen.',
    signInTitle: 'Bitte zuerst anmelden',
    signIn:
      'Eine App möchte für Sie handeln. Melden Sie sich zuerst als Besitzer Ihrer Geräte an und öffnen Sie dann den Link der App erneut.',
    signInLink: 'Anmelden',
    errorTitle: 'Diese Anfrage kann nicht verwendet werden',
    errorHint: 'Teilen Sie dem Hersteller der App mit, was nicht stimmt:',
    continue: 'Weiter',
  },
} satisfies Record<Lang, Record<string, string>>;

export interface Page {
  html: string;
  csp: string;
}

/**
 * The policy of every page here: nothing loads, nothing frames it (clickjacking on consent, RFC
 * 6819 §4.4.1.9), its one style by hash; forms post to us only, and the redirect after a form may
 * go to the app's redirect URI's origin (browsers check form-action on that redirect too).
 */
function csp(formTarget: string | null): string {
  return [
    "default-src 'none'",
    `style-src 'sha256-${STYLE_HASH}'`,
    `form-action 'self'${formTarget ? ` ${formTarget}` : ''}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The origin (https, loopback) or scheme (a native app's own) a redirect URI goes to, for form-action. */
export function formTargetOf(redirectUri: string): string | null {
  try {
    const url = new URL(redirectUri);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.origin;
    return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? url.protocol : null;
  } catch {
    return null;
  }
}

function page(lang: Lang, title: string, body: string, formTarget: string | null = null): Page {
  return {
    html:
      `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">` +
      '<meta name="viewport" content="width=device-width, initial-scale=1">' +
      `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>` +
      `<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`,
    csp: csp(formTarget),
  };
}

/** The consent page: the app, its maker's organisation, the scopes in words, Allow and Deny. */
export function consentPage(input: {
  lang: Lang;
  appName: string;
  orgName: string;
  scopes: AppScope[];
  /** The request's parameters, posted back with the decision. */
  params: Record<string, string>;
  csrfToken: string;
  redirectUri: string;
}): Page {
  const t = TEXT[input.lang];
  const hidden = Object.entries(input.params)
    .filter(([key]) => key !== 'csrf_token' && key !== 'decision')
    .map(([key, value]) => `<input type="hidden" name="${escapeHtml(key)}" value="${escapeHtml(value)}">`)
    .join('');
  const scopes = input.scopes.map((s) => `<li>${escapeHtml(SCOPE_TEXT[s][input.lang])}</li>`).join('');
  return page(
    input.lang,
    t.consentTitle,
    // <bdi>: a name's own direction controls (Trojan Source, CVE-2021-42574) cannot reorder the sentence.
    `<p><bdi class="app">${escapeHtml(input.appName)}</bdi> ${escapeHtml(t.wants)} <bdi>${escapeHtml(input.orgName)}</bdi>.</p>` +
      `<p>${escapeHtml(t.may)}</p><ul>${scopes}</ul>` +
      `<form method="post" action="/oauth/authorize">${hidden}` +
      `<input type="hidden" name="csrf_token" value="${escapeHtml(input.csrfToken)}">` +
      `<button type="submit" name="decision" value="allow">${escapeHtml(t.allow)}</button>` +
      `<button type="submit" name="decision" value="deny">${escapeHtml(t.deny)}</button></form>` +
      `<p class="hint">${escapeHtml(t.later)}</p>`,
    formTargetOf(input.redirectUri),
  );
}

/** Not signed in as an owner: where to sign in, and to come back. */
export function signInPage(lang: Lang): Page {
  const t = TEXT[lang];
  return page(
    lang,
    t.signInTitle,
    `<p>${escapeHtml(t.signIn)}</p><p><a href="/owner/sign-in">${escapeHtml(t.signInLink)}</a></p>`,
  );
}

/** A request whose app or redirect URI cannot be trusted: the owner sees why; nothing is redirected. */
export function errorPage(lang: Lang, message: string): Page {
  const t = TEXT[lang];
  return page(
    lang,
    t.errorTitle,
    `<p>${escapeHtml(t.errorHint)}</p><p><code>${escapeHtml(message)}</code></p>`,
  );
}

/**
 * The owner's cookie is SameSite=Strict, so a browser leaves it off the navigation that comes
 * from the app's site. This page sends the browser to the same address once more, now from our
 * own page (same-site), where the cookie comes along. No script: a meta refresh, and a link.
 */
export function bouncePage(lang: Lang, url: string): Page {
  const t = TEXT[lang];
  const html = page(lang, t.signInTitle, `<p><a href="${escapeHtml(url)}">${escapeHtml(t.continue)}</a></p>`);
  return {
    ...html,
    html: html.html.replace(
      '<title>',
      `<meta http-equiv="refresh" content="0;url=${escapeHtml(url)}"><title>`,
    ),
  };
}
