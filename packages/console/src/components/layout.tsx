import { type ComponentChildren, Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { common } from '../i18n/common.js';
import { chooseLanguage, type Lang, lang, languages } from '../i18n/index.js';
import Organisations from '../pages/organisations/index.js';
import { sections } from '../sections.js';
import { useSession } from '../session.js';
import { ErrorMessage } from './alert.js';
import { inputValue } from './form.js';
import { PageTitle } from './page.js';

/** Pages that need no organisation: a person's own account, the API docs, the organisations. */
const OUTSIDE_ORGS = new Set(['account', 'docs', 'organisations']);

const LANGUAGE_NAMES: Record<Lang, string> = { en: 'English', de: 'Deutsch' };

/**
 * Every signed-in page: a skip link, the header (organisation, language, account, sign-out), the
 * navigation (only what the person's roles allow in this organisation) and the page itself in
 * <main>. Landmarks make each reachable by screen-reader shortcuts (WCAG 1.3.1, 2.4.1).
 */
export function Layout(props: { children: ComponentChildren }) {
  const session = useSession();
  const { path } = useLocation();
  const [signOutError, setSignOutError] = useState<unknown>(null);
  const current = path.split('/')[1] ?? '';
  const visible = sections.filter(
    (section) => section.nav && (section.permission === null || session.can(section.permission as never)),
  );
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        {common.skipToContent}
      </a>
      <header class="topbar">
        <a class="brand" href="/">
          {common.product}
        </a>
        <div class="topbar-controls">
          {session.orgs.length > 1 ? (
            <label class="inline-field">
              <span>{common.organization}</span>
              <select value={session.org?.slug ?? ''} onChange={(e) => session.chooseOrg(inputValue(e))}>
                {session.orgs.map((org) => (
                  <option key={org.slug} value={org.slug}>
                    {org.name}
                  </option>
                ))}
              </select>
            </label>
          ) : session.org ? (
            <span class="org-name">{session.org.name}</span>
          ) : null}
          <label class="inline-field">
            <span>{common.language}</span>
            <select value={lang} onChange={(e) => chooseLanguage(inputValue(e) as Lang)}>
              {languages.map((code) => (
                <option key={code} value={code} lang={code}>
                  {LANGUAGE_NAMES[code]}
                </option>
              ))}
            </select>
          </label>
          <a href="/account" aria-current={current === 'account' ? 'page' : undefined}>
            {session.me.person.displayName || session.me.person.email}
          </a>
          <button
            type="button"
            class="button-secondary"
            onClick={() => {
              setSignOutError(null);
              session.signOut().catch((error: unknown) => setSignOutError(error));
            }}
          >
            {common.signOut}
          </button>
        </div>
      </header>
      <nav class="sidenav" aria-label={common.mainNavigation}>
        <ul>
          {visible.map((section) => (
            <li key={section.segment}>
              <a href={`/${section.segment}`} aria-current={current === section.segment ? 'page' : undefined}>
                {common[section.label]}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <ErrorMessage error={signOutError} />
        {session.me.restricted
          .filter((r) => r.orgId === session.org?.orgId)
          .map((r) => (
            <p class="alert alert-warn" key={r.orgId}>
              {common.restricted(r.reason)}
            </p>
          ))}
        {session.org === null && !OUTSIDE_ORGS.has(current) ? (
          // Every other page works inside an organisation: first there must be one.
          session.me.person.platformAdmin ? (
            <Organisations />
          ) : (
            <>
              <PageTitle title={common.noOrganisationTitle} />
              <p class="alert">{common.noOrganisation}</p>
            </>
          )
        ) : (
          // A page belongs to one organisation: another one starts it afresh (nothing shown once,
          // such as a new token, stays on screen under the other organisation).
          <Fragment key={session.org?.slug ?? ''}>{props.children}</Fragment>
        )}
      </main>
    </div>
  );
}
