import { useLocation } from 'preact-iso';
import { orgPath, withQuery } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { usePaged } from '../../components/use-api.js';
import { formatNumber } from '../../i18n/index.js';
import { useOrg } from '../../session.js';
import { KevBadge, SeverityBadge } from './badges.js';
import { t } from './messages.js';
import { type OverviewItem, severityRatings, triageStatuses } from './types.js';

const FILTER_KEYS = ['status', 'severity', 'kev', 'triage'] as const;
type Filters = Partial<Record<(typeof FILTER_KEYS)[number], string>>;

/** The organisation's exposure list; the filters live in the address, so a filtered view can be shared. */
export default function Vulnerabilities() {
  const org = useOrg();
  const location = useLocation();
  const filters: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = location.query[key];
    if (value) filters[key] = value;
  }
  const list = usePaged<OverviewItem>(orgPath(org.slug, 'vulnerabilities'), filters);
  const setFilter = (key: keyof Filters) => (event: Event) => {
    const next = { ...filters, [key]: inputValue(event) || undefined };
    location.route(withQuery('/vulnerabilities', next), true);
  };

  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <Section title={t.listTitle}>
        <form class="filters" aria-label={t.filters} onSubmit={(e) => e.preventDefault()}>
          <Field id="filter-status" label={t.show}>
            <select id="filter-status" value={filters.status ?? 'open'} onChange={setFilter('status')}>
              <option value="open">{t.showOpen}</option>
              <option value="all">{t.showAll}</option>
            </select>
          </Field>
          <Field id="filter-severity" label={t.severity}>
            <select id="filter-severity" value={filters.severity ?? ''} onChange={setFilter('severity')}>
              <option value="">{t.any}</option>
              {severityRatings.map((s) => (
                <option key={s} value={s}>
                  {t.severityLabel(s)}
                </option>
              ))}
            </select>
          </Field>
          <Field id="filter-kev" label={t.kev}>
            <select id="filter-kev" value={filters.kev ?? ''} onChange={setFilter('kev')}>
              <option value="">{t.any}</option>
              <option value="true">{t.kevOnly}</option>
              <option value="false">{t.kevNot}</option>
            </select>
          </Field>
          <Field id="filter-triage" label={t.triage}>
            <select id="filter-triage" value={filters.triage ?? ''} onChange={setFilter('triage')}>
              <option value="">{t.any}</option>
              {triageStatuses.map((s) => (
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
            <p>{t.emptyOpen}</p>
          </Empty>
        ) : null}
        {list.data && list.data.items.length > 0 ? (
          <Table
            caption={t.listTitle}
            captionHidden
            rows={list.data.items}
            rowKey={(v) => v.id}
            columns={[
              {
                label: t.id,
                cell: (v) => (
                  <>
                    <a href={`/vulnerabilities/${encodeURIComponent(v.id)}`}>{v.id}</a>
                    {v.knownExploited ? (
                      <>
                        {' '}
                        <KevBadge />
                      </>
                    ) : null}
                  </>
                ),
              },
              { label: t.severity, cell: (v) => <SeverityBadge {...v.severity} /> },
              { label: t.summary, cell: (v) => v.summary || '–' },
              { label: t.devices, numeric: true, cell: (v) => formatNumber(v.devicesExposed) },
              { label: t.releases, numeric: true, cell: (v) => formatNumber(v.releasesExposed) },
              { label: t.products, numeric: true, cell: (v) => formatNumber(v.products) },
            ]}
          />
        ) : null}
        <Pager list={list} />
      </Section>
      <Section title={t.vexTitle}>
        <p>{t.vexIntro}</p>
        <ul class="button-row vex-links">
          <li>
            <a href={withQuery(orgPath(org.slug, 'vex'), { format: 'openvex' })} download="vex.openvex.json">
              {t.vexOpen}
            </a>
          </li>
          <li>
            <a href={withQuery(orgPath(org.slug, 'vex'), { format: 'cyclonedx' })} download="vex.cdx.json">
              {t.vexCyclone}
            </a>
          </li>
          <li>
            <a href={withQuery(orgPath(org.slug, 'vex'), { format: 'csaf' })} download="vex.csaf.json">
              {t.vexCsaf}
            </a>
          </li>
        </ul>
      </Section>
    </>
  );
}
