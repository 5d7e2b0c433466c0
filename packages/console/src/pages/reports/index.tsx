import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, orgPath, withQuery } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { formatDateTime, formatRelative } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { t } from './messages.js';
import type { ReportCase } from './types.js';

/** CRA Art. 14 report cases, soonest deadline first (the server's order). */
export default function Reports() {
  const org = useOrg();
  const { can } = useSession();
  const location = useLocation();
  const status =
    location.query.status === 'closed' || location.query.status === 'all' ? location.query.status : 'open';
  const list = useGet<{ items: ReportCase[] }>(orgPath(org.slug, 'report-cases'), {
    ...(status === 'all' ? {} : { status }),
  });
  const [notice, setNotice] = useState<string | null>(null);

  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <Notice text={notice} />
      <Section title={t.listTitle}>
        <form class="filters" onSubmit={(e) => e.preventDefault()}>
          <Field id="cases-status" label={t.show}>
            <select
              id="cases-status"
              value={status}
              onChange={(e) => location.route(withQuery('/reports', { status: inputValue(e) }), true)}
            >
              <option value="open">{t.open}</option>
              <option value="closed">{t.closed}</option>
              <option value="all">{t.all}</option>
            </select>
          </Field>
        </form>
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
            rowKey={(c) => c.id}
            columns={[
              { label: t.caseTitle, cell: (c) => <a href={`/reports/${c.id}`}>{c.title}</a> },
              {
                label: t.kind,
                cell: (c) => (c.kind === 'incident' ? t.kindIncident : t.kindVulnerability),
              },
              { label: t.status, cell: (c) => (c.status === 'open' ? t.open : t.closed) },
              {
                label: t.nextDeadline,
                cell: (c) =>
                  c.nextDueAt ? (
                    <>
                      {formatDateTime(c.nextDueAt)} ({formatRelative(c.nextDueAt)})
                    </>
                  ) : (
                    '–'
                  ),
              },
              {
                label: t.stages,
                cell: (c) =>
                  c.clocks.map((k) => (
                    <Badge
                      key={k.stage}
                      tone={
                        k.state === 'overdue' || k.state === 'submitted-late'
                          ? 'bad'
                          : k.state === 'submitted'
                            ? 'good'
                            : k.state === 'due'
                              ? 'warn'
                              : 'neutral'
                      }
                    >
                      {t.stageLabel(k.stage)}: {t.stateLabel(k.state)}
                    </Badge>
                  )),
              },
            ]}
          />
        ) : null}
      </Section>
      {can('security:write') ? (
        <OpenIncident
          org={org.slug}
          onOpened={() => {
            setNotice(t.incidentOpened);
            list.reload();
          }}
        />
      ) : null}
    </>
  );
}

function OpenIncident(props: { org: string; onOpened: () => void }) {
  const products = useGet<{ items: { id: string; name: string; modelNumber: string }[] }>(
    orgPath(props.org, 'products'),
    { limit: 200 },
  );
  const [productId, setProductId] = useState('');
  const [title, setTitle] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      await api.post(orgPath(props.org, 'report-cases'), { productId, title });
      setTitle('');
      props.onOpened();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <Section title={t.incidentTitle}>
      <p>{t.incidentIntro}</p>
      <form class="form-grid" onSubmit={(e) => void submit(e)}>
        <ErrorMessage error={error ?? products.error} />
        <Field id="incident-product" label={t.product} required>
          <select
            id="incident-product"
            required
            value={productId}
            onChange={(e) => setProductId(inputValue(e))}
          >
            <option value="">{t.chooseProduct}</option>
            {(products.data?.items ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.modelNumber})
              </option>
            ))}
          </select>
        </Field>
        <Field id="incident-title" label={t.incidentName} required>
          <input
            id="incident-title"
            required
            maxLength={500}
            aria-describedby={describedBy('incident-title')}
            value={title}
            onInput={(e) => setTitle(inputValue(e))}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-secondary">
            {t.openIncident}
          </button>
        </div>
      </form>
    </Section>
  );
}
