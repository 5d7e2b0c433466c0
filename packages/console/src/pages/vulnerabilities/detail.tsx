import { useRoute } from 'preact-iso';
import { orgPath, withQuery } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { useGet, usePaged } from '../../components/use-api.js';
import { formatDate, formatDateTime, formatNumber } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { KevBadge, SeverityBadge, StatusBadge } from './badges.js';
import { d } from './detail-messages.js';
import { ExploitedAndAdvisory } from './exploited.js';
import { t } from './messages.js';
import { Remediate } from './remediate.js';
import { TriageForm } from './triage-form.js';
import type { Decision, ExposedDevice, Exposure } from './types.js';
import './vulnerabilities.css';

/** One vulnerability: what it is, where the fleet is exposed, what triage decided, and what to do next. */
export default function VulnerabilityPage() {
  const org = useOrg();
  const { can } = useSession();
  const id = useRoute().params.id ?? '';
  const base = orgPath(org.slug, 'vulnerabilities', id);
  const exposure = useGet<Exposure>(`${base}/exposure`);
  const decisions = useGet<{ items: Decision[] }>(`${base}/decisions`);
  const devices = usePaged<ExposedDevice>(`${base}/devices`, {}, 25);
  const reloadAll = () => {
    exposure.reload();
    decisions.reload();
    devices.reload();
  };
  const v = exposure.data?.vulnerability;
  const releaseVersion = (releaseId: string | null) => {
    for (const p of exposure.data?.products ?? [])
      for (const r of p.releases) if (r.releaseId === releaseId) return r.version;
    return releaseId ?? '';
  };
  const productName = (productId: string) =>
    exposure.data?.products.find((p) => p.productId === productId)?.name ?? productId;

  return (
    <>
      <PageTitle title={v?.id ?? id}>
        <a href="/vulnerabilities">{d.back}</a>
      </PageTitle>
      <ErrorMessage error={exposure.error} retry={exposure.reload} />
      {exposure.loading && !exposure.data ? <Loading /> : null}
      {v ? (
        <Section title={d.aboutTitle}>
          <p class="badges">
            <SeverityBadge rating={v.severity.rating} score={v.severity.score} />{' '}
            {v.knownExploited ? <KevBadge /> : null}
          </p>
          <dl class="facts">
            <dt>{d.summary}</dt>
            <dd>{v.summary || '–'}</dd>
            {v.description && v.description !== v.summary ? (
              <>
                <dt>{d.description}</dt>
                <dd class="prose">{v.description}</dd>
              </>
            ) : null}
            <dt>{d.aliases}</dt>
            <dd>{v.aliases.length > 0 ? v.aliases.join(', ') : '–'}</dd>
            <dt>{d.records}</dt>
            <dd>
              {v.records
                .map((r) => `${r.id} (${r.source}${r.withdrawn ? `, ${d.sourceWithdrawn}` : ''})`)
                .join(', ')}
            </dd>
            {v.knownExploited ? (
              <>
                <dt>{d.kevTitle}</dt>
                <dd>{d.kevText(formatDate(v.knownExploited.dateAdded), v.knownExploited.requiredAction)}</dd>
              </>
            ) : null}
            {v.references && v.references.length > 0 ? (
              <>
                <dt>{d.references}</dt>
                <dd>
                  <ul class="references">
                    {v.references
                      // Links only to the web: a reference from a feed is not trusted to be one.
                      .filter((url) => /^https?:\/\//i.test(url))
                      .slice(0, 10)
                      .map((url) => (
                        <li key={url}>
                          <a href={url} rel="noreferrer noopener" target="_blank">
                            {url}
                          </a>
                        </li>
                      ))}
                  </ul>
                </dd>
              </>
            ) : null}
          </dl>
          <p>
            <a
              href={withQuery(orgPath(org.slug, 'vex'), { format: 'openvex', vulnerability: v.id })}
              download={`${v.id}.openvex.json`}
            >
              {d.vexThis}
            </a>
          </p>
        </Section>
      ) : null}
      {exposure.data ? (
        <Section title={d.exposureTitle} id="exposure">
          <p id="exposure-summary">
            {d.exposureIntro(
              formatNumber(exposure.data.devicesExposed),
              formatNumber(exposure.data.releasesExposed),
            )}
          </p>
          {exposure.data.products.length === 0 ? <Empty title={d.noExposure} /> : null}
          {exposure.data.products.map((p) => (
            <Table
              key={p.productId}
              caption={`${p.name} (${p.modelNumber})`}
              rows={p.releases}
              rowKey={(r) => r.releaseId}
              columns={[
                { label: d.release, cell: (r) => r.version },
                { label: d.status, cell: (r) => <StatusBadge status={r.status} /> },
                { label: d.exposed, cell: (r) => (r.exposed ? t.statusLabel('affected') : '–') },
                { label: d.devices, numeric: true, cell: (r) => formatNumber(r.exposed ? r.devices : 0) },
                {
                  label: d.components,
                  cell: (r) => r.components.map((c) => `${c.name} ${c.version ?? ''}`.trim()).join(', '),
                },
                {
                  label: d.brands,
                  cell: (r) =>
                    r.brands.map((b) => `${b.name ?? '–'}: ${formatNumber(b.devices)}`).join(', ') || '–',
                },
              ]}
            />
          ))}
        </Section>
      ) : null}
      {exposure.data && can('security:write') ? (
        <TriageForm org={org.slug} exposure={exposure.data} onDecided={reloadAll} />
      ) : null}
      <Section title={d.devicesTitle}>
        <ErrorMessage error={devices.error} retry={devices.reload} />
        {devices.data && devices.data.items.length === 0 ? <Empty title={d.noDevices} /> : null}
        {devices.data && devices.data.items.length > 0 ? (
          <Table
            caption={d.devicesTitle}
            captionHidden
            rows={devices.data.items}
            rowKey={(x) => x.deviceId}
            columns={[
              { label: d.device, cell: (x) => <a href={`/devices/${x.deviceId}`}>{x.deviceId}</a> },
              { label: d.product, cell: (x) => productName(x.productId) },
              { label: d.release, cell: (x) => releaseVersion(x.releaseId) },
            ]}
          />
        ) : null}
        <Pager list={devices} />
      </Section>
      <Section title={d.decisionsTitle}>
        <ErrorMessage error={decisions.error} retry={decisions.reload} />
        {decisions.data && decisions.data.items.length === 0 ? <Empty title={d.noDecisions} /> : null}
        {decisions.data && decisions.data.items.length > 0 ? (
          <Table
            caption={d.decisionsTitle}
            captionHidden
            rows={[...decisions.data.items].reverse()}
            rowKey={(x) => x.id}
            columns={[
              { label: d.when, cell: (x) => formatDateTime(x.createdAt) },
              {
                label: d.scope,
                cell: (x) =>
                  `${productName(x.productId)}: ${x.releaseId ? releaseVersion(x.releaseId) : d.wholeProduct}`,
              },
              {
                label: d.status,
                cell: (x) => (
                  <>
                    <StatusBadge status={x.status} />
                    {x.fixedVersion ? ` ${d.fixedIn(x.fixedVersion)}` : ''}
                  </>
                ),
              },
              {
                label: d.justification,
                cell: (x) => (x.justification ? t.justificationLabel(x.justification) : '–'),
              },
              {
                label: d.statements,
                cell: (x) => [x.impactStatement, x.actionStatement].filter(Boolean).join(' · ') || '–',
              },
              { label: d.who, cell: (x) => x.createdBy },
            ]}
          />
        ) : null}
      </Section>
      {exposure.data ? (
        <Remediate org={org.slug} exposure={exposure.data} decisions={decisions.data?.items ?? []} />
      ) : null}
      {exposure.data && can('security:write') ? (
        <ExploitedAndAdvisory org={org.slug} vulnerabilityId={exposure.data.vulnerability.id} />
      ) : null}
    </>
  );
}
