import { orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Loading, PageTitle, Section } from '../../components/page.js';
import { useGet } from '../../components/use-api.js';
import { formatDateTime, formatNumber } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import type { Release } from '../releases/types.js';
import { RolloutActions } from './actions.js';
import { RolloutDevices } from './devices.js';
import { useLiveRollout } from './live.js';
import { t } from './messages.js';
import { DeviceProgress } from './progress.js';
import { statusTone, statusWord } from './types.js';
import './rollouts.css';

/** One rollout, live: its waves' progress as devices report, the controls, and why devices failed. */
export default function RolloutPage(props: { id?: string; params?: { id?: string } }) {
  const id = props.params?.id ?? props.id ?? '';
  const org = useOrg();
  const { can } = useSession();
  const { rollout, error, mode, reload } = useLiveRollout(org.slug, id);
  const release = useGet<Release>(rollout ? orgPath(org.slug, 'releases', rollout.releaseId) : null);

  return (
    <>
      <p>
        <a href="/rollouts">← {t.back}</a>
      </p>
      <PageTitle title={rollout ? t.pageTitle(rollout.name) : t.title} />
      <ErrorMessage error={error} retry={() => void reload()} />
      {!rollout && !error ? <Loading /> : null}
      {rollout ? (
        <>
          <Section title={t.summary}>
            <dl class="facts">
              <dt>{t.status}</dt>
              <dd>
                <Badge tone={statusTone(rollout.status)}>{statusWord(rollout.status)}</Badge>
                {rollout.statusReason ? ` ${rollout.statusReason}` : ''}
              </dd>
              <dt>{t.release}</dt>
              <dd>
                <a href={`/releases/${rollout.releaseId}`}>{release.data?.version ?? rollout.releaseId}</a> (
                {rollout.kind})
              </dd>
              <dt>{t.currentWave}</dt>
              <dd>
                {rollout.currentWave + 1} / {rollout.waves.length}
              </dd>
              <dt>{t.window}</dt>
              <dd>{rollout.window ?? '–'}</dd>
              <dt>{t.deadline}</dt>
              <dd>{formatDateTime(rollout.deadline)}</dd>
              <dt>{t.created}</dt>
              <dd>{formatDateTime(rollout.createdAt)}</dd>
            </dl>
            {can('releases:write') ? (
              <RolloutActions org={org.slug} rollout={rollout} onDone={() => void reload()} />
            ) : null}
          </Section>
          <Section title={t.progress}>
            <p class="live-status">{mode === 'polling' ? t.polling : mode === 'ended' ? t.ended : t.live}</p>
            <p>
              <strong>{t.totals}: </strong>
              <DeviceProgress id="progress-total" states={rollout.totals} label={t.waveProgress} />
            </p>
            {rollout.offline ? <p class="hint">{t.offline(formatNumber(rollout.offline))}</p> : null}
            <ol class="wave-list">
              {(rollout.progress ?? []).map((wave) => (
                <li key={wave.wave} class={wave.wave === rollout.currentWave ? 'wave-current' : undefined}>
                  <h3>{t.wave(wave.wave + 1, formatNumber(wave.percent))}</h3>
                  <DeviceProgress
                    id={`progress-wave-${wave.wave}`}
                    states={wave.states}
                    label={t.waveProgress}
                  />
                  <p class="wave-states">
                    {Object.entries(wave.states)
                      .map(([state, n]) => `${state}: ${formatNumber(n)}`)
                      .join(' · ') || '–'}
                  </p>
                </li>
              ))}
            </ol>
          </Section>
          <RolloutDevices
            org={org.slug}
            rolloutId={rollout.id}
            changed={JSON.stringify(rollout.totals ?? {})}
          />
        </>
      ) : null}
    </>
  );
}
