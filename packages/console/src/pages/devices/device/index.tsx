import { useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, orgPath } from '../../../api/client.js';
import { ErrorMessage } from '../../../components/alert.js';
import { Badge } from '../../../components/badge.js';
import { Loading, PageTitle } from '../../../components/page.js';
import { useLoad } from '../../../components/use-api.js';
import { formatDateTime, formatRelative } from '../../../i18n/index.js';
import { useOrg, useSession } from '../../../session.js';
import { CommandsPart } from './commands.js';
import { CredentialsPart } from './credentials.js';
import './device.css';
import { t } from './messages.js';
import { PresencePart } from './presence.js';
import { StatePart } from './state.js';
import { Tabs } from './tabs.js';
import { TelemetryPart } from './telemetry.js';
import type { Device, PartProps, Product } from './types.js';
import { UpdatesPart } from './updates.js';
import { VulnerabilitiesPart } from './vulnerabilities.js';

const PARTS = [
  'state',
  'telemetry',
  'commands',
  'presence',
  'updates',
  'vulnerabilities',
  'credentials',
] as const;
type Part = (typeof PARTS)[number];

/** One device (issue 17): who it is, whether it is online, and everything done with it. */
export default function DevicePage() {
  const org = useOrg();
  const { can } = useSession();
  const { params, query } = useRoute();
  const location = useLocation();
  const id = params.id ?? '';
  const loaded = useLoad<{ device: Device; product: Product | null }>(
    async (signal) => {
      const device = await api.get<Device>(orgPath(org.slug, 'devices', id), undefined, signal);
      // The product names the device and brings its capability model (fields, commands).
      const product = await api
        .get<Product>(orgPath(org.slug, 'products', device.productId), undefined, signal)
        .catch(() => null);
      return { device, product };
    },
    [org.slug, id],
  );
  const initial = PARTS.includes(query.tab as Part) ? (query.tab as Part) : 'state';
  const [part, setPart] = useState<Part>(initial);
  const select = (next: string) => {
    setPart(next as Part);
    // The open part is in the address, so a reload or a shared link opens it again.
    location.route(`/devices/${encodeURIComponent(id)}?tab=${next}`, true);
  };

  if (!loaded.data) {
    return (
      <>
        <PageTitle title={t.title} />
        <ErrorMessage error={loaded.error} retry={loaded.reload} />
        {loaded.loading ? <Loading /> : null}
        <p>
          <a href="/devices">{t.backToList}</a>
        </p>
      </>
    );
  }
  const { device, product } = loaded.data;
  const props: PartProps = { org: org.slug, device, product, canWrite: can('fleet:write') };
  return (
    <>
      <PageTitle title={t.heading(device.serial)} />
      <p>
        <a href="/devices">{t.backToList}</a>
      </p>
      <DeviceHeader device={device} product={product} refresh={loaded.reload} />
      <Tabs
        label={t.partsLabel}
        tabs={PARTS.map((p) => ({ id: p, label: t[p] }))}
        selected={part}
        onSelect={select}
      >
        {part === 'state' ? <StatePart {...props} /> : null}
        {part === 'telemetry' ? <TelemetryPart {...props} /> : null}
        {part === 'commands' ? <CommandsPart {...props} /> : null}
        {part === 'presence' ? <PresencePart {...props} /> : null}
        {part === 'updates' ? <UpdatesPart {...props} /> : null}
        {part === 'vulnerabilities' ? <VulnerabilitiesPart {...props} /> : null}
        {part === 'credentials' ? <CredentialsPart {...props} /> : null}
      </Tabs>
    </>
  );
}

function DeviceHeader(props: { device: Device; product: Product | null; refresh: () => void }) {
  const { device, product } = props;
  return (
    <div class="device-header">
      <dl class="facts">
        <dt>{t.serial}</dt>
        <dd>
          <code>{device.serial}</code>
        </dd>
        <dt>{t.product}</dt>
        <dd>{product ? `${product.name} (${product.modelNumber})` : device.productId}</dd>
        <dt>{t.status}</dt>
        <dd>
          <Badge tone={device.status === 'active' ? 'good' : 'warn'}>{t.deviceStatus(device.status)}</Badge>
        </dd>
        <dt>{t.connection}</dt>
        <dd class="device-connection">
          {device.online ? <Badge tone="good">{t.online}</Badge> : <Badge tone="neutral">{t.offline}</Badge>}
        </dd>
        <dt>{t.lastSeen}</dt>
        <dd>
          {device.lastSeenAt ? (
            <time dateTime={device.lastSeenAt} title={formatDateTime(device.lastSeenAt)}>
              {formatRelative(device.lastSeenAt)}
            </time>
          ) : (
            t.never
          )}
        </dd>
        <dt>{t.firmware}</dt>
        <dd>{device.firmwareVersion ?? '–'}</dd>
        <dt>{t.deviceId}</dt>
        <dd>
          <code>{device.id}</code>
        </dd>
      </dl>
      <button type="button" class="button-secondary" onClick={props.refresh}>
        {t.refresh}
      </button>
    </div>
  );
}
