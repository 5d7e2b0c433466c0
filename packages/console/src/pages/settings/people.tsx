import { useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import type { Person } from '../../api/types.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { formatDateTime } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { ConfirmButton } from './confirm.js';
import { ORG_ROLES, roleLabel, t } from './messages.js';
import { OneTimeSecret } from './one-time.js';
import { p } from './people.messages.js';

type Member = Person & { roles: string[] };

interface Invitation {
  id: string;
  email: string | null;
  roles: string[];
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
  revokedAt: string | null;
}

/** People of the organisation, their roles, and invitations (issue 16 §1, §2; people:manage). */
export default function People() {
  const org = useOrg();
  // An auditor reads people, roles and invitations (people:read); only people:manage changes them.
  const manage = useSession().can('people:manage');
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const members = useGet<{ items: Member[] }>(orgPath(org.slug, 'people'));
  const invitations = useGet<{ items: Invitation[] }>(orgPath(org.slug, 'invitations'));
  const report = (text: string) => {
    setError(null);
    setNotice(text);
  };
  const fail = (caught: unknown) => {
    setNotice(null);
    setError(caught);
  };

  return (
    <>
      <Notice text={notice} />
      <ErrorMessage error={error} />
      <Section title={p.listTitle} id="people-list">
        <ErrorMessage error={members.error} retry={members.reload} />
        {members.loading && !members.data ? <Loading /> : null}
        {members.data ? (
          <MemberTable
            manage={manage}
            members={members.data.items}
            onDone={(text) => {
              report(text);
              members.reload();
            }}
            onError={fail}
          />
        ) : null}
      </Section>
      {manage ? <Invite onInvited={() => invitations.reload()} /> : <p class="hint">{p.readOnly}</p>}
      <Section title={p.pendingTitle} id="people-invitations">
        <ErrorMessage error={invitations.error} retry={invitations.reload} />
        {invitations.data ? (
          <Pending
            manage={manage}
            items={invitations.data.items}
            onDone={(text) => {
              report(text);
              invitations.reload();
            }}
            onError={fail}
          />
        ) : null}
      </Section>
    </>
  );
}

function MemberTable(props: {
  manage: boolean;
  members: Member[];
  onDone: (text: string) => void;
  onError: (e: unknown) => void;
}) {
  const org = useOrg();
  const { me } = useSession();
  const nameOf = (m: Member) => m.displayName || m.email;
  return (
    <Table<Member>
      caption={p.listTitle}
      captionHidden
      rows={props.members}
      rowKey={(m) => m.id}
      columns={[
        {
          label: p.person,
          cell: (m) => (
            <>
              <strong>{m.displayName}</strong> {m.id === me.person.id ? p.you : null}
              <br />
              <span class="hint">{m.email}</span>
            </>
          ),
        },
        {
          label: p.roles,
          cell: (m) =>
            props.manage ? (
              <RoleEditor member={m} name={nameOf(m)} onDone={props.onDone} onError={props.onError} />
            ) : (
              m.roles.map(roleLabel).join(', ')
            ),
        },
        { label: p.signIn, cell: (m) => p.factors(m.factors.passkeys, m.factors.totp) },
        { label: p.lastSignIn, cell: (m) => formatDateTime(m.lastSignInAt) },
        ...(props.manage
          ? [
              {
                label: t.actions,
                cell: (m: Member) => (
                  <ConfirmButton
                    label={p.remove}
                    ariaLabel={p.removeOf(nameOf(m))}
                    question={p.removeQuestion}
                    onConfirm={async () => {
                      try {
                        await api.delete(orgPath(org.slug, 'people', m.id));
                        props.onDone(p.removed(nameOf(m)));
                      } catch (caught) {
                        props.onError(caught);
                      }
                    }}
                  />
                ),
              },
            ]
          : []),
      ]}
    />
  );
}

/** Checkboxes per role and a save button; the server keeps an organisation's last admin. */
function RoleEditor(props: {
  member: Member;
  name: string;
  onDone: (text: string) => void;
  onError: (e: unknown) => void;
}) {
  const org = useOrg();
  const [roles, setRoles] = useState<string[]>(props.member.roles);
  const [busy, setBusy] = useState(false);
  const changed = [...roles].sort().join() !== [...props.member.roles].sort().join();
  const toggle = (role: string) =>
    setRoles((held) => (held.includes(role) ? held.filter((r) => r !== role) : [...held, role]));
  const save = async (event: Event) => {
    event.preventDefault();
    if (roles.length === 0) {
      props.onError(new Error(p.noRole));
      return;
    }
    setBusy(true);
    try {
      await api.put(orgPath(org.slug, 'people', props.member.id, 'roles'), { roles });
      props.onDone(p.rolesSaved(props.name));
    } catch (caught) {
      setRoles(props.member.roles);
      props.onError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="role-editor" onSubmit={(e) => void save(e)}>
      <fieldset class="roles">
        <legend class="visually-hidden">{p.rolesOf(props.name)}</legend>
        {ORG_ROLES.map((role) => (
          <label key={role}>
            <input type="checkbox" checked={roles.includes(role)} onChange={() => toggle(role)} />
            {role}
          </label>
        ))}
      </fieldset>
      <button
        type="submit"
        class="button-secondary"
        disabled={busy || !changed}
        aria-label={p.saveRolesOf(props.name)}
      >
        {p.saveRoles}
      </button>
    </form>
  );
}

function Invite(props: { onInvited: () => void }) {
  const org = useOrg();
  const [email, setEmail] = useState('');
  const [roles, setRoles] = useState<string[]>(['operator']);
  const [days, setDays] = useState('7');
  const [error, setError] = useState<unknown>(null);
  const [link, setLink] = useState<{ email: string; url: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const toggle = (role: string) =>
    setRoles((held) => (held.includes(role) ? held.filter((r) => r !== role) : [...held, role]));

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const created = await api.post<{ url: string }>(orgPath(org.slug, 'invitations'), {
        email: email.trim(),
        roles,
        expiresInDays: Number(days) || 7,
      });
      setLink({ email: email.trim(), url: created.url });
      setEmail('');
      props.onInvited();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={p.inviteTitle} id="people-invite">
      <p>{p.inviteIntro}</p>
      {link ? (
        <OneTimeSecret
          id="invitation-link"
          label={p.invitationLink(link.email)}
          value={link.url}
          onDone={() => setLink(null)}
        />
      ) : null}
      <form class="form-grid" onSubmit={(e) => void submit(e)}>
        <ErrorMessage error={error} />
        <Field id="invite-email" label={p.email} required>
          <input
            id="invite-email"
            type="email"
            required
            maxLength={254}
            autoComplete="off"
            value={email}
            onInput={(e) => setEmail(inputValue(e))}
          />
        </Field>
        <Field id="invite-days" label={p.expiresInDays} hint={p.expiresHint}>
          <input
            id="invite-days"
            type="number"
            min={1}
            max={30}
            aria-describedby={describedBy('invite-days', p.expiresHint)}
            value={days}
            onInput={(e) => setDays(inputValue(e))}
          />
        </Field>
        <fieldset class="roles form-wide">
          <legend>{p.inviteRoles}</legend>
          {ORG_ROLES.map((role) => (
            <label key={role}>
              <input
                type="checkbox"
                name="invite-role"
                value={role}
                checked={roles.includes(role)}
                onChange={() => toggle(role)}
              />
              {roleLabel(role)}
            </label>
          ))}
        </fieldset>
        <div class="form-actions">
          <button type="submit" id="invite" class="button-primary" disabled={busy}>
            {p.invite}
          </button>
        </div>
      </form>
    </Section>
  );
}

function Pending(props: {
  manage: boolean;
  items: Invitation[];
  onDone: (text: string) => void;
  onError: (e: unknown) => void;
}) {
  const org = useOrg();
  const now = Date.now();
  const open = props.items.filter(
    (i) => !i.acceptedAt && !i.revokedAt && new Date(i.expiresAt).getTime() > now,
  );
  if (open.length === 0) return <Empty title={p.pendingEmpty} />;
  return (
    <Table<Invitation>
      caption={p.pendingTitle}
      captionHidden
      rows={open}
      rowKey={(i) => i.id}
      columns={[
        { label: p.email, cell: (i) => i.email ?? '–' },
        { label: p.roles, cell: (i) => i.roles.join(', ') },
        { label: t.created, cell: (i) => formatDateTime(i.createdAt) },
        { label: t.expires, cell: (i) => formatDateTime(i.expiresAt) },
        ...(props.manage
          ? [
              {
                label: t.actions,
                cell: (i: Invitation) => (
                  <ConfirmButton
                    label={t.revoke}
                    ariaLabel={p.revokeInvitationOf(i.email ?? i.id)}
                    question={p.revokeInvitationQuestion}
                    onConfirm={async () => {
                      try {
                        await api.delete(orgPath(org.slug, 'invitations', i.id));
                        props.onDone(p.invitationRevoked(i.email ?? i.id));
                      } catch (caught) {
                        props.onError(caught);
                      }
                    }}
                  />
                ),
              },
            ]
          : []),
      ]}
    />
  );
}
