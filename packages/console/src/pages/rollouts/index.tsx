import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { orgPath, type Page } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { useGet, usePaged } from '../../components/use-api.js';
import { formatDateTime } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import type { Release } from '../releases/types.js';
import { CreateRollout } from './create.js';
import { t } from './messages.js';
import { DeviceProgress } from './progress.js';
import { type Rollout, type RolloutStatus, statusTone, statusWord } from './types.js';
import './rollouts.css';

const STATUSES: RolloutStatus[] = ['running', 'paused', 'halted', 'completed', 'cancelled'];

/** Rollouts, newest first, with their state and how far their devices got; a release manager starts one. */
export default function Rollouts() {
  const org = useOrg();
  const { can } = useSession();
  const { query } = useLocation();
  const [status, setStatus] = useState('');
  const list = usePaged<Rollout>(orgPath(org.slug, 'rollouts'), { status });
  // Versions by release id, to name each rollout's release (the newest 200 releases).
  const releases = useGet<Page<Release>>(orgPath(org.slug, 'releases'), { limit: 200 });
  const versions = new Map((releases.data?.items ?? []).map((r) => [r.id, r.version]));
  const writable = can('releases:write');

  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <Section title={t.listTitle}>
        <div class="filters">
          <Field id="rollout-filter-status" label={t.filterStatus}>
            <select id="rollout-filter-status" value={status} onChange={(e) => setStatus(inputValue(e))}>
              <option value="">{t.allStatuses}</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {statusWord(s)}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <ErrorMessage error={list.error} retry={list.reload} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && list.data.items.length === 0 ? (
          <Empty title={t.emptyTitle}>
            <p>{writable ? t.emptyCanCreate : t.emptyAsk}</p>
          </Empty>
        ) : null}
        {list.data && list.data.items.length > 0 ? (
          <Table
            caption={t.listTitle}
            captionHidden
            rows={list.data.items}
            rowKey={(r) => r.id}
            columns={[
              { label: t.name, cell: (r) => <a href={`/rollouts/${r.id}`}>{r.name}</a> },
              {
                label: t.status,
                cell: (r) => <Badge tone={statusTone(r.status)}>{statusWord(r.status)}</Badge>,
              },
              {
                label: t.progress,
                cell: (r) => (
                  <DeviceProgress id={`progress-${r.id}`} states={r.totals} label={t.percentDone} />
                ),
              },
              {
                label: t.release,
                cell: (r) => (
                  <a href={`/releases/${r.releaseId}`}>{versions.get(r.releaseId) ?? r.releaseId}</a>
                ),
              },
              { label: t.created, cell: (r) => formatDateTime(r.createdAt) },
            ]}
          />
        ) : null}
        <Pager list={list} />
      </Section>
      {writable ? <CreateRollout org={org.slug} initialRelease={query.releaseId ?? ''} /> : null}
    </>
  );
}
