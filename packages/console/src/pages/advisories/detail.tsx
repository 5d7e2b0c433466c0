import { useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Loading, PageTitle, Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { common } from '../../i18n/common.js';
import { formatDateTime } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import './advisories.css';
import { t } from './messages.js';
import { type Advisory, publishedUrl } from './types.js';

/** One advisory: its facts, the CSAF document, and publishing (security:write). */
export default function AdvisoryPage() {
  const org = useOrg();
  const { can } = useSession();
  const id = useRoute().params.id ?? '';
  const path = orgPath(org.slug, 'advisories', id);
  const loaded = useGet<Advisory>(path);
  const a = loaded.data;
  const url = a ? publishedUrl(org.slug, a) : null;
  return (
    <>
      <PageTitle title={a ? `${a.trackingId}: ${a.title}` : t.factsTitle}>
        <a href="/advisories">{t.back}</a>
      </PageTitle>
      <ErrorMessage error={loaded.error} retry={loaded.reload} />
      {loaded.loading && !a ? <Loading /> : null}
      {a ? (
        <>
          <Section title={t.factsTitle}>
            <dl class="facts">
              <dt>{t.status}</dt>
              <dd>
                <Badge tone={a.status === 'published' ? 'good' : 'neutral'}>
                  {a.status === 'published' ? t.published : t.draft}
                </Badge>
              </dd>
              <dt>{t.version}</dt>
              <dd>{a.version}</dd>
              <dt>{t.vulnerabilities}</dt>
              <dd>
                {a.vulnerabilities.map((v, i) => (
                  <span key={v}>
                    {i > 0 ? ', ' : ''}
                    <a href={`/vulnerabilities/${encodeURIComponent(v)}`}>{v}</a>
                  </span>
                ))}
              </dd>
              <dt>{t.released}</dt>
              <dd>{formatDateTime(a.currentReleaseDate)}</dd>
              <dt>{t.publicJson}</dt>
              <dd>{url ? <a href={url}>{a.filename}</a> : t.notPublished}</dd>
            </dl>
          </Section>
          {can('security:write') ? <Publish path={path} advisory={a} onPublished={loaded.reload} /> : null}
          <Section title={t.documentTitle}>
            {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (axe scrollable-region-focusable) */}
            <section class="csaf-json" tabIndex={0} aria-label={t.documentTitle}>
              <pre>{JSON.stringify(a.document ?? {}, null, 2)}</pre>
            </section>
          </Section>
        </>
      ) : null}
    </>
  );
}

function Publish(props: { path: string; advisory: Advisory; onPublished: () => void }) {
  const [summary, setSummary] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const publish = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await api.post<Advisory>(`${props.path}/publish`, summary.trim() ? { summary } : {});
      setNotice(t.publishedNotice(String(result.version)));
      setConfirming(false);
      setSummary('');
      props.onPublished();
    } catch (caught) {
      setError(caught);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t.publishTitle}>
      <p>{t.publishIntro}</p>
      <Notice text={notice} />
      <form
        class="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          setConfirming(true);
        }}
      >
        <ErrorMessage error={error} />
        <Field id="publish-summary" label={t.summary} hint={t.summaryHint}>
          <input
            id="publish-summary"
            maxLength={1000}
            aria-describedby={describedBy('publish-summary', t.summaryHint)}
            value={summary}
            onInput={(e) => setSummary(inputValue(e))}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-primary">
            {props.advisory.status === 'published' ? t.republish : t.publish}
          </button>
        </div>
      </form>
      {confirming ? (
        <div class="confirm-publish">
          <p>{t.confirmPublish}</p>
          <div class="button-row">
            <button type="button" class="button-primary" disabled={busy} onClick={() => void publish()}>
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
