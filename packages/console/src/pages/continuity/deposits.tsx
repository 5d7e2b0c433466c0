import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Empty, Loading, Section } from '../../components/page.js';
import type { Loaded } from '../../components/use-api.js';
import { formatDateTime, formatNumber, formatRelative } from '../../i18n/index.js';
import { t } from './messages.js';
import type { ContinuityOverview, DepositEntry, DrillEntry } from './types.js';

const bytes = (n: number) =>
  n >= 1024 * 1024
    ? `${formatNumber(Math.round(n / 104_857.6) / 10)} MiB`
    : `${formatNumber(Math.ceil(n / 1024))} KiB`;
const secs = (n: number | null) => (n === null ? t.never : `${formatNumber(n)} s`);

/** The deposits as a timeline (an ordered list, newest first) with each one's check. */
export function Deposits(props: { overview: Loaded<ContinuityOverview> }) {
  const { data, error, loading, reload } = props.overview;
  return (
    <Section title={t.depositsTitle} id="deposits">
      <ErrorMessage error={error} retry={reload} />
      {loading && !data ? <Loading /> : null}
      {data ? (
        <>
          <dl class="facts">
            <dt>{t.schedule}</dt>
            <dd>
              {data.schedule.configured
                ? t.scheduleEvery(data.schedule.intervalHours, data.schedule.recipients)
                : t.scheduleOff}
            </dd>
            <dt>{t.depositKey}</dt>
            <dd>{data.depositKey ? <code>{data.depositKey.publicKey}</code> : t.depositKeyNone}</dd>
          </dl>
          {data.deposits.length === 0 ? (
            <Empty title={t.depositsEmptyTitle}>
              <p>{t.depositsEmpty}</p>
              <pre class="command">
                <code>npx brickless escrow deposit --recipient "$RECIPIENT" --out escrow</code>
              </pre>
            </Empty>
          ) : (
            <>
              <ol class="timeline" aria-label={t.timelineLabel}>
                {data.deposits.map((entry) => (
                  <DepositItem key={entry.auditId} entry={entry} />
                ))}
              </ol>
              <p class="hint">{t.verifyHint}</p>
            </>
          )}
        </>
      ) : null}
    </Section>
  );
}

function DepositItem({ entry }: { entry: DepositEntry }) {
  return (
    <li class={`timeline-item timeline-${entry.kind}`}>
      <p class="timeline-head">
        <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>{' '}
        <span class="muted">({formatRelative(entry.at)})</span>{' '}
        {entry.kind === 'refused' ? (
          <Badge tone="bad">{t.refused}</Badge>
        ) : (
          <>
            <Badge tone="info">
              {t.deposit} {entry.sequence === null ? '' : `#${entry.sequence}`}
            </Badge>{' '}
            <CheckBadge entry={entry} />
          </>
        )}
      </p>
      <dl class="facts">
        {entry.kind === 'refused' ? (
          <>
            <dt>{t.reason}</dt>
            <dd>
              {t.refusedExplain} {entry.reason}
            </dd>
          </>
        ) : (
          <>
            {entry.rows !== null ? (
              <>
                <dt>{t.rows}</dt>
                <dd>{formatNumber(entry.rows)}</dd>
              </>
            ) : null}
            {entry.artifacts !== null ? (
              <>
                <dt>{t.artifacts}</dt>
                <dd>{formatNumber(entry.artifacts)}</dd>
              </>
            ) : null}
            {entry.newBytes !== null ? (
              <>
                <dt>{t.newData}</dt>
                <dd>{bytes(entry.newBytes)}</dd>
              </>
            ) : null}
            {entry.seconds !== null ? (
              <>
                <dt>{t.duration}</dt>
                <dd>{secs(entry.seconds)}</dd>
              </>
            ) : null}
            {entry.manifestSha256 ? (
              <>
                <dt>{t.sha256}</dt>
                <dd>
                  <code>{entry.manifestSha256}</code>
                </dd>
              </>
            ) : null}
            {entry.signedBy ? (
              <>
                <dt>{t.signedBy}</dt>
                <dd>
                  <code>{entry.signedBy}</code>
                </dd>
              </>
            ) : null}
            {entry.checkDetail ? (
              <>
                <dt>{t.check}</dt>
                <dd>{entry.checkDetail}</dd>
              </>
            ) : null}
          </>
        )}
        <dt>{t.by}</dt>
        <dd>
          <code>{entry.actor}</code>
        </dd>
      </dl>
    </li>
  );
}

function CheckBadge({ entry }: { entry: DepositEntry }) {
  if (entry.check === 'verified') return <Badge tone="good">{t.checkVerified}</Badge>;
  if (entry.check === 'failed') return <Badge tone="bad">{t.checkFailed}</Badge>;
  return <Badge tone="neutral">{t.checkUnavailable}</Badge>;
}

/** The last takeover drill's figures, or the command that makes one. */
export function Drill(props: { drill: DrillEntry | null }) {
  const d = props.drill;
  return (
    <Section title={t.drillTitle} id="drill">
      {!d ? (
        <Empty title={t.drillEmptyTitle}>
          <p>{t.drillEmpty}</p>
          <pre class="command">
            <code>brickless escrow drill --devices 100</code>
          </pre>
        </Empty>
      ) : (
        <>
          <p>
            <Badge tone={d.ok ? 'good' : 'bad'}>{d.ok ? t.drillPassed : t.drillFailed}</Badge>{' '}
            {t.drillAt(formatDateTime(d.at), d.actor)}
          </p>
          <div class="cards">
            <Figure label={t.drillTotal} value={secs(d.seconds)} />
            <Figure label={t.drillDevices} value={d.devices === null ? '–' : formatNumber(d.devices)} />
            <Figure label={t.drillDatabases} value={`${d.source ?? '?'} → ${d.target ?? '?'}`} />
            <Figure
              label={t.drillDeposit}
              value={`${secs(d.depositSeconds)} · ${t.rowsCount(d.rows ?? 0)} · ${formatNumber(d.megabytes ?? 0)} MiB`}
            />
            <Figure label={t.drillRestore} value={secs(d.restoreSeconds)} />
            <Figure label={t.drillBack} value={secs(d.reconnect99Seconds)} />
            <Figure label={t.drillServed} value={secs(d.served99FromRestoreSeconds)} />
            <Figure label={t.drillLost} value={formatNumber(d.devicesLost ?? 0)} />
            <Figure label={t.drillRowsLost} value={formatNumber(d.rowsLost ?? 0)} />
            <Figure
              label={t.drillFeatures}
              value={t.drillFeaturesOf(d.featuresPassed ?? 0, d.featuresTotal ?? 0)}
            />
          </div>
          {d.failed.length > 0 ? (
            <p>
              {t.drillFailedFeatures}: {d.failed.join(', ')}
            </p>
          ) : null}
        </>
      )}
    </Section>
  );
}

function Figure(props: { label: string; value: string }) {
  return (
    <div class="card">
      <h3>{props.label}</h3>
      <p class="drill-figure">{props.value}</p>
    </div>
  );
}
