import { orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { usePaged } from '../../components/use-api.js';
import { formatDateTime } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { KindBadge, StatusBadge } from './badges.js';
import { t } from './messages.js';
import { productLabel, useProductNames } from './products.js';
import type { Release } from './types.js';

/** Releases, newest first, with their product, version and whether the targets key signed them. */
export default function Releases() {
  const org = useOrg();
  const list = usePaged<Release>(orgPath(org.slug, 'releases'));
  const products = useProductNames(org.slug);
  const { can } = useSession();
  return (
    <>
      <PageTitle title={t.title}>
        {can('releases:write') ? (
          <a class="button button-primary" href="/releases/new">
            {t.newRelease}
          </a>
        ) : null}
      </PageTitle>
      <p>{t.intro}</p>
      <Section title={t.listTitle}>
        <ErrorMessage error={list.error} retry={list.reload} />
        {(list.loading && !list.data) || !products.settled ? <Loading /> : null}
        {list.data && list.data.items.length === 0 ? (
          <Empty title={t.emptyTitle}>
            <p>
              <code>{t.emptyText}</code>
            </p>
          </Empty>
        ) : null}
        {list.data && list.data.items.length > 0 && products.settled ? (
          <Table
            caption={t.listTitle}
            captionHidden
            rows={list.data.items}
            rowKey={(r) => r.id}
            columns={[
              {
                label: t.version,
                cell: (r) => <a href={`/releases/${r.id}`}>{r.version}</a>,
              },
              { label: t.product, cell: (r) => productLabel(products, r.productId) },
              { label: t.kind, cell: (r) => <KindBadge kind={r.kind} /> },
              { label: t.status, cell: (r) => <StatusBadge status={r.status} /> },
              { label: t.created, cell: (r) => formatDateTime(r.createdAt) },
            ]}
          />
        ) : null}
        <Pager list={list} />
      </Section>
    </>
  );
}
