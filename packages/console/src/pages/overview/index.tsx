import type { ComponentChildren } from 'preact';
import { orgPath, withQuery } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge, severityTone } from '../../components/badge.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { formatDateTime, formatNumber, formatRelative } from '../../i18n/index.js';
import { useOrg } from '../../session.js';
import { ProvisionHint } from '../devices/provision-hint.js';
import { t } from './messages.js';
import './overview.css';

/** GET /v1/orgs/{org}/overview (packages/server/src/fleet/overview.routes.ts). */
export interface FleetOverview {
  devices: { total: number; online: number; offline: number; neverSeen: number };
  versions: {
    distinct: number;
    items: {
      productId: string;
      productName: string;
      firmwareVersion: string | null;
      devices: number;
      online: number;
    }[];
  };
  exposures: {
    open: number;
    knownExploited: number;
    bySeverity: { critical: number; high: number; medium: number; low: number; unknown: number };
    devicesExposed: number;
  };
  rollouts: {
    inProgress: number;
    items: { id: string; name: string; status: string; devices: number; done: number; failed: number }[];
  };
  reports: {
    open: number;
    overdue: number;
    dueSoon: number;
    items: { id: string; title: string; stage: string | null; dueAt: string | null; state: string | null }[];
  };
  continuity: {
    lastDeposit: { id: string; at: string } | null;
    lastRefusedDeposit: { at: string } | null;
    lastDrill: { at: string; ok: boolean } | null;
    /** null without audit:read: deposits and drills are the platform's. */
  } | null;
}

const n = formatNumber;
const severities = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

/** The fleet overview at /: each card a figure and a link to the page with the details. */
export default function Overview() {
  const org = useOrg();
  const loaded = useGet<FleetOverview>(orgPath(org.slug, 'overview'));
  const o = loaded.data;
  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <ErrorMessage error={loaded.error} retry={loaded.reload} />
      {loaded.loading && !o ? <Loading /> : null}
      {o && o.devices.total === 0 ? (
        <Empty title={t.emptyFleetTitle}>
          <ProvisionHint />
          <p>
            <a href="/devices">{t.devicesPage}</a>
          </p>
        </Empty>
      ) : null}
      {o ? (
        <>
          <div class="cards overview-cards">
            <DevicesCard o={o} />
            <ExposuresCard o={o} />
            <RolloutsCard o={o} />
            <ReportsCard o={o} />
            {o.continuity ? <ContinuityCard c={o.continuity} /> : null}
          </div>
          {o.versions.items.length > 0 ? <Versions o={o} /> : null}
        </>
      ) : null}
    </>
  );
}

function Card(props: {
  id: string;
  title: string;
  link: string;
  linkText: string;
  children: ComponentChildren;
}) {
  return (
    <article class="card" aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
      <p>
        <a href={props.link}>{props.linkText}</a>
      </p>
    </article>
  );
}

function Line(props: { label: ComponentChildren; children: ComponentChildren }) {
  return (
    <li>
      <span>{props.label}</span>
      <span>{props.children}</span>
    </li>
  );
}

function DevicesCard({ o }: { o: FleetOverview }) {
  const d = o.devices;
  return (
    <Card id="card-devices" title={t.devicesTitle} link="/devices" linkText={t.allDevices}>
      <p class="figure">{t.devicesTotal(n(d.total))}</p>
      <ul>
        <Line label={<a href="/devices?online=true">{t.online}</a>}>
          <Badge tone="good">{n(d.online)}</Badge>
        </Line>
        <Line label={<a href="/devices?online=false">{t.offlineDevices}</a>}>
          <Badge tone={d.offline > 0 ? 'warn' : 'neutral'}>{n(d.offline)}</Badge>
        </Line>
        <Line label={t.neverSeen}>{n(d.neverSeen)}</Line>
      </ul>
    </Card>
  );
}

function ExposuresCard({ o }: { o: FleetOverview }) {
  const e = o.exposures;
  return (
    <Card
      id="card-exposures"
      title={t.exposuresTitle}
      link="/vulnerabilities"
      linkText={t.allVulnerabilities}
    >
      <p class="figure">{t.exposuresFigure(n(e.open))}</p>
      {e.open === 0 ? <p>{t.noExposures}</p> : null}
      <ul>
        <Line label={t.knownExploited}>
          <Badge tone={e.knownExploited > 0 ? 'bad' : 'neutral'}>{n(e.knownExploited)}</Badge>
        </Line>
        {severities
          .filter((s) => e.bySeverity[s] > 0)
          .map((s) => (
            <Line key={s} label={t[s]}>
              <Badge tone={severityTone(s)}>{n(e.bySeverity[s])}</Badge>
            </Line>
          ))}
        <Line label={<a href="/devices?exposed=true">{t.devicesExposed}</a>}>{n(e.devicesExposed)}</Line>
      </ul>
    </Card>
  );
}

