import { useState } from 'preact/hooks';
import { orgPath } from '../../api/client.js';
import { Notice } from '../../components/alert.js';
import { PageTitle, Section } from '../../components/page.js';
import { useGet, usePaged } from '../../components/use-api.js';
import { useOrg, useSession } from '../../session.js';
import { Deposits, Drill } from './deposits.js';
import { Handover } from './handover.js';
import { t } from './messages.js';
import { Readiness } from './readiness.js';
import { type ProductRow, Products } from './sunset.js';
import type { ContinuityOverview, HandoverStatus, PublishedRecord } from './types.js';
import './continuity.css';

/**
 * Continuity (docs/continuity.md): the platform's escrow deposits and last takeover drill (from the
 * platform audit chain, so `audit:read`), and this organisation's handover and sunset (`fleet:read`;
 * the sunset itself `updates:manage`). The server decides; the page only leaves out what it would refuse.
 */
export default function Continuity() {
  const org = useOrg();
  const { can } = useSession();
  const canAudit = can('audit:read');
  const overview = useGet<ContinuityOverview>(canAudit ? orgPath(org.slug, 'continuity') : null);
  const status = useGet<HandoverStatus>(orgPath(org.slug, 'handover'));
  const records = useGet<{ items: PublishedRecord[] }>(orgPath(org.slug, 'endpoint-records'));
  const products = usePaged<ProductRow>(orgPath(org.slug, 'products'));
  const [notice, setNotice] = useState<{ text: string; url: string } | null>(null);
  const productName = (id: string) => products.data?.items.find((p) => p.id === id)?.name ?? id;

  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <p class="continuity-scope">{t.scopeNote}</p>
      <Notice text={notice?.text ?? null} />
      {notice ? (
        <p>
          <a href={notice.url}>{t.noticeLink}</a>
        </p>
      ) : null}
      {canAudit ? (
        <>
          <Deposits overview={overview} />
          {overview.data ? <Drill drill={overview.data.lastDrill} /> : null}
          <Readiness org={org.slug} />
        </>
      ) : (
        <Section title={t.depositsTitle} id="deposits">
          <p>{t.depositsNeedAudit}</p>
        </Section>
      )}
      <Handover status={status} records={records} productName={productName} />
      <Products
        org={org.slug}
        list={products}
        records={records.data?.items ?? []}
        canSunset={can('updates:manage')}
        onSunset={(product, url) => {
          setNotice({ text: t.sunsetDone(product.name), url });
          status.reload();
          records.reload();
        }}
      />
    </>
  );
}
