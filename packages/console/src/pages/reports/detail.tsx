import { useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { common } from '../../i18n/common.js';
import { formatDateTime } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { Countdown } from './countdown.js';
import { DraftValue } from './draft-view.js';
import { t } from './messages.js';
import './reports.css';
import { type Draft, type ReportCase, type ReportStage, reportStages } from './types.js';

/** One Art. 14 case: its deadlines counting down, the draft of a stage, and recording its submission. */
export default function ReportPage() {
  const org = useOrg();
  const { can } = useSession();
  const id = useRoute().params.id ?? '';
  const path = orgPath(org.slug, 'report-cases', id);
  const loaded = useGet<ReportCase>(path);
  const c = loaded.data;
  const firstOpen = c?.clocks.find((k) => !k.submittedAt)?.stage ?? 'early-warning';
  const [chosen, setChosen] = useState<ReportStage | null>(null);
  const stage = chosen ?? firstOpen;

  return (
    <>
      <PageTitle title={c?.title ?? t.caseTitle}>
        <a href="/reports">{t.back}</a>
      </PageTitle>
      <ErrorMessage error={loaded.error} retry={loaded.reload} />
      {loaded.loading && !c ? <Loading /> : null}
      {c ? (
        <>
          <Section title={t.clocksTitle}>
            <Table
              caption={t.clocksTitle}
              captionHidden
              rows={c.clocks}
              rowKey={(k) => k.stage}
              columns={[
                { label: t.stage, cell: (k) => t.stageLabel(k.stage) },
                { label: t.dueAt, cell: (k) => (k.dueAt ? formatDateTime(k.dueAt) : t.waitingDue) },
                {
                  label: t.remaining,
                  cell: (k) =>
                    k.submittedAt ? (
                      t.submittedAt(formatDateTime(k.submittedAt))
                    ) : k.dueAt && c.status === 'open' ? (
                      <Countdown dueAt={k.dueAt} stage={t.stageLabel(k.stage)} />
                    ) : (
                      '–'
                    ),
                },
                { label: t.state, cell: (k) => t.stateLabel(k.state) },
              ]}
            />
          </Section>
          <Section title={t.factsTitle}>
            <dl class="facts">
              <dt>{t.kind}</dt>
              <dd>{c.kind === 'incident' ? t.kindIncident : t.kindVulnerability}</dd>
              {c.vulnerabilityId ? (
                <>
                  <dt>{t.vulnerability}</dt>
                  <dd>
                    <a href={`/vulnerabilities/${encodeURIComponent(c.vulnerabilityId)}`}>
                      {c.vulnerabilityId}
                    </a>
                  </dd>
                </>
              ) : null}
              <dt>{t.awareness}</dt>
              <dd>{formatDateTime(c.awareAt)}</dd>
              <dt>{t.source}</dt>
              <dd>
                {c.source === 'kev' ? t.sourceKev : c.source === 'manual' ? t.sourceManual : t.sourceIncident}
              </dd>
              <dt>{t.corrective}</dt>
              <dd>{formatDateTime(c.correctiveAvailableAt)}</dd>
              <dt>{t.memberStates}</dt>
              <dd>{c.details.memberStates?.join(', ') || '–'}</dd>
              <dt>{t.status}</dt>
              <dd>{c.status === 'open' ? t.open : t.closed}</dd>
            </dl>
          </Section>
          <Section title={t.draftTitle} id="draft">
            <p>{t.draftIntro}</p>
            <form class="filters" onSubmit={(e) => e.preventDefault()}>
              <Field id="draft-stage" label={t.draftStage}>
                <select
                  id="draft-stage"
                  value={stage}
                  onChange={(e) => setChosen(inputValue(e) as ReportStage)}
                >
                  {reportStages.map((s) => (
                    <option key={s} value={s}>
                      {t.stageLabel(s)}
                    </option>
                  ))}
                </select>
              </Field>
            </form>
            <DraftPanel path={path} stage={stage} />
          </Section>
          {can('security:write') && c.status === 'open' ? (
            <Submit path={path} stage={stage} onSubmitted={loaded.reload} />
          ) : null}
          <Section title={t.submissionsTitle}>
            {c.submissions.length === 0 ? <Empty title={t.noSubmissions} /> : null}
            {c.submissions.length > 0 ? (
              <Table
                caption={t.submissionsTitle}
                captionHidden
                rows={c.submissions}
                rowKey={(s) => s.id}
                columns={[
                  { label: t.stage, cell: (s) => t.stageLabel(s.stage) },
                  { label: t.when, cell: (s) => formatDateTime(s.submittedAt) },
                  { label: t.who, cell: (s) => s.submittedBy },
                  { label: t.reference, cell: (s) => s.reference ?? '–' },
                ]}
              />
            ) : null}
          </Section>
        </>
      ) : null}
    </>
  );
}

function DraftPanel(props: { path: string; stage: ReportStage }) {
  const draft = useGet<Draft>(`${props.path}/draft`, { stage: props.stage });
  if (draft.error) return <ErrorMessage error={draft.error} retry={draft.reload} />;
  if (!draft.data) return <Loading />;
  const { missing = [], ...rest } = draft.data;
  return (
    <div class="draft">
      <h3>{t.missingTitle}</h3>
      {missing.length === 0 ? (
        <p>{t.nothingMissing}</p>
      ) : (
        <ul class="missing">
          {missing.map((m) => (
            <li key={m.field}>
              <code>{m.field}</code>: {m.message}
            </li>
          ))}
        </ul>
      )}
      <DraftValue value={rest} />
    </div>
  );
}

function Submit(props: { path: string; stage: ReportStage; onSubmitted: () => void }) {
  const [reference, setReference] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const label = t.stageLabel(props.stage);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.post(`${props.path}/submissions`, {
        stage: props.stage,
        ...(reference ? { reference } : {}),
      });
      setNotice(t.submitted(label));
      setReference('');
      setConfirming(false);
      props.onSubmitted();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t.submitTitle} id="submit">
      <p>{t.submitIntro}</p>
      <Notice text={notice} />
      <form
        class="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          setConfirming(true);
        }}
      >
        <ErrorMessage error={error} />
        <Field id="submit-reference" label={t.reference} hint={t.referenceHint}>
          <input
            id="submit-reference"
            maxLength={500}
            aria-describedby={describedBy('submit-reference', t.referenceHint)}
            value={reference}
            onInput={(e) => setReference(inputValue(e))}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-primary">
            {t.submit}: {label}
          </button>
        </div>
      </form>
      {confirming ? (
        <div class="confirm">
          <p>{t.confirmSubmit(label)}</p>
          <div class="button-row">
            <button type="button" class="button-primary" disabled={busy} onClick={() => void submit()}>
              {t.confirm}
            </button>
            <button type="button" class="button-secondary" onClick={() => setConfirming(false)}>
              {common.cancel}
            </button>
          </div>
        </div>
      ) : null}
    </Section>
  );
}
