import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Loading, Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { useOrg, useSession } from '../../session.js';
import { ConfirmButton } from './confirm.js';
import { ORG_ROLES } from './messages.js';
import { s } from './sign-in.messages.js';

const REQUIREMENTS = ['any', 'second-factor', 'passkey'] as const;
type Requirement = (typeof REQUIREMENTS)[number];

/** The organisation's sign-in policy and single sign-on (people:manage). */
export default function SignInSettings() {
  return (
    <>
      <Policy />
      <Sso />
    </>
  );
}

function Policy() {
  const org = useOrg();
  // An auditor reads the policy and single sign-on (people:read); only people:manage changes them.
  const manage = useSession().can('people:manage');
  const loaded = useGet<{ require: Requirement }>(orgPath(org.slug, 'sign-in-policy'));
  const [require, setRequire] = useState<Requirement>('any');
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    if (loaded.data) setRequire(loaded.data.require);
  }, [loaded.data]);
  const save = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setNotice(null);
    try {
      await api.put(orgPath(org.slug, 'sign-in-policy'), { require });
      setNotice(s.policySaved);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <Section title={s.policyTitle} id="sign-in-policy">
      <p>{s.policyIntro}</p>
      <ErrorMessage error={error ?? loaded.error} />
      <Notice text={notice} />
      {loaded.data && !manage ? (
        <p>
          <strong>{s[loaded.data.require]}</strong>
        </p>
      ) : null}
      {loaded.data && manage ? (
        <form onSubmit={(e) => void save(e)}>
          <fieldset class="roles">
            <legend>{s.policyLegend}</legend>
            {REQUIREMENTS.map((r) => (
              <label key={r}>
                <input
                  type="radio"
                  name="sign-in-require"
                  value={r}
                  checked={require === r}
                  onChange={() => setRequire(r)}
                />
                {s[r]}
              </label>
            ))}
          </fieldset>
          <button type="submit" class="button-primary">
            {s.savePolicy}
          </button>
        </form>
      ) : null}
      {loaded.data ? null : <Loading />}
    </Section>
  );
}

interface SsoSettings {
  issuer: string;
  clientId: string;
  groupsClaim: string;
  groupRoles: Record<string, string[]>;
  signInUrl: string;
  redirectUri: string;
}

function mappingText(groupRoles: Record<string, string[]>): string {
  return Object.entries(groupRoles)
    .map(([group, roles]) => `${group}: ${roles.join(', ')}`)
    .join('\n');
}

/** "group: role, role" lines to the API's map; a group name may itself hold colons (the last one splits). */
export function parseMapping(text: string): Record<string, string[]> | string {
  const map: Record<string, string[]> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const at = line.lastIndexOf(':');
    const group = line.slice(0, at).trim();
    const roles = line
      .slice(at + 1)
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    if (
      at <= 0 ||
      !group ||
      roles.length === 0 ||
      roles.some((r) => !(ORG_ROLES as readonly string[]).includes(r))
    )
      return s.groupRolesInvalid(line);
    map[group] = roles;
  }
  return Object.keys(map).length === 0 ? s.groupRolesEmpty : map;
}

