import { useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { formatDateTime } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import './disclosures.css';
import { t } from './messages.js';
import {
  type Disclosure,
  type DisclosureMessage,
  type DisclosureStatus,
  disclosureStatuses,
} from './types.js';

/** One researcher's report: what they sent, its status for them, and the exchange with them. */
export default function DisclosurePage() {
  const org = useOrg();
  const { can } = useSession();
  const id = useRoute().params.id ?? '';
  const path = orgPath(org.slug, 'disclosures', id);
  const report = useGet<Disclosure>(path);
  const r = report.data;
  return (
    <>
      <PageTitle title={r?.title ?? t.reportTitle}>
        <a href="/disclosures">{t.back}</a>
      </PageTitle>
      <ErrorMessage error={report.error} retry={report.reload} />
      {report.loading && !r ? <Loading /> : null}
      {r ? (
        <>
          <Section title={t.reportedTitle}>
            <dl class="facts">
              <dt>{t.received}</dt>
              <dd>{formatDateTime(r.createdAt)}</dd>
              <dt>{t.contact}</dt>
              <dd>{r.contact ?? t.noContact}</dd>
              <dt>{t.product}</dt>
              <dd>{r.productId ?? '–'}</dd>
              <dt>{t.vulnerability}</dt>
              <dd>
                {r.vulnerabilityId ? (
                  <a href={`/vulnerabilities/${encodeURIComponent(r.vulnerabilityId)}`}>
                    {r.vulnerabilityId}
                  </a>
                ) : (
                  '–'
                )}
              </dd>
              <dt>{t.description}</dt>
              {/* The researcher's text as sent: rendered as text, never as markup. */}
              <dd class="researcher-text">{r.description}</dd>
            </dl>
          </Section>
          {can('security:write') ? <StatusForm path={path} report={r} onSaved={report.reload} /> : null}
          <Thread path={path} canWrite={can('security:write')} />
        </>
      ) : null}
    </>
  );
}

function StatusForm(props: { path: string; report: Disclosure; onSaved: () => void }) {
  const [status, setStatus] = useState<DisclosureStatus>(props.report.status);
  const [note, setNote] = useState(props.report.publicNote ?? '');
  const [vulnerabilityId, setVulnerabilityId] = useState(props.report.vulnerabilityId ?? '');
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const save = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      await api.patch(props.path, {
        status,
        publicNote: note.trim() ? note : null,
        vulnerabilityId: vulnerabilityId.trim() ? vulnerabilityId.trim() : null,
      });
      setNotice(t.saved);
      props.onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <Section title={t.statusTitle}>
      <p>{t.statusIntro}</p>
      <Notice text={notice} />
      <form class="form-grid" onSubmit={(e) => void save(e)}>
        <ErrorMessage error={error} />
        <Field id="disclosure-status" label={t.status} required>
          <select
            id="disclosure-status"
            value={status}
            onChange={(e) => setStatus(inputValue(e) as DisclosureStatus)}
          >
            {disclosureStatuses.map((s) => (
              <option key={s} value={s}>
                {t.statusLabel(s)}
              </option>
            ))}
          </select>
        </Field>
        <Field id="disclosure-vulnerability" label={t.vulnerabilityId} hint={t.vulnerabilityHint}>
          <input
            id="disclosure-vulnerability"
            maxLength={200}
            aria-describedby={describedBy('disclosure-vulnerability', t.vulnerabilityHint)}
            value={vulnerabilityId}
            onInput={(e) => setVulnerabilityId(inputValue(e))}
          />
        </Field>
        <Field id="disclosure-note" label={t.publicNote} hint={t.publicNoteHint}>
          <textarea
            id="disclosure-note"
            rows={3}
            maxLength={5000}
            aria-describedby={describedBy('disclosure-note', t.publicNoteHint)}
            value={note}
            onInput={(e) => setNote(inputValue(e))}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-secondary">
            {t.save}
          </button>
        </div>
      </form>
    </Section>
  );
}

function Thread(props: { path: string; canWrite: boolean }) {
  const thread = useGet<{ items: DisclosureMessage[] }>(`${props.path}/messages`);
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const send = async (event?: Event) => {
    event?.preventDefault();
    if (!message.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await api.post(`${props.path}/messages`, { message });
      setMessage('');
      thread.reload();
      setNotice(t.sent);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t.threadTitle} id="thread">
      <p>{t.threadIntro}</p>
      <ErrorMessage error={thread.error} retry={thread.reload} />
      {thread.data && thread.data.items.length === 0 ? <Empty title={t.noMessages} /> : null}
      {thread.data && thread.data.items.length > 0 ? (
        <ol class="thread">
          {thread.data.items.map((m) => (
            <li key={m.id} class={m.from === 'maker' ? 'thread-maker' : 'thread-researcher'}>
              <p class="thread-meta">
                <strong>{m.from === 'maker' ? t.fromMaker(m.actor) : t.fromResearcher}</strong>{' '}
                <time dateTime={m.sentAt}>{formatDateTime(m.sentAt)}</time>
              </p>
              <p class="researcher-text">{m.message}</p>
            </li>
          ))}
        </ol>
      ) : null}
      {props.canWrite ? (
        <form class="thread-reply" onSubmit={(e) => void send(e)}>
          <ErrorMessage error={error} />
          <Notice text={notice} />
          <Field id="thread-message" label={t.reply} hint={t.replyHint} required>
            <textarea
              id="thread-message"
              rows={4}
              required
              maxLength={10_000}
              aria-describedby={describedBy('thread-message', t.replyHint)}
              value={message}
              onInput={(e) => setMessage(inputValue(e))}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send();
              }}
            />
          </Field>
          <div class="form-actions">
            <button type="submit" class="button-primary" disabled={busy}>
              {t.send}
            </button>
          </div>
        </form>
      ) : null}
    </Section>
  );
}
