import { orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Loading, PageTitle, Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { formatDateTime, formatNumber } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { KindBadge, StatusBadge } from './badges.js';
import { Copyable } from './copy.js';
import { t } from './messages.js';
import { productLabel, useProductNames } from './products.js';
import { SbomSummary } from './sbom.js';
import { Signing } from './signing.js';
import type { Release } from './types.js';
import { ReleaseVulnerabilities } from './vulnerabilities.js';
import './releases.css';

/** One release: what it is, its SBOM, its known vulnerabilities and what waits for the offline key. */
export default function ReleasePage(props: { id?: string; params?: { id?: string } }) {
  const id = props.params?.id ?? props.id ?? '';
  const org = useOrg();
  const { can } = useSession();
  const release = useGet<Release>(orgPath(org.slug, 'releases', id));
  const products = useProductNames(org.slug);
  const r = release.data;

  return (
    <>
      <p>
        <a href="/releases">← {t.back}</a>
      </p>
      <PageTitle title={r ? t.pageTitle(r.version) : t.title}>
        {r && r.status === 'published' && can('releases:write') ? (
          <a
            class="button button-primary"
            href={`/rollouts?releaseId=${encodeURIComponent(r.id)}#new-rollout`}
          >
            {t.rollOut}
          </a>
        ) : null}
      </PageTitle>
      <ErrorMessage error={release.error} retry={release.reload} />
      {release.loading && !r ? <Loading /> : null}
      {r ? (
        <>
          <Section title={t.details}>
            <dl class="facts">
              <dt>{t.product}</dt>
              <dd>{productLabel(products, r.productId)}</dd>
              <dt>{t.kind}</dt>
              <dd>
                <KindBadge kind={r.kind} />
              </dd>
              <dt>{t.status}</dt>
              <dd>
                <StatusBadge status={r.status} />
              </dd>
              <dt>{t.securityVersion}</dt>
              <dd>{r.securityVersion}</dd>
              <dt>{t.hardware}</dt>
              <dd>{r.hardware.join(', ') || '–'}</dd>
              <dt>{t.created}</dt>
              <dd>{formatDateTime(r.createdAt)}</dd>
              <dt>{t.publishedAt}</dt>
              <dd>{formatDateTime(r.publishedAt)}</dd>
              <dt>{t.targetPath}</dt>
              <dd>
                <Copyable value={r.targetPath} label={t.targetPath} />
              </dd>
              <dt>{t.length}</dt>
              <dd>
                <Copyable value={String(r.length)} label={t.length} /> ({formatNumber(r.length)})
              </dd>
              <dt>{t.sha256}</dt>
              <dd>
                <Copyable value={r.sha256} label={t.sha256} />
              </dd>
            </dl>
            {r.notes ? (
              <>
                <h3>{t.notes}</h3>
                <p class="notes">{r.notes}</p>
              </>
            ) : null}
          </Section>
          <Signing release={r} />
          <SbomSummary release={r} />
          <ReleaseVulnerabilities release={r} />
        </>
      ) : null}
    </>
  );
}
