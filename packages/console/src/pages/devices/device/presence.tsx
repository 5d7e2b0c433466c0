import { orgPath } from '../../../api/client.js';
import { ErrorMessage } from '../../../components/alert.js';
import { Badge, type Tone } from '../../../components/badge.js';
import { Empty, Loading } from '../../../components/page.js';
import { Pager } from '../../../components/table.js';
import { usePaged } from '../../../components/use-api.js';
import { formatDateTime, formatRelative } from '../../../i18n/index.js';
import { t } from './messages.js';
import type { DeviceEvent, PartProps } from './types.js';

/** The gateway's presence events (docs/protocol.md): names a product's own events cannot take. */
export const CONNECTED = 'presence.connected';
export const DISCONNECTED = 'presence.disconnected';

function describe(event: DeviceEvent): { text: string; tone: Tone } {
  if (event.name === CONNECTED) return { text: t.connected, tone: 'good' };
  if (event.name === DISCONNECTED) return { text: t.disconnected, tone: 'neutral' };
  const tone: Tone = event.severity === 'critical' ? 'bad' : event.severity === 'warning' ? 'warn' : 'info';
  return { text: event.name, tone };
}

/** When the device came and went, among its own events, newest first. */
export function PresencePart(props: PartProps) {
  const events = usePaged<DeviceEvent>(orgPath(props.org, 'devices', props.device.id, 'events'), {}, 50);
  return (
    <div>
      <h2>{t.presence}</h2>
      <p>
        {props.device.online
          ? t.onlineNow(props.device.connectedNode ?? '–')
          : t.offlineSince(formatRelative(props.device.lastSeenAt))}
      </p>
      <ErrorMessage error={events.error} retry={events.reload} />
      {events.loading && !events.data ? <Loading /> : null}
      {events.data && events.data.items.length === 0 ? (
        <Empty title={t.noEvents}>
          <p>{t.noEventsNext}</p>
        </Empty>
      ) : null}
      {events.data && events.data.items.length > 0 ? (
        <ol class="timeline" aria-label={t.timeline}>
          {events.data.items.map((event) => {
            const { text, tone } = describe(event);
            const data =
              event.name === CONNECTED || event.name === DISCONNECTED || event.data === null
                ? null
                : JSON.stringify(event.data);
            return (
              <li key={event.id}>
                <time dateTime={event.time}>{formatDateTime(event.time)}</time>{' '}
                <Badge tone={tone}>{text}</Badge>
                {data ? <code class="json-cell">{data}</code> : null}
              </li>
            );
          })}
        </ol>
      ) : null}
      <Pager list={events} />
    </div>
  );
}
