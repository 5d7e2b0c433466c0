import { useState } from 'preact/hooks';
import { api } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { formatDateTime } from '../../i18n/index.js';
import { useSession } from '../../session.js';
import { ConfirmButton } from '../settings/confirm.js';
import { t } from './messages.js';

interface Passkey {
  id: string;
  name: string;
  rpId: string;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

/** The person's passkeys: list, add (WebAuthn registration in this browser), remove. */
export function Passkeys() {
  const { refresh } = useSession();
  const list = useGet<{ items: Passkey[] }>('/v1/me/passkeys');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const add = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      // Only this page needs the WebAuthn helper: it comes with the click, not the first load.
      const { startRegistration } = await import('@simplewebauthn/browser');
      const ceremony = await api.post<{ challengeId: string; options: Record<string, unknown> }>(
        '/v1/me/passkeys/options',
        {},
      );
      let response: unknown;
      try {
        response = await startRegistration({ optionsJSON: ceremony.options as never });
      } catch {
        throw new Error(t.passkeyCancelled);
      }
      const label = name.trim();
      await api.post('/v1/me/passkeys', { name: label, response });
      setName('');
      setNotice(t.passkeyAdded(label));
      list.reload();
      void refresh();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={t.passkeysTitle} id="account-passkeys">
      <p>{t.passkeysIntro}</p>
      <Notice text={notice} />
      <ErrorMessage error={error} />
      <ErrorMessage error={list.error} retry={list.reload} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && list.data.items.length === 0 ? (
        <Empty title={t.passkeysEmpty}>
          <p>{t.passkeysNext}</p>
        </Empty>
      ) : null}
      {list.data && list.data.items.length > 0 ? (
        <Table<Passkey>
          caption={t.passkeysTitle}
          captionHidden
          rows={list.data.items}
          rowKey={(k) => k.id}
          columns={[
            { label: t.name, cell: (k) => k.name },
            { label: t.boundTo, cell: (k) => <code>{k.rpId}</code> },
            { label: t.created, cell: (k) => formatDateTime(k.createdAt) },
            { label: t.lastUsed, cell: (k) => formatDateTime(k.lastUsedAt) },
            {
              label: t.remove,
              cell: (k) => (
                <ConfirmButton
                  label={t.remove}
                  ariaLabel={t.removeOf(k.name)}
                  question={t.removeQuestion}
                  onConfirm={async () => {
                    try {
                      await api.delete(`/v1/me/passkeys/${encodeURIComponent(k.id)}`);
                      setNotice(t.passkeyRemoved(k.name));
                      list.reload();
                      void refresh();
                    } catch (caught) {
                      setError(caught);
                    }
                  }}
                />
              ),
            },
          ]}
        />
      ) : null}
      <form class="form-grid" onSubmit={(e) => void add(e)}>
        <Field id="passkey-name" label={t.passkeyName} hint={t.passkeyNameHint} required>
          <input
            id="passkey-name"
            required
            maxLength={200}
            autoComplete="off"
            aria-describedby={describedBy('passkey-name', t.passkeyNameHint)}
            value={name}
            onInput={(e) => setName(inputValue(e))}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" id="add-passkey" class="button-primary" disabled={busy}>
            {t.addPasskey}
          </button>
        </div>
      </form>
    </Section>
  );
}
