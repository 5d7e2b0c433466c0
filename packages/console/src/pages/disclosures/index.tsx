import { useLocation } from 'preact-iso';
import { orgPath, withQuery } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { usePaged } from '../../components/use-api.js';
import { formatDateTime } from '../../i18n/index.js';
import { useOrg } from '../../session.js';
import { t } from './messages.js';
import { type Disclosure, disclosureStatuses } from './types.js';

/** The disclosure inbox (security:read: the security role, admins and auditors), newest first. */
export default function Disclosures() {
  const org = useOrg();
  const location = useLocation();
  const status = location.query.status ?? '';
  const list = usePaged<Disclosure>(orgPath(org.slug, 'disclosures'), status ? { status } : {});
  const intake = `${window.location.origin}/public/orgs/${encodeURIComponent(org.slug)}/report`;
  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <Section title={t.listTitle}>
        <form class="filters" onSubmit={(e) => e.preventDefault()}>
          <Field id="disclosures-status" label={t.status}>
            <select
              id="disclosures-status"
              value={status}
              onChange={(e) => location.route(withQuery('/disclosures', { status: inputValue(e) }), true)}
            >
              <option value="">{t.any}</option>
              {disclosureStatuses.map((s) => (
                <option key={s} value={s}>
                  {t.statusLabel(s)}
                </option>
              ))}
            </select>
          </Field>
        </form>
        <ErrorMessage error={list.error} retry={list.reload} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && list.data.items.length === 0 ? (
          <Empty title={t.emptyTitle}>
            <p>{t.emptyText(intake)}</p>
          </Empty>
        ) : null}
        {list.data && list.data.items.length > 0 ? (
          <Table
            caption={t.listTitle}
            captionHidden
            rows={list.data.items}
            rowKey={(x) => x.id}
            columns={[
              { label: t.reportTitle, cell: (x) => <a href={`/disclosures/${x.id}`}>{x.title}</a> },
              {
                label: t.status,
                cell: (x) => (
                  <Badge tone={x.status === 'received' ? 'warn' : 'neutral'}>{t.statusLabel(x.status)}</Badge>
                ),
              },
              { label: t.received, cell: (x) => formatDateTime(x.createdAt) },
              { label: t.updated, cell: (x) => formatDateTime(x.updatedAt) },
            ]}
          />
        ) : null}
        <Pager list={list} />
      </Section>
    </>
  );
}
