import { useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { useOrg, useSession } from '../../session.js';
import { ORG_ROLES, roleLabel, t } from './messages.js';
import { OneTimeSecret } from './one-time.js';
import { type ApiToken, TokenTable, tokenLive } from './token-table.js';
import { k } from './tokens.messages.js';

/** The organisation's API tokens (tokens:manage): list, create (secret shown once), revoke. */
export default function Tokens() {
  const org = useOrg();
  // An auditor reads the list (tokens:read) for an access review; only tokens:manage changes it.
  const manage = useSession().can('tokens:manage');
  const list = useGet<{ items: ApiToken[] }>(orgPath(org.slug, 'tokens'));
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [showAll, setShowAll] = useState(false);
  const tokens = (list.data?.items ?? []).filter((token) => showAll || tokenLive(token));

  return (
    <>
      <p>{k.intro}</p>
      <Notice text={notice} />
      <ErrorMessage error={error} />
      {manage ? (
        <CreateToken
          roles={heldRoles(org.roles)}
          create={(body) => api.post(orgPath(org.slug, 'tokens'), body)}
          onCreated={() => list.reload()}
        />
      ) : (
        <p class="hint">{k.readOnly}</p>
      )}
      <Section title={k.listTitle} id="tokens-list">
        <ErrorMessage error={list.error} retry={list.reload} />
        {list.loading && !list.data ? <Loading /> : null}
        <label class="inline-field">
          <input type="checkbox" checked={showAll} onChange={() => setShowAll(!showAll)} />
          {k.showRevoked}
        </label>
        {list.data && tokens.length === 0 ? (
          <Empty title={k.empty}>
            <p>{k.emptyNext}</p>
          </Empty>
        ) : null}
        {tokens.length > 0 ? (
          <TokenTable
            caption={k.listTitle}
            tokens={tokens}
            onRevoke={
              manage
                ? async (token) => {
                    try {
                      await api.delete(orgPath(org.slug, 'tokens', token.id));
                      setError(null);
                      setNotice(k.revokedNotice(token.name));
                      list.reload();
                    } catch (caught) {
                      setError(caught);
                    }
                  }
                : undefined
            }
          />
        ) : null}
      </Section>
    </>
  );
}

/**
 * The roles a token of this person may have: those they hold here (the server refuses others,
 * access/routes.ts tokenFor); a platform admin may give any.
 */
export function heldRoles(held: string[]): readonly string[] {
  return held.includes('platform-admin') ? ORG_ROLES : ORG_ROLES.filter((role) => held.includes(role));
}

/**
 * The form for a new token; the secret the server answers is shown once. Used here and, with the
 * organisation and the person's own roles, on My account.
 */
export function CreateToken(props: {
  idPrefix?: string;
  roles?: readonly string[];
  before?: preact.ComponentChildren;
  create: (body: { name: string; role: string; expiresAt?: string }) => Promise<unknown>;
  onCreated: () => void;
}) {
  const id = props.idPrefix ?? 'token';
  const roles = props.roles ?? ORG_ROLES;
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>(roles.includes('operator') ? 'operator' : (roles[0] ?? ''));
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const body = {
        name: name.trim(),
        role,
        // The end of the chosen day in the person's own time zone.
        ...(expires ? { expiresAt: new Date(`${expires}T23:59:59`).toISOString() } : {}),
      };
      const created = (await props.create(body)) as { token: string };
      setSecret({ name: body.name, token: created.token });
      setName('');
      props.onCreated();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={k.createTitle} id={`${id}-create`}>
      {secret ? (
        <OneTimeSecret
          id={`${id}-secret`}
          label={k.secret(secret.name)}
          value={secret.token}
          onDone={() => setSecret(null)}
        />
      ) : null}
      <form class="form-grid" onSubmit={(e) => void submit(e)}>
        <ErrorMessage error={error} />
        {props.before}
        <Field id={`${id}-name`} label={t.name} required>
          <input
            id={`${id}-name`}
            required
            maxLength={200}
            autoComplete="off"
            value={name}
            onInput={(e) => setName(inputValue(e))}
          />
        </Field>
        <Field id={`${id}-role`} label={k.role} required>
          <select id={`${id}-role`} value={role} onChange={(e) => setRole(inputValue(e))}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-expires`} label={k.expiresAt} hint={k.expiresHint}>
          <input
            id={`${id}-expires`}
            type="date"
            aria-describedby={describedBy(`${id}-expires`, k.expiresHint)}
            value={expires}
            onInput={(e) => setExpires(inputValue(e))}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-primary" disabled={busy}>
            {k.create}
          </button>
        </div>
      </form>
    </Section>
  );
}
