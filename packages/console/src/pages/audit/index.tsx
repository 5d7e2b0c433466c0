import { useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { formatDateTime, formatNumber } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import './audit.css';
import { t } from './messages.js';
import { type AuditEntry, type AuditFilters, useAuditPages } from './use-audit.js';

interface ChainReport {
  chain: string;
  entries: number;
  head: { seq: number; hash: string } | null;
  ok: boolean;
  problems: { seq: number; problem: string }[];
}

const NO_FILTERS: AuditFilters = { actor: '', action: '', since: '', until: '' };

/** The tamper-evident audit log (issue 17): read, filter, and verify its hash chain. */
export default function Audit() {
  const org = useOrg();
  const { me } = useSession();
  const [log, setLog] = useState<'org' | 'platform'>('org');
  const base = log === 'platform' ? '/v1/platform/audit' : orgPath(org.slug, 'audit');

  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      {me.person.platformAdmin ? (
        <div class="field audit-log-choice">
          <label for="audit-log">{t.whichLog}</label>
          <select id="audit-log" value={log} onChange={(e) => setLog(inputValue(e) as 'org' | 'platform')}>
            <option value="org">{t.orgLog(org.name)}</option>
            <option value="platform">{t.platformLog}</option>
          </select>
        </div>
      ) : null}
      {/* A new log starts a fresh verification and a fresh list. */}
      <Verify key={`verify-${base}`} path={`${base}/verify`} />
      <Entries key={`entries-${base}`} path={base} />
    </>
  );
}

function Verify(props: { path: string }) {
  const [report, setReport] = useState<ChainReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const verify = async () => {
    setBusy(true);
    setError(null);
    setReport(null);
    try {
      setReport(await api.get<ChainReport>(props.path));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section
      title={t.verifyTitle}
      id="audit-verify"
      actions={
        <button
          type="button"
          id="verify"
          class="button-primary"
          disabled={busy}
          onClick={() => void verify()}
        >
          {busy ? t.verifying : t.verify}
        </button>
      }
    >
      <ErrorMessage error={error} />
      <div role="status" aria-live="polite" class="verify-result">
        {report ? <ReportText report={report} /> : null}
      </div>
    </Section>
  );
}

function ReportText(props: { report: ChainReport }) {
  const { report } = props;
  if (report.ok) {
    return (
      <div class="alert alert-good">
        <p>
          <strong>{t.intact(formatNumber(report.entries))}</strong>
        </p>
        {report.head ? (
          <p>
            {t.head}: {t.at(report.head.seq)}, <code>{report.head.hash}</code>
          </p>
        ) : (
          <p>{t.headNone}</p>
        )}
      </div>
    );
  }
  return (
    <div class="alert alert-error">
      <p>
        <strong>{t.broken(report.problems.length)}</strong>
      </p>
      <ul>
        {report.problems.map((p) => (
          <li key={`${p.seq}-${p.problem}`}>
            {t.at(p.seq)}: {p.problem}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Entries(props: { path: string }) {
  const [draft, setDraft] = useState<AuditFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const list = useAuditPages(props.path, filters);
  const set = (key: keyof AuditFilters) => (e: Event) => setDraft({ ...draft, [key]: inputValue(e) });
  const filtered = Object.values(filters).some(Boolean);

  return (
    <Section title={t.entries} id="audit-entries">
      <form
        class="filters"
        aria-label={t.filters}
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <Field id="audit-actor" label={t.actor} hint={t.actorHint}>
          <input
            id="audit-actor"
            maxLength={200}
            aria-describedby={describedBy('audit-actor', t.actorHint)}
            value={draft.actor}
            onInput={set('actor')}
          />
        </Field>
        <Field id="audit-action" label={t.action} hint={t.actionHint}>
          <input
            id="audit-action"
            maxLength={100}
            aria-describedby={describedBy('audit-action', t.actionHint)}
            value={draft.action}
            onInput={set('action')}
          />
        </Field>
        <Field id="audit-since" label={t.since}>
          <input id="audit-since" type="datetime-local" value={draft.since} onInput={set('since')} />
        </Field>
        <Field id="audit-until" label={t.until}>
          <input id="audit-until" type="datetime-local" value={draft.until} onInput={set('until')} />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-secondary">
            {t.apply}
          </button>
          {filtered ? (
            <button
              type="button"
              class="button-link"
              onClick={() => {
                setDraft(NO_FILTERS);
                setFilters(NO_FILTERS);
              }}
            >
              {t.reset}
            </button>
          ) : null}
        </div>
      </form>
      <ErrorMessage error={list.error} retry={list.reload} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && list.data.items.length === 0 ? (
        <Empty title={t.empty}>
          <p>{filtered ? t.emptyFiltered : t.emptyAll}</p>
        </Empty>
      ) : null}
      {list.data && list.data.items.length > 0 ? (
        <Table<AuditEntry>
          caption={t.entries}
          captionHidden
          rows={list.data.items}
          rowKey={(e) => e.id}
          columns={[
            { label: t.seq, numeric: true, cell: (e) => e.seq },
            { label: t.time, cell: (e) => <time dateTime={e.at}>{formatDateTime(e.at)}</time> },
            { label: t.actor, cell: (e) => <span class="audit-actor">{e.actor}</span> },
            { label: t.action, cell: (e) => <code class="audit-action">{e.action}</code> },
            {
              label: t.target,
              cell: (e) => (
                <>
                  {e.targetType} <code>{e.targetId}</code>
                </>
              ),
            },
            { label: t.details, cell: (e) => <Details value={e.details} /> },
          ]}
        />
      ) : null}
      <Pager list={list} />
    </Section>
  );
}

function Details(props: { value: unknown }) {
  const { value } = props;
  if (value === null || value === undefined) return <>–</>;
  if (typeof value === 'object' && Object.keys(value).length === 0) return <>–</>;
  return (
    <details class="audit-details">
      <summary>{t.showDetails}</summary>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}
