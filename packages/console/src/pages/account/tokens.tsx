import { useState } from 'preact/hooks';
import { api } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { Field, inputValue } from '../../components/form.js';
import { Empty, Loading, Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { useSession } from '../../session.js';
import { type ApiToken, TokenTable } from '../settings/token-table.js';
import { CreateToken, heldRoles } from '../settings/tokens.js';
import { t } from './messages.js';

/** The person's own API tokens, in any organisation where they hold a role (issue 16 §5). */
export function MyTokens() {
  const { me } = useSession();
  const list = useGet<{ items: ApiToken[] }>('/v1/me/tokens');
  const [org, setOrg] = useState(me.memberships[0]?.slug ?? '');
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const membership = me.memberships.find((m) => m.slug === org);
  const orgName = (id: string | null) => me.memberships.find((m) => m.orgId === id)?.name ?? id ?? '–';

  return (
    <Section title={t.tokensTitle} id="account-tokens">
      <p>{t.tokensIntro}</p>
      <Notice text={notice} />
      <ErrorMessage error={error} />
      <ErrorMessage error={list.error} retry={list.reload} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && list.data.items.length === 0 ? (
        <Empty title={t.tokensEmpty}>
          <p>{membership ? t.tokensNext : t.noOrgForTokens}</p>
        </Empty>
      ) : null}
      {list.data && list.data.items.length > 0 ? (
        <TokenTable
          caption={t.tokensTitle}
          tokens={list.data.items}
          extra={{ label: t.organisation, cell: (token) => orgName(token.orgId) }}
          onRevoke={async (token) => {
            try {
              await api.delete(`/v1/me/tokens/${encodeURIComponent(token.id)}`);
              setNotice(t.tokenRevoked(token.name));
              list.reload();
            } catch (caught) {
              setError(caught);
            }
          }}
        />
      ) : null}
      {membership ? (
        <CreateToken
          key={membership.slug}
          idPrefix="my-token"
          roles={heldRoles(membership.roles)}
          before={
            me.memberships.length > 1 ? (
              <Field id="my-token-org" label={t.organisation} required>
                <select id="my-token-org" value={org} onChange={(e) => setOrg(inputValue(e))}>
                  {me.memberships.map((m) => (
                    <option key={m.slug} value={m.slug}>
                      {m.name}
                    </option>
                  ))}
                </select>
              </Field>
            ) : null
          }
          create={(body) => api.post('/v1/me/tokens', { org: membership.slug, ...body })}
          onCreated={() => list.reload()}
        />
      ) : null}
    </Section>
  );
}
