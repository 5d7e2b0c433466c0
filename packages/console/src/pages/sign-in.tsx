import { useState } from 'preact/hooks';
import { ApiError, api, setCsrfToken } from '../api/client.js';
import { ErrorMessage, errorText } from '../components/alert.js';
import { describedBy, Field, inputValue } from '../components/form.js';
import { PageTitle } from '../components/page.js';
import { messages } from '../i18n/index.js';

const t = messages({
  en: {
    title: 'Sign in',
    intro: 'Sign in with a passkey, or with your e-mail address and password.',
    passkey: 'Sign in with a passkey',
    or: 'or',
    email: 'E-mail address',
    password: 'Password',
    code: 'Code from your authenticator app',
    codeHint: 'Six digits. Lost the app? Enter one of your recovery codes instead.',
    recovery: 'Recovery code',
    useRecovery: 'Use a recovery code instead',
    submit: 'Sign in',
    sso: 'Single sign-on',
    ssoOrg: 'Organisation (its short name)',
    ssoSubmit: 'Continue with single sign-on',
    passkeyCancelled: 'The passkey sign-in was cancelled or timed out. Try again, or use your password.',
    firstTime:
      'First time here? The server printed a one-time setup link when it started: open it to create the first administrator.',
  },
  de: {
    title: 'Anmelden',
    intro: 'Melden Sie sich mit einem Passkey an oder mit E-Mail-Adresse und Passwort.',
    passkey: 'Mit Passkey anmelden',
    or: 'oder',
    email: 'E-Mail-Adresse',
    password: 'Passwort',
    code: 'Code aus Ihrer Authenticator-App',
    codeHint: 'Sechs Ziffern. App verloren? Geben Sie stattdessen einen Ihrer Wiederherstellungscodes ein.',
    recovery: 'Wiederherstellungscode',
    useRecovery: 'Stattdessen einen Wiederherstellungscode verwenden',
    submit: 'Anmelden',
    sso: 'Single Sign-on',
    ssoOrg: 'Organisation (ihr Kurzname)',
    ssoSubmit: 'Weiter mit Single Sign-on',
    passkeyCancelled:
      'Die Anmeldung mit Passkey wurde abgebrochen oder ist abgelaufen. Versuchen Sie es erneut oder verwenden Sie Ihr Passwort.',
    firstTime:
      'Zum ersten Mal hier? Der Server hat beim Start einen einmaligen Einrichtungslink ausgegeben: Öffnen Sie ihn, um die erste Administratorin anzulegen.',
  },
});

interface Ceremony {
  challengeId: string;
  options: Record<string, unknown>;
}

/** Sign-in (issue 16 §3): passkey first, then password with TOTP or a recovery code, then SSO. */
export default function SignIn(props: { onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const [recovery, setRecovery] = useState(false);
  const [org, setOrg] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [codeError, setCodeError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const done = (signedIn: { csrfToken: string }) => {
    setCsrfToken(signedIn.csrfToken);
    props.onSignedIn();
  };

  const withPassword = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setCodeError(null);
    try {
      const body: Record<string, string> = { email, password };
      if (needsCode && code) body[recovery ? 'recoveryCode' : 'code'] = code.trim();
      done(await api.post<{ csrfToken: string }>('/v1/auth/sign-in', body));
    } catch (caught) {
      // The account has TOTP on: the server names the field it needs (people/sign-in.ts).
      if (caught instanceof ApiError && caught.problem.errors?.some((f) => f.field === '/code')) {
        if (needsCode) setCodeError(errorText(caught));
        setNeedsCode(true);
        queueMicrotask(() => document.getElementById('code')?.focus());
      } else if (needsCode && caught instanceof ApiError && caught.status === 401 && code) {
        setCodeError(errorText(caught));
        document.getElementById('code')?.focus();
      } else {
        setError(caught);
      }
    } finally {
      setBusy(false);
    }
  };

  const withPasskey = async () => {
    setBusy(true);
    setError(null);
    try {
      const { startAuthentication } = await import('@simplewebauthn/browser');
      const ceremony = await api.post<Ceremony>('/v1/auth/passkeys/options', {});
      let response: unknown;
      try {
        response = await startAuthentication({ optionsJSON: ceremony.options as never });
      } catch {
        throw new Error(t.passkeyCancelled);
      }
      done(
        await api.post<{ csrfToken: string }>('/v1/auth/passkeys/verify', {
          challengeId: ceremony.challengeId,
          response,
        }),
      );
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const withSso = (event: Event) => {
    event.preventDefault();
    if (org.trim()) location.assign(`/v1/auth/sso/${encodeURIComponent(org.trim())}/start`);
  };

  return (
    <main id="main" class="sign-in" tabIndex={-1}>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <ErrorMessage error={error} />
      <button
        type="button"
        id="passkey"
        class="button-primary wide"
        disabled={busy}
        onClick={() => void withPasskey()}
      >
        {t.passkey}
      </button>
      <p class="divider">{t.or}</p>
      <form onSubmit={(e) => void withPassword(e)} noValidate={false}>
        <Field id="email" label={t.email} required>
          <input
            id="email"
            type="email"
            autoComplete="username webauthn"
            required
            value={email}
            onInput={(e) => setEmail(inputValue(e))}
          />
        </Field>
        <Field id="password" label={t.password} required>
          <input
            id="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(inputValue(e))}
          />
        </Field>
        {needsCode ? (
          <Field
            id="code"
            label={recovery ? t.recovery : t.code}
            hint={t.codeHint}
            error={codeError}
            required
          >
            <input
              id="code"
              type="text"
              inputMode={recovery ? 'text' : 'numeric'}
              autoComplete="one-time-code"
              required
              aria-invalid={codeError ? 'true' : undefined}
              aria-describedby={describedBy('code', t.codeHint, codeError)}
              value={code}
              onInput={(e) => setCode(inputValue(e))}
            />
          </Field>
        ) : null}
        {needsCode && !recovery ? (
          <p>
            <button type="button" class="button-link" onClick={() => setRecovery(true)}>
              {t.useRecovery}
            </button>
          </p>
        ) : null}
        <button type="submit" id="sign-in" class="button-primary" disabled={busy}>
          {t.submit}
        </button>
      </form>
      <details class="sso">
        <summary>{t.sso}</summary>
        <form onSubmit={withSso}>
          <Field id="sso-org" label={t.ssoOrg}>
            <input
              id="sso-org"
              type="text"
              autoComplete="organization"
              value={org}
              onInput={(e) => setOrg(inputValue(e))}
            />
          </Field>
          <button type="submit" class="button-secondary">
            {t.ssoSubmit}
          </button>
        </form>
      </details>
      <p class="hint">{t.firstTime}</p>
    </main>
  );
}