function Sso() {
  const org = useOrg();
  const manage = useSession().can('people:manage');
  const loaded = useGet<SsoSettings | null>(orgPath(org.slug, 'sso'));
  const missing = loaded.error instanceof ApiError && loaded.error.status === 404;
  const current = missing ? null : loaded.data;
  const [form, setForm] = useState({
    issuer: '',
    clientId: '',
    clientSecret: '',
    groupsClaim: 'groups',
    mapping: '',
  });
  const [error, setError] = useState<unknown>(null);
  const [mappingError, setMappingError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!current) return;
    setForm({
      issuer: current.issuer,
      clientId: current.clientId,
      clientSecret: '',
      groupsClaim: current.groupsClaim,
      mapping: mappingText(current.groupRoles),
    });
  }, [current]);

  const set = (key: keyof typeof form) => (e: Event) => setForm({ ...form, [key]: inputValue(e) });
  const save = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setNotice(null);
    const groupRoles = parseMapping(form.mapping);
    if (typeof groupRoles === 'string') {
      setMappingError(groupRoles);
      document.getElementById('sso-mapping')?.focus();
      return;
    }
    setMappingError(null);
    setBusy(true);
    try {
      await api.put(orgPath(org.slug, 'sso'), {
        issuer: form.issuer.trim(),
        clientId: form.clientId.trim(),
        ...(form.clientSecret ? { clientSecret: form.clientSecret } : {}),
        groupsClaim: form.groupsClaim.trim() || 'groups',
        groupRoles,
      });
      setNotice(s.ssoSaved);
      loaded.reload();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const secretHint = current ? s.secretHintKeep : s.secretHintNew;
  return (
    <Section title={s.ssoTitle} id="sign-in-sso">
      <p>{s.ssoIntro}</p>
      <Notice text={notice} />
      {loaded.error && !missing ? <ErrorMessage error={loaded.error} retry={loaded.reload} /> : null}
      {loaded.loading && !loaded.data && !loaded.error ? <Loading /> : null}
      <p>
        <strong>{current ? s.ssoOn : s.ssoOff}</strong>
      </p>
      {current ? (
        <dl class="facts">
          <dt>{s.signInUrl}</dt>
          <dd>
            <code>{current.signInUrl}</code>
          </dd>
          <dt>{s.redirectUri}</dt>
          <dd>
            <code>{current.redirectUri}</code>
          </dd>
          {manage ? null : (
            <>
              <dt>{s.issuer}</dt>
              <dd>
                <code>{current.issuer}</code>
              </dd>
              <dt>{s.clientId}</dt>
              <dd>
                <code>{current.clientId}</code>
              </dd>
              <dt>{s.groupsClaim}</dt>
              <dd>
                <code>{current.groupsClaim}</code>
              </dd>
              <dt>{s.groupRoles}</dt>
              <dd>
                <pre>{mappingText(current.groupRoles)}</pre>
              </dd>
            </>
          )}
        </dl>
      ) : null}
      {manage ? (
        <form class="form-grid" onSubmit={(e) => void save(e)}>
          <ErrorMessage error={error} />
          <Field id="sso-issuer" label={s.issuer} hint={s.issuerHint} required>
            <input
              id="sso-issuer"
              type="url"
              required
              maxLength={500}
              aria-describedby={describedBy('sso-issuer', s.issuerHint)}
              value={form.issuer}
              onInput={set('issuer')}
            />
          </Field>
          <Field id="sso-client" label={s.clientId} required>
            <input id="sso-client" required maxLength={255} value={form.clientId} onInput={set('clientId')} />
          </Field>
          <Field id="sso-secret" label={s.clientSecret} hint={secretHint} required={!current}>
            <input
              id="sso-secret"
              type="password"
              autoComplete="new-password"
              required={!current}
              maxLength={1000}
              aria-describedby={describedBy('sso-secret', secretHint)}
              value={form.clientSecret}
              onInput={set('clientSecret')}
            />
          </Field>
          <Field id="sso-claim" label={s.groupsClaim} hint={s.groupsClaimHint}>
            <input
              id="sso-claim"
              maxLength={100}
              aria-describedby={describedBy('sso-claim', s.groupsClaimHint)}
              value={form.groupsClaim}
              onInput={set('groupsClaim')}
            />
          </Field>
          <div class="form-wide">
            <Field
              id="sso-mapping"
              label={s.groupRoles}
              hint={s.groupRolesHint}
              error={mappingError}
              required
            >
              <textarea
                id="sso-mapping"
                rows={4}
                required
                aria-invalid={mappingError ? 'true' : undefined}
                aria-describedby={describedBy('sso-mapping', s.groupRolesHint, mappingError)}
                value={form.mapping}
                onInput={set('mapping')}
              />
            </Field>
          </div>
          <div class="form-actions">
            <button type="submit" class="button-primary" disabled={busy}>
              {s.saveSso}
            </button>
            {current ? (
              <ConfirmButton
                label={s.turnOff}
                question={s.turnOffQuestion}
                onConfirm={async () => {
                  try {
                    await api.delete(orgPath(org.slug, 'sso'));
                    setNotice(s.ssoTurnedOff);
                    loaded.reload();
                  } catch (caught) {
                    setError(caught);
                  }
                }}
              />
            ) : null}
          </div>
        </form>
      ) : null}
    </Section>
  );
}
