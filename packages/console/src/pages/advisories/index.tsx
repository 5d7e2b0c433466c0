import { useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { formatDate } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { t } from './messages.js';
import { type Advisory, publishedUrl } from './types.js';

/** CSAF advisories, newest first. */
export default function Advisories() {
  const org = useOrg();
  const { can } = useSession();
  const list = useGet<{ items: Advisory[] }>(orgPath(org.slug, 'advisories'));
  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <Section title={t.listTitle}>
        <ErrorMessage error={list.error} retry={list.reload} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && list.data.items.length === 0 ? (
          <Empty title={t.emptyTitle}>
            <p>{t.emptyText}</p>
          </Empty>
        ) : null}
        {list.data && list.data.items.length > 0 ? (
          <Table
            caption={t.listTitle}
            captionHidden
            rows={list.data.items}
            rowKey={(a) => a.id}
            columns={[
              { label: t.trackingId, cell: (a) => <a href={`/advisories/${a.id}`}>{a.trackingId}</a> },
              { label: t.advisoryTitle, cell: (a) => a.title },
              { label: t.vulnerabilities, cell: (a) => a.vulnerabilities.join(', ') },
              {
                label: t.status,
                cell: (a) => (
                  <Badge tone={a.status === 'published' ? 'good' : 'neutral'}>
                    {a.status === 'published' ? t.published : t.draft}
                  </Badge>
                ),
              },
              { label: t.version, numeric: true, cell: (a) => String(a.version) },
              {
                label: t.released,
                cell: (a) => {
                  const url = publishedUrl(org.slug, a);
                  return url ? <a href={url}>{formatDate(a.currentReleaseDate)}</a> : '–';
                },
              },
            ]}
          />
        ) : null}
      </Section>
      {can('security:write') ? <CreateAdvisory org={org.slug} onCreated={list.reload} /> : null}
    </>
  );
}

function CreateAdvisory(props: { org: string; onCreated: () => void }) {
  const [ids, setIds] = useState('');
  const [title, setTitle] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<Advisory | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const vulnerabilities = ids
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter(Boolean);
      const advisory = await api.post<Advisory>(orgPath(props.org, 'advisories'), {
        vulnerabilities,
        ...(title.trim() ? { title: title.trim() } : {}),
      });
      setCreated(advisory);
      setIds('');
      setTitle('');
      props.onCreated();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <Section title={t.createTitle}>
      <p>{t.createIntro}</p>
      <Notice text={created ? t.created : null} />
      {created ? (
        <p>
          <a href={`/advisories/${created.id}`}>{created.trackingId}</a>
        </p>
      ) : null}
      <form class="form-grid" onSubmit={(e) => void submit(e)}>
        <ErrorMessage error={error} />
        <Field id="advisory-vulns" label={t.vulnIds} hint={t.vulnIdsHint} required>
          <input
            id="advisory-vulns"
            required
            aria-describedby={describedBy('advisory-vulns', t.vulnIdsHint)}
            value={ids}
            onInput={(e) => setIds(inputValue(e))}
          />
        </Field>
        <Field id="advisory-title" label={t.titleOptional}>
          <input id="advisory-title" maxLength={300} value={title} onInput={(e) => setTitle(inputValue(e))} />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-secondary">
            {t.create}
          </button>
        </div>
      </form>
    </Section>
  );
}
