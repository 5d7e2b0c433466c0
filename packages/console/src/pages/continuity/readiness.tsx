import { orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Loading, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { formatDateTime, formatNumber } from '../../i18n/index.js';
import { r } from './readiness-messages.js';

/** GET /v1/orgs/{org}/continuity/readiness (server: continuity/readiness.ts). */
interface Readiness {
  limits: { maxDepositAgeHours: number };
  recoveryPoint: {
    lastDeposit: { depositId: string; ageHours: number } | null;
    lastVerifiedDeposit: { depositId: string; ageHours: number } | null;
  };
  drill: { ok: boolean; ageDays: number; served99Seconds: number | null; movedShare: number | null } | null;
  updateKeys: { escrowHoldsRootShare: boolean; escrowKeysInRoot: number; rootThreshold: number };
  devices: { total: number; canMove: number; share: number | null; rule: string };
  parts: { standard: Array<{ part: string; value: string }>; customConfig: string[] | null };
  successorNeeds: string[];
  warnings: Array<{ code: string; message: string }>;
}

interface HistoryPoint {
  at: string;
  depositAgeHours: number | null;
  drillOk: boolean | null;
  devicesCanMoveShare: number | null;
  warnings: string[];
}

/**
 * The takeover readiness report (audit:read): its figures, warnings (English, as the API gives
 * them, with their codes) and the recorded history; the signed ZIP is a plain download link.
 */
export function Readiness(props: { org: string }) {
  const path = orgPath(props.org, 'continuity', 'readiness');
  const report = useGet<Readiness>(path);
  // Loaded after the report, so the history includes the report just recorded.
  const history = useGet<{ items: HistoryPoint[] }>(report.data ? `${path}/history` : null, { limit: 20 });
  const data = report.data;
  const hours = (entry: { ageHours: number } | null) => (entry ? r.hoursAgo(entry.ageHours) : r.none);
  return (
    <Section title={r.title} id="readiness">
      <p>{r.intro}</p>
      <p>
        <a href={`${path}/signed`} download>
          {r.download}
        </a>{' '}
        <span class="hint">{r.downloadHint}</span>
      </p>
      <ErrorMessage error={report.error} retry={report.reload} />
      {report.loading && !data ? <Loading /> : null}
      {data ? (
        <>
          <dl class="facts">
            <dt>{r.lastDeposit}</dt>
            <dd>
              {hours(data.recoveryPoint.lastDeposit)} ({r.interval(data.limits.maxDepositAgeHours)})
            </dd>
            <dt>{r.lastVerified}</dt>
            <dd>{hours(data.recoveryPoint.lastVerifiedDeposit)}</dd>
            <dt>{r.drill}</dt>
            <dd>
              {data.drill
                ? r.drillFigures(
                    data.drill.ok,
                    data.drill.ageDays,
                    data.drill.served99Seconds,
                    data.drill.movedShare,
                  )
                : r.none}
            </dd>
            <dt>{r.escrowKey}</dt>
            <dd>
              {data.updateKeys.escrowHoldsRootShare
                ? r.escrowYes(data.updateKeys.escrowKeysInRoot, data.updateKeys.rootThreshold)
                : r.escrowNo}
            </dd>
            <dt>{r.devices}</dt>
            <dd>
              {r.devicesShare(data.devices.canMove, data.devices.total, data.devices.share)}
              <br />
              <span class="hint">{data.devices.rule}</span>
            </dd>
            <dt>{r.standard}</dt>
            <dd>
              <ul>
                {data.parts.standard.map((p) => (
                  <li key={p.part}>
                    {p.part}: {p.value}
                  </li>
                ))}
              </ul>
            </dd>
            <dt>{r.custom}</dt>
            <dd>
              {data.parts.customConfig === null
                ? r.customUnknown
                : data.parts.customConfig.length === 0
                  ? r.customNone
                  : data.parts.customConfig.map((key) => <code key={key}>{key} </code>)}
            </dd>
          </dl>
          <h3>{r.warnings}</h3>
          {data.warnings.length === 0 ? (
            <p>{r.noWarnings}</p>
          ) : (
            <ul class="readiness-warnings">
              {data.warnings.map((w) => (
                <li key={w.code}>
                  <Badge tone="warn">{w.code}</Badge> {w.message}
                </li>
              ))}
            </ul>
          )}
          <h3>{r.needs}</h3>
          <ul>
            {data.successorNeeds.map((need) => (
              <li key={need}>{need}</li>
            ))}
          </ul>
          <ErrorMessage error={history.error} retry={history.reload} />
          {history.data ? (
            <Table
              caption={r.history}
              rows={history.data.items.map((p, i) => ({ ...p, n: String(i) }))}
              rowKey={(p) => p.n}
              columns={[
                { label: r.at, cell: (p) => formatDateTime(p.at) },
                {
                  label: r.depositAge,
                  numeric: true,
                  cell: (p) => (p.depositAgeHours === null ? '–' : `${formatNumber(p.depositAgeHours)} h`),
                },
                {
                  label: r.drillCol,
                  cell: (p) => (p.drillOk === null ? '–' : p.drillOk ? r.passed : r.failed),
                },
                {
                  label: r.canMove,
                  numeric: true,
                  cell: (p) => (p.devicesCanMoveShare === null ? '–' : r.share(p.devicesCanMoveShare)),
                },
                { label: r.warningsCol, cell: (p) => p.warnings.join(', ') || '–' },
              ]}
            />
          ) : null}
        </>
      ) : null}
    </Section>
  );
}
