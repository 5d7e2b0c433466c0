import { useRoute } from 'preact-iso';
import type { Permission } from '../../api/types.js';
import { PageTitle } from '../../components/page.js';
import { useSession } from '../../session.js';
import Feeds from './feeds.js';
import { t } from './messages.js';
import People from './people.js';
import SignInSettings from './sign-in.js';
import './settings.css';
import Tokens from './tokens.js';

interface Tab {
  slug: string;
  label: string;
  permission: Permission | null;
  render: () => preact.JSX.Element;
}

const TABS: Tab[] = [
  // Each tab opens with the read permission; the pages offer changes only with the manage one.
  { slug: 'people', label: t.people, permission: 'people:read', render: () => <People /> },
  { slug: 'tokens', label: t.tokens, permission: 'tokens:read', render: () => <Tokens /> },
  { slug: 'sign-in', label: t.signIn, permission: 'people:read', render: () => <SignInSettings /> },
  { slug: 'feeds', label: t.feeds, permission: null, render: () => <Feeds /> },
];

/**
 * The organisation's settings (issue 17), one tab per address (/settings/people, …) so each can
 * be linked, reloaded and reached by keyboard as ordinary links. A tab the person's roles do not
 * allow is not offered; the server refuses it anyway.
 */
export default function Settings() {
  const { can } = useSession();
  const { params } = useRoute();
  const allowed = TABS.filter((tab) => tab.permission === null || can(tab.permission));
  const current = allowed.find((tab) => tab.slug === params.tab) ?? allowed[0];
  const onlyFeeds = allowed.length === 1;
  return (
    <>
      <PageTitle title={t.title} />
      {onlyFeeds ? (
        <p class="alert">
          {t.nothingHere} <a href="/account">{t.toAccount}</a>
        </p>
      ) : null}
      <nav class="tabs" aria-label={t.tabs}>
        <ul>
          {allowed.map((tab) => (
            <li key={tab.slug}>
              <a href={`/settings/${tab.slug}`} aria-current={tab === current ? 'page' : undefined}>
                {tab.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {current?.render()}
    </>
  );
}
