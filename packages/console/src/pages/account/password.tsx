import { useState } from 'preact/hooks';
import { api } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Section } from '../../components/page.js';
import { useSession } from '../../session.js';
import { t } from './messages.js';

/** Set or change the password; the server ends the person's other sessions. */
export function Password(props: { hasPassword: boolean }) {
  const { refresh } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [mismatch, setMismatch] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const save = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setNotice(null);
    if (next !== repeat) {
      setMismatch(t.mismatch);
      document.getElementById('password-repeat')?.focus();
      return;
    }
    setMismatch(null);
    try {
      await api.put('/v1/me/password', { ...(props.hasPassword ? { current } : {}), password: next });
      setCurrent('');
      setNext('');
      setRepeat('');
      setNotice(t.passwordSaved);
      void refresh();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <Section title={t.passwordTitle} id="account-password">
      <p>{t.passwordIntro}</p>
      <Notice text={notice} />
      <form class="form-grid" onSubmit={(e) => void save(e)}>
        <ErrorMessage error={error} />
        {props.hasPassword ? (
          <Field id="password-current" label={t.current} required>
            <input
              id="password-current"
              type="password"
              autoComplete="current-password"
              required
              value={current}
              onInput={(e) => setCurrent(inputValue(e))}
            />
          </Field>
        ) : null}
        <Field id="password-new" label={t.newPassword} hint={t.newPasswordHint} required>
          <input
            id="password-new"
            type="password"
            autoComplete="new-password"
            required
            minLength={12}
            aria-describedby={describedBy('password-new', t.newPasswordHint)}
            value={next}
            onInput={(e) => setNext(inputValue(e))}
          />
        </Field>
        <Field id="password-repeat" label={t.repeat} error={mismatch} required>
          <input
            id="password-repeat"
            type="password"
            autoComplete="new-password"
            required
            aria-invalid={mismatch ? 'true' : undefined}
            aria-describedby={describedBy('password-repeat', null, mismatch)}
            value={repeat}
            onInput={(e) => setRepeat(inputValue(e))}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-primary">
            {props.hasPassword ? t.savePassword : t.setPassword}
          </button>
        </div>
      </form>
    </Section>
  );
}
