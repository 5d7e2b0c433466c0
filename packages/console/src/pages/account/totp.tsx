import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Section } from '../../components/page.js';
import { useSession } from '../../session.js';
import { ConfirmButton } from '../settings/confirm.js';
import { t } from './messages.js';

/**
 * TOTP (RFC 6238) set-up: the server's secret and otpauth:// URI as text (a QR code would need a
 * library this page does not carry; the link opens the authenticator app on a phone, and the
 * secret can be typed in), confirmed with a first code; or turning it off.
 */
export function Totp() {
  const { me, refresh } = useSession();
  const on = me.person.factors.totp;
  const [enrolment, setEnrolment] = useState<{ secret: string; otpauthUri: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const start = async () => {
    setError(null);
    setNotice(null);
    try {
      setEnrolment(await api.post('/v1/me/totp', {}));
      queueMicrotask(() => document.getElementById('totp-code')?.focus());
    } catch (caught) {
      setError(caught);
    }
  };
  const confirm = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const confirmed = await api.post<{ recoveryCodes: string[] }>('/v1/me/totp/confirm', {
        code: code.trim(),
      });
      setEnrolment(null);
      setCode('');
      setCodes(confirmed.recoveryCodes);
      setNotice(t.totpConfirmed);
      void refresh();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <Section title={t.totpTitle} id="account-totp">
      <p>
        <strong>{on ? t.totpOn : t.totpOff}</strong>
      </p>
      <Notice text={notice} />
      <ErrorMessage error={error} />
      {codes ? <Codes codes={codes} onDone={() => setCodes(null)} /> : null}
      {!on && !enrolment ? (
        <button type="button" id="totp-start" class="button-primary" onClick={() => void start()}>
          {t.startTotp}
        </button>
      ) : null}
      {enrolment ? (
        <form class="stack" onSubmit={(e) => void confirm(e)}>
          <p>{t.totpStep}</p>
          <dl class="facts">
            <dt>{t.otpauthUri}</dt>
            <dd>
              <a href={enrolment.otpauthUri}>
                <code id="totp-uri">{enrolment.otpauthUri}</code>
              </a>
            </dd>
            <dt>{t.secret}</dt>
            <dd>
              <code id="totp-secret">{enrolment.secret}</code>
            </dd>
          </dl>
          <Field id="totp-code" label={t.code} hint={t.codeHint} required>
            <input
              id="totp-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]{6}"
              maxLength={6}
              required
              aria-describedby={describedBy('totp-code', t.codeHint)}
              value={code}
              onInput={(e) => setCode(inputValue(e))}
            />
          </Field>
          <button type="submit" id="totp-confirm" class="button-primary">
            {t.confirmTotp}
          </button>
        </form>
      ) : null}
      {on ? (
        <ConfirmButton
          label={t.disableTotp}
          question={t.disableQuestion}
          onConfirm={async () => {
            try {
              await api.delete('/v1/me/totp');
              setCodes(null);
              setNotice(t.totpDisabled);
              void refresh();
            } catch (caught) {
              setError(caught);
            }
          }}
        />
      ) : null}
    </Section>
  );
}

/** New recovery codes replace the old ones; shown once. */
export function RecoveryCodes() {
  const { me, refresh } = useSession();
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <Section title={t.recoveryTitle} id="account-recovery">
      {me.person.factors.totp ? (
        <>
          <p>{t.recoveryIntro(me.person.factors.recoveryCodesLeft)}</p>
          <ErrorMessage error={error} />
          {codes ? <Codes codes={codes} onDone={() => setCodes(null)} /> : null}
          <ConfirmButton
            label={t.newCodes}
            question={t.newCodesQuestion}
            onConfirm={async () => {
              setError(null);
              try {
                const made = await api.post<{ recoveryCodes: string[] }>('/v1/me/recovery-codes', {});
                setCodes(made.recoveryCodes);
                void refresh();
              } catch (caught) {
                setError(caught);
              }
            }}
          />
        </>
      ) : (
        <p>{t.recoveryNeedsTotp}</p>
      )}
    </Section>
  );
}

function Codes(props: { codes: string[]; onDone: () => void }) {
  const box = useRef<HTMLElement>(null);
  useEffect(() => box.current?.focus(), []);
  return (
    <section class="alert alert-warn" tabIndex={-1} ref={box} aria-labelledby="codes-title">
      <p id="codes-title">
        <strong>{t.codesTitle}</strong>
      </p>
      <ul class="codes" id="recovery-codes">
        {props.codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <p>{t.codesHint}</p>
      <button type="button" class="button-secondary" onClick={props.onDone}>
        {t.codesDone}
      </button>
    </section>
  );
}
