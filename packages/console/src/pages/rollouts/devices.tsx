import { useEffect, useRef, useState } from 'preact/hooks';
import { orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Field, inputValue } from '../../components/form.js';
import { Empty, Loading, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { usePaged } from '../../components/use-api.js';
import { formatDateTime } from '../../i18n/index.js';
import { t } from './messages.js';
import { FAILED_STATES } from './types.js';

interface RolloutDevice {
  deviceId: string;
  wave: number;
  state: string;
  reason: string | null;
  message: string | null;
  offers: number;
  updatedAt: string;
}

const STATES = [
  'pending',
  'offered',
  'deferred',
  'downloading',
  'verifying',
  'installing',
  'rebooting',
  'succeeded',
  'failed',
  'rolled-back',
  'cancelled',
];

/** The rollout's devices and why the failed ones failed (paged on the server, by state). */
export function RolloutDevices(props: { org: string; rolloutId: string; changed: string }) {
  const [state, setState] = useState('');
  const list = usePaged<RolloutDevice>(orgPath(props.org, 'rollouts', props.rolloutId, 'devices'), { state });
  // The rollout's counts changed (a device reported): read this page of devices again.
  const seen = useRef(props.changed);
  useEffect(() => {
    if (seen.current === props.changed) return;
    seen.current = props.changed;
    list.reload();
  }, [props.changed, list.reload]);
  return (
    <Section title={t.devicesTitle} id="devices">
      <div class="filters">
        <Field id="rollout-device-state" label={t.filterState}>
          <select id="rollout-device-state" value={state} onChange={(e) => setState(inputValue(e))}>
            <option value="">{t.allDevices}</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s === 'failed' ? t.failedOnly : s}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorMessage error={list.error} retry={list.reload} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && list.data.items.length === 0 ? <Empty title={t.noDevices} /> : null}
      {list.data && list.data.items.length > 0 ? (
        <Table
          caption={t.devicesTitle}
          captionHidden
          rows={list.data.items}
          rowKey={(d) => d.deviceId}
          columns={[
            { label: t.device, cell: (d) => <a href={`/devices/${d.deviceId}`}>{d.deviceId}</a> },
            { label: t.waveColumn, cell: (d) => d.wave + 1, numeric: true },
            {
              label: t.state,
              cell: (d) => (
                <Badge
                  tone={
                    FAILED_STATES.includes(d.state) ? 'bad' : d.state === 'succeeded' ? 'good' : 'neutral'
                  }
                >
                  {d.state}
                </Badge>
              ),
            },
            { label: t.failureReason, cell: (d) => (d.reason ? <code>{d.reason}</code> : '–') },
            { label: t.message, cell: (d) => d.message ?? '–' },
            { label: t.offers, cell: (d) => d.offers, numeric: true },
            { label: t.updated, cell: (d) => formatDateTime(d.updatedAt) },
          ]}
        />
      ) : null}
      <Pager list={list} />
    </Section>
  );
}