function RolloutsCard({ o }: { o: FleetOverview }) {
  const r = o.rollouts;
  return (
    <Card id="card-rollouts" title={t.rolloutsTitle} link="/rollouts" linkText={t.allRollouts}>
      <p class="figure">{t.rolloutsFigure(n(r.inProgress))}</p>
      {r.items.length === 0 ? <p>{t.noRollouts}</p> : null}
      <ul>
        {r.items.map((rollout) => (
          <li key={rollout.id} class="stacked">
            <span>
              <a href={`/rollouts/${encodeURIComponent(rollout.id)}`}>{rollout.name}</a>{' '}
              <Badge
                tone={rollout.status === 'halted' ? 'bad' : rollout.status === 'paused' ? 'warn' : 'info'}
              >
                {rollout.status}
              </Badge>
            </span>
            <span>
              {t.rolloutProgress(n(rollout.done), n(rollout.devices))}
              {rollout.failed > 0 ? <>, {t.rolloutFailed(n(rollout.failed))}</> : null}
            </span>
          </li>
        ))}
      </ul>
    </Card>
  );
}

function ReportsCard({ o }: { o: FleetOverview }) {
  const r = o.reports;
  return (
    <Card id="card-reports" title={t.reportsTitle} link="/reports" linkText={t.allReports}>
      <p class="figure">{t.reportsFigure(n(r.open))}</p>
      {r.open === 0 ? <p>{t.noReports}</p> : null}
      {r.open > 0 ? (
        <ul>
          <Line label={t.overdue}>
            <Badge tone={r.overdue > 0 ? 'bad' : 'neutral'}>{n(r.overdue)}</Badge>
          </Line>
          <Line label={t.dueSoon}>
            <Badge tone={r.dueSoon > 0 ? 'warn' : 'neutral'}>{n(r.dueSoon)}</Badge>
          </Line>
          {r.items.map((c) => (
            <li key={c.id} class="stacked">
              <a href={`/reports/${encodeURIComponent(c.id)}`}>{c.title}</a>
              {c.stage && c.dueAt ? (
                <span class={c.state === 'overdue' ? 'card-warning' : undefined}>
                  <time dateTime={c.dueAt} title={formatDateTime(c.dueAt)}>
                    {t.due(t.stage(c.stage), formatRelative(c.dueAt))}
                  </time>
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}

function ContinuityCard({ c }: { c: NonNullable<FleetOverview['continuity']> }) {
  return (
    <Card id="card-continuity" title={t.continuityTitle} link="/continuity" linkText={t.continuityLink}>
      <dl class="facts">
        <dt>{t.lastDeposit}</dt>
        <dd>
          {c.lastDeposit ? (
            <time dateTime={c.lastDeposit.at} title={formatDateTime(c.lastDeposit.at)}>
              {formatRelative(c.lastDeposit.at)}
            </time>
          ) : (
            <>
              {t.noDeposit} <code>brickless escrow deposit</code>
            </>
          )}
        </dd>
        <dt>{t.lastDrill}</dt>
        <dd>
          {c.lastDrill ? (
            <>
              <Badge tone={c.lastDrill.ok ? 'good' : 'bad'}>
                {c.lastDrill.ok ? t.drillPassed : t.drillFailed}
              </Badge>{' '}
              <time dateTime={c.lastDrill.at} title={formatDateTime(c.lastDrill.at)}>
                {formatRelative(c.lastDrill.at)}
              </time>
            </>
          ) : (
            <>
              {t.drillUnknown} <code>brickless escrow drill</code>
            </>
          )}
        </dd>
      </dl>
      {c.lastRefusedDeposit ? <p class="card-warning">{t.refused}</p> : null}
    </Card>
  );
}

function Versions({ o }: { o: FleetOverview }) {
  return (
    <Section title={t.versionsTitle} id="versions">
      <p>{t.versionsIntro(n(o.versions.items.length), n(o.versions.distinct))}</p>
      <Table
        caption={t.versionsTitle}
        captionHidden
        rows={o.versions.items}
        rowKey={(v) => `${v.productId}/${v.firmwareVersion ?? ''}`}
        columns={[
          { label: t.product, cell: (v) => v.productName },
          {
            label: t.firmware,
            cell: (v) =>
              v.firmwareVersion ? (
                <a
                  href={withQuery('/devices', { productId: v.productId, firmwareVersion: v.firmwareVersion })}
                >
                  {v.firmwareVersion}
                </a>
              ) : (
                t.unknownFirmware
              ),
          },
          { label: t.devices, numeric: true, cell: (v) => n(v.devices) },
          { label: t.onlineNow, numeric: true, cell: (v) => n(v.online) },
        ]}
      />
    </Section>
  );
}
