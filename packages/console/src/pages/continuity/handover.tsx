import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { Empty, Loading, Section } from '../../components/page.js';
import type { Loaded } from '../../components/use-api.js';
import { formatDateTime, formatNumber } from '../../i18n/index.js';
import { t } from './messages.js';
import type { HandoverStatus, PublishedRecord } from './types.js';

/** What a device does with a record: move to the record's server, or go local for good. */
export function WhatDevicesDo({ record }: { record: PublishedRecord }) {
  return (
    <p class="will-do">
      <strong>{t.devicesWillDo}:</strong>{' '}
      {record.mode === 'local' ? t.localWillDo : t.cloudWillDo(record.record.signed?.mqtt ?? '?')}
    </p>
  );
}

/** The organisation's handover: the current record, what devices do with it and how far they are. */
export function Handover(props: {
  status: Loaded<HandoverStatus>;
  records: Loaded<{ items: PublishedRecord[] }>;
  productName: (id: string) => string;
}) {
  const { data, error, loading, reload } = props.status;
  const current = data?.current ?? null;
  const applies = (r: PublishedRecord) =>
    r.products ? r.products.map(props.productName).join(', ') : t.allProducts;
  return (
    <>
      <Section title={t.handoverTitle} id="handover">
        <ErrorMessage error={error} retry={reload} />
        {loading && !data ? <Loading /> : null}
        {data && !current ? (
          <Empty title={t.handoverNone}>
            <p>{t.handoverNoneHint}</p>
            <pre class="command">
              <code>
                brickless --data-dir successor handover create --mqtt-url mqtts://new.example:8883 …
              </code>
            </pre>
          </Empty>
        ) : null}
        {data && current ? (
          <>
            <dl class="facts">
              <dt>{t.currentRecord}</dt>
              <dd>
                {t.recordVersion(current.version)} · {current.mode === 'local' ? t.modeLocal : t.modeCloud}
              </dd>
              <dt>{t.appliesTo}</dt>
              <dd>{applies(current)}</dd>
              <dt>{t.published}</dt>
              <dd>
                <time dateTime={current.createdAt}>{formatDateTime(current.createdAt)}</time>
              </dd>
              <dt>{t.publishedBy}</dt>
              <dd>
                <code>{current.createdBy}</code>
              </dd>
            </dl>
            <WhatDevicesDo record={current} />
            <div class="cards">
              <Count label={t.devicesTotal} value={data.devices.total} />
              <Count label={t.arrived} value={data.devices.arrived} />
              <Count label={t.movedAway} value={data.devices.movedAway} />
              <Count label={t.local} value={data.devices.local} />
              <Count label={t.refusedDevices} value={data.devices.refused} />
              <Count label={t.pending} value={data.devices.pending} />
              <div class="card">
                <h3>{t.share}</h3>
                <p class="drill-figure">{formatNumber(Math.round(data.share * 1000) / 10)} %</p>
              </div>
            </div>
          </>
        ) : null}
      </Section>
      {props.records.data && props.records.data.items.length > 0 ? (
        <Section title={t.recordsTitle} id="records">
          <ol class="timeline" aria-label={t.recordsLabel}>
            {props.records.data.items.map((r) => (
              <li key={r.version} class="timeline-item">
                <p class="timeline-head">
                  <time dateTime={r.createdAt}>{formatDateTime(r.createdAt)}</time>{' '}
                  <Badge tone={r.mode === 'local' ? 'warn' : 'info'}>
                    {t.recordVersion(r.version)} · {r.mode === 'local' ? t.modeLocal : t.modeCloud}
                  </Badge>
                </p>
                <dl class="facts">
                  <dt>{t.appliesTo}</dt>
                  <dd>{applies(r)}</dd>
                  {r.record.signed?.mqtt ? (
                    <>
                      <dt>{t.server}</dt>
                      <dd>
                        <code>{r.record.signed.mqtt}</code>
                      </dd>
                    </>
                  ) : null}
                  <dt>{t.publishedBy}</dt>
                  <dd>
                    <code>{r.createdBy}</code>
                  </dd>
                </dl>
                <WhatDevicesDo record={r} />
              </li>
            ))}
          </ol>
        </Section>
      ) : null}
      <ErrorMessage error={props.records.error} retry={props.records.reload} />
    </>
  );
}

function Count(props: { label: string; value: number }) {
  return (
    <div class="card">
      <h3>{props.label}</h3>
      <p class="drill-figure">{formatNumber(props.value)}</p>
    </div>
  );
}
