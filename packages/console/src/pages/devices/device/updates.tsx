import { orgPath } from '../../../api/client.js';
import { ErrorMessage } from '../../../components/alert.js';
import { Badge } from '../../../components/badge.js';
import { Empty, Loading } from '../../../components/page.js';
import { Table } from '../../../components/table.js';
import { useGet } from '../../../components/use-api.js';
import { formatDateTime } from '../../../i18n/index.js';
import { t } from './messages.js';
import type { PartProps, UpdateStep } from './types.js';

/** Every step of the device's updates, newest first, with the reason of a failure. */
export function UpdatesPart(props: PartProps) {
  const history = useGet<{ items: UpdateStep[] }>(orgPath(props.org, 'devices', props.device.id, 'updates'), {
    limit: 100,
  });
  return (
    <div>
      <h2>{t.updates}</h2>
      <ErrorMessage error={history.error} retry={history.reload} />
      {history.loading && !history.data ? <Loading /> : null}
      {history.data && history.data.items.length === 0 ? (
        <Empty title={t.noUpdates}>
          <p>{t.noUpdatesNext}</p>
        </Empty>
      ) : null}
      {history.data && history.data.items.length > 0 ? (
        <Table
          caption={t.updates}
          captionHidden
          rows={history.data.items}
          rowKey={(u) => u.id}
          columns={[
            { label: t.time, cell: (u) => formatDateTime(u.time) },
            {
              label: t.step,
              cell: (u) => (
                <Badge tone={/fail|rolled/.test(u.step) ? 'bad' : u.step === 'installed' ? 'good' : 'info'}>
                  {u.step}
                </Badge>
              ),
            },
            { label: t.reason, cell: (u) => [u.reason, u.message].filter(Boolean).join(': ') || '–' },
            {
              label: t.rollout,
              cell: (u) =>
                u.rolloutId ? (
                  <a href={`/rollouts/${encodeURIComponent(u.rolloutId)}`}>{u.rolloutId}</a>
                ) : (
                  '–'
                ),
            },
          ]}
        />
      ) : null}
    </div>
  );
}
