import { useState } from 'preact/hooks';
import { orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Loading, PageTitle, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { TimeChart } from '../../components/time-chart.js';
import { useGet } from '../../components/use-api.js';
import { formatDate, formatDateTime, formatNumber } from '../../i18n/index.js';
import { useOrg } from '../../session.js';
import { t } from './messages.js';
import './metrics.css';

interface Point {
  bucket: string;
  at: string;
  source: 'snapshot' | 'live';
  devices: number;
  supported: number;
  newestSecurity: number;
  kevExposed: number;
}

interface DaysFigure {
  count: number;
  median: number | null;
  max: number | null;
}

interface Metrics {
  scope: { kind: 'product' | 'brand'; id: string; name: string };
  products: Array<{
    id: string;
    name: string;
    modelNumber: string;
    supportEnds: string;
    supportEnded: boolean;
    newestSecurityRelease: { version: string; publishedAt: string | null } | null;
  }>;
  from: string;
  to: string;
  series: Point[];
  now: Point;
  times: Record<
    string,
    {
      vulnerabilities: number;
      timeToFixDays: DaysFigure;
      timeTo90CoverageDays: DaysFigure;
      timeTo100CoverageDays: DaysFigure;
    }
  >;
  vulnerabilities: number;
}

const periods = {
  last30: { days: 30, bucket: 'day' },
  last90: { days: 90, bucket: 'day' },
  lastYear: { days: 365, bucket: 'week' },
  last5Years: { days: 5 * 365, bucket: 'month' },
} as const;
type Period = keyof typeof periods;

/** The day `days` before `to` (YYYY-MM-DD): periods count back from the server's today, not the browser's. */
const dayBefore = (to: string, days: number): string =>
  new Date(Date.parse(`${to}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
const seconds = (iso: string): number => Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : iso) / 1000;

/** The security metrics of a product or a brand (issue 21 §4): figures now, a chart over time, times by severity. */
export function MetricsView(props: { kind: 'products' | 'brands'; id: string }) {
  const org = useOrg();
  const [period, setPeriod] = useState<Period>('last90');
  // The server's today, from the first answer (which uses the server's default range).
  const [today, setToday] = useState<string | null>(null);
  const chosen = periods[period];
  const metrics = useGet<Metrics>(
    orgPath(org.slug, props.kind, props.id, 'metrics'),
    today ? { from: dayBefore(today, chosen.days), to: today, bucket: chosen.bucket } : {},
  );
  const data = metrics.data;
  if (data && !today) setToday(data.to);
  return (
    <>
      <PageTitle title={t.title(data?.scope.name ?? '…')} />
      <p>{props.kind === 'products' ? t.productIntro : t.brandIntro}</p>
      <p>
        <a href={`/${props.kind}`}>{t.back}</a>
      </p>
      <ErrorMessage error={metrics.error} retry={metrics.reload} />
      {metrics.loading && !data ? <Loading /> : null}
      {data ? (
        <>
          <Now data={data} />
          <Section title={t.overTime}>
            <div class="metrics-period">
              <label for="metrics-period">{t.period}</label>
              <select
                id="metrics-period"
                value={period}
                onChange={(e) => setPeriod((e.target as HTMLSelectElement).value as Period)}
              >
                {(Object.keys(periods) as Period[]).map((p) => (
                  <option key={p} value={p}>
                    {t[p]}
                  </option>
                ))}
              </select>
            </div>
            <Series data={data} />
          </Section>
          <Times data={data} />
          <Products data={data} />
          <details class="metrics-rules">
            <summary>{t.rulesTitle}</summary>
            <ul>
              <li>{t.ruleSupported}</li>
              <li>{t.ruleNewest}</li>
              <li>{t.ruleKev}</li>
              <li>{t.ruleHistory}</li>
            </ul>
          </details>
        </>
      ) : null}
    </>
  );
}

function Now(props: { data: Metrics }) {
  const now = props.data.now;
  const of = (n: number) => t.ofDevices(formatNumber(n), formatNumber(now.devices));
  return (
    <Section title={t.nowTitle}>
      <dl class="facts">
        <dt>{t.devices}</dt>
        <dd>{formatNumber(now.devices)}</dd>
        <dt>{t.supported}</dt>
        <dd>{of(now.supported)}</dd>
        <dt>{t.newestSecurity}</dt>
        <dd>{of(now.newestSecurity)}</dd>
        <dt>{t.kevExposed}</dt>
        <dd>
          {of(now.kevExposed)} {now.kevExposed > 0 ? <Badge tone="bad">KEV</Badge> : null}
        </dd>
      </dl>
    </Section>
  );
}

function Series(props: { data: Metrics }) {
  const { series, from, to } = props.data;
  const times = series.map((p) => seconds(p.source === 'live' ? p.bucket : p.at));
  const last = series.at(-1);
  return (
    <figure class="metrics-figure">
      <TimeChart
        times={times}
        from={seconds(from)}
        to={seconds(to) + 86_400}
        legend
        series={[
          { label: t.supported, values: series.map((p) => p.supported), stroke: '--good' },
          {
            label: t.newestSecurity,
            values: series.map((p) => p.newestSecurity),
            stroke: '--accent',
            dash: [6, 4],
          },
          { label: t.kevExposed, values: series.map((p) => p.kevExposed), stroke: '--bad', dash: [2, 3] },
        ]}
      />
      <figcaption class="chart-summary">
        {series.length <= 1 ? `${t.noHistory} ` : null}
        {last
          ? t.chartSummary(
              series.length,
              formatNumber(last.supported),
              formatNumber(last.newestSecurity),
              formatNumber(last.kevExposed),
            )
          : null}
      </figcaption>
      <details class="chart-table">
        <summary>{t.showTable}</summary>
        <Table
          caption={t.tableCaption}
          rows={series}
          rowKey={(p) => p.bucket}
          columns={[
            { label: t.day, cell: (p) => (p.source === 'live' ? formatDateTime(p.at) : formatDate(p.at)) },
            { label: t.devices, numeric: true, cell: (p) => formatNumber(p.devices) },
            { label: t.supported, numeric: true, cell: (p) => formatNumber(p.supported) },
            { label: t.newestSecurity, numeric: true, cell: (p) => formatNumber(p.newestSecurity) },
            { label: t.kevExposed, numeric: true, cell: (p) => formatNumber(p.kevExposed) },
            { label: t.source, cell: (p) => (p.source === 'live' ? t.live : t.snapshot) },
          ]}
        />
      </details>
    </figure>
  );
}

function Times(props: { data: Metrics }) {
  const rows = Object.entries(props.data.times)
    .filter(([, v]) => v.vulnerabilities > 0)
    .map(([severity, v]) => ({ severity, ...v }));
  const pair = (f: DaysFigure) =>
    f.count === 0 ? '–' : t.daysPair(formatNumber(f.median ?? 0), formatNumber(f.max ?? 0));
  return (
    <Section title={t.timesTitle}>
      <p>{t.timesIntro}</p>
      {rows.length === 0 ? (
        <p>{t.noVulnerabilities}</p>
      ) : (
        <Table
          caption={t.timesTitle}
          captionHidden
          rows={rows}
          rowKey={(r) => r.severity}
          columns={[
            { label: t.severity, cell: (r) => t.severityName(r.severity) },
            { label: t.vulnerabilities, numeric: true, cell: (r) => formatNumber(r.vulnerabilities) },
            { label: t.timeToFix, numeric: true, cell: (r) => pair(r.timeToFixDays) },
            { label: t.coverage90, numeric: true, cell: (r) => pair(r.timeTo90CoverageDays) },
            { label: t.coverage100, numeric: true, cell: (r) => pair(r.timeTo100CoverageDays) },
          ]}
        />
      )}
    </Section>
  );
}

function Products(props: { data: Metrics }) {
  return (
    <Section title={t.productsTitle}>
      <Table
        caption={t.productsTitle}
        captionHidden
        rows={props.data.products}
        rowKey={(p) => p.id}
        columns={[
          { label: t.product, cell: (p) => `${p.name} (${p.modelNumber})` },
          {
            label: t.supportEnds,
            cell: (p) => (
              <>
                {formatDate(p.supportEnds)} {p.supportEnded ? <Badge tone="bad">{t.ended}</Badge> : null}
              </>
            ),
          },
          {
            label: t.newestSecurityRelease,
            cell: (p) =>
              p.newestSecurityRelease
                ? `${p.newestSecurityRelease.version} (${formatDate(p.newestSecurityRelease.publishedAt)})`
                : t.none,
          },
        ]}
      />
    </Section>
  );
}
