import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { orgPath, type Query, withQuery } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { useGet, usePaged } from '../../components/use-api.js';
import { common } from '../../i18n/common.js';
import { formatDateTime, formatRelative } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import './list.css';
import { t } from './list-messages.js';
import { ProvisionHint } from './provision-hint.js';

export interface DeviceRow {
  id: string;
  productId: string;
  serial: string;
  firmwareVersion: string | null;
  tags: string[];
  online: boolean;
  lastSeenAt: string | null;
}

interface ProductName {
  id: string;
  name: string;
  modelNumber: string;
}

/** The filters of the list, as they stand in the address: a filtered list is a link. */
interface Filters {
  q: string;
  productId: string;
  tag: string;
  firmwareVersion: string;
  online: '' | 'true' | 'false';
  exposed: '' | 'true' | 'false';
}

const boolean = (value: string | undefined): '' | 'true' | 'false' =>
  value === 'true' || value === 'false' ? value : '';

function filtersOf(query: Record<string, string>): Filters {
  return {
    q: query.q ?? '',
    productId: query.productId ?? '',
    tag: query.tag ?? '',
    firmwareVersion: query.firmwareVersion ?? '',
    online: boolean(query.online),
    exposed: boolean(query.exposed),
  };
}

/** The filters the API takes: empty ones left out, text trimmed. */
function apiQuery(filters: Filters): Query {
  const query: Query = {};
  for (const [key, value] of Object.entries(filters)) {
    const trimmed = value.trim();
    if (trimmed) query[key] = trimmed;
  }
  return query;
}

/** Devices, searched and filtered on the server and paged there: as fast at 100,000 as at 10. */
export default function DeviceList() {
  const org = useOrg();
  const { can } = useSession();
  const location = useLocation();
  const applied = filtersOf(location.query);
  const query = apiQuery(applied);
  const filtered = Object.keys(query).length > 0;
  const [form, setForm] = useState<Filters>(applied);
  // Back, forward and links change the address: the form shows what the list shows.
  useEffect(() => setForm(filtersOf(location.query)), [location.url]);
  const list = usePaged<DeviceRow>(orgPath(org.slug, 'devices'), query);
  const products = useGet<{ items: ProductName[] }>(orgPath(org.slug, 'products'), { limit: 500 });
  const productName = new Map((products.data?.items ?? []).map((p) => [p.id, p.name]));

  const set = (key: keyof Filters) => (event: Event) => setForm({ ...form, [key]: inputValue(event) });
  const submit = (event: Event) => {
    event.preventDefault();
    location.route(withQuery('/devices', apiQuery(form)));
  };

  return (
    <>
      <PageTitle title={t.title}>
        {can('fleet:write') ? (
          <a class="button button-primary" href="/devices/provision">
            {t.provision}
          </a>
        ) : null}
      </PageTitle>
      <p>{t.intro}</p>
      <Section title={t.filtersTitle}>
        <form class="filters device-filters" onSubmit={submit}>
          <Field id="device-q" label={t.serial} hint={t.serialHint}>
            <input
              id="device-q"
              type="search"
              value={form.q}
              maxLength={128}
              autoComplete="off"
              aria-describedby={describedBy('device-q', t.serialHint)}
              onInput={set('q')}
            />
          </Field>
          <Field id="device-product" label={t.product}>
            <select id="device-product" value={form.productId} onChange={set('productId')}>
              <option value="">{t.anyProduct}</option>
              {(products.data?.items ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} ({p.modelNumber})
                </option>
              ))}
            </select>
          </Field>
          <Field id="device-tag" label={t.tag}>
            <input id="device-tag" value={form.tag} maxLength={64} onInput={set('tag')} />
          </Field>
          <Field id="device-firmware" label={t.firmware}>
            <input
              id="device-firmware"
              value={form.firmwareVersion}
              maxLength={64}
              onInput={set('firmwareVersion')}
            />
          </Field>
          <Field id="device-online" label={t.connection}>
            <select id="device-online" value={form.online} onChange={set('online')}>
              <option value="">{t.any}</option>
              <option value="true">{common.online}</option>
              <option value="false">{common.offline}</option>
            </select>
          </Field>
          <Field id="device-exposed" label={t.exposure}>
            <select id="device-exposed" value={form.exposed} onChange={set('exposed')}>
              <option value="">{t.any}</option>
              <option value="true">{t.exposed}</option>
              <option value="false">{t.notExposed}</option>
            </select>
          </Field>
          <div class="form-actions">
            <button type="submit" class="button-primary">
              {t.apply}
            </button>
            {filtered ? <a href="/devices">{t.reset}</a> : null}
          </div>
        </form>
      </Section>
      <Section title={t.listTitle} id="device-list">
        <ErrorMessage error={list.error} retry={list.reload} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && list.data.items.length === 0 && list.page === 1 ? (
          filtered ? (
            <Empty title={t.noMatchTitle}>
              <p>
                {t.noMatchText} <a href="/devices">{t.reset}</a>
              </p>
            </Empty>
          ) : (
            <Empty title={t.emptyTitle}>
              <ProvisionHint />
            </Empty>
          )
        ) : null}
        {list.data && list.data.items.length > 0 ? (
          <Table
            caption={t.listTitle}
            captionHidden
            rows={list.data.items}
            rowKey={(d) => d.id}
            columns={[
              {
                label: t.serial,
                cell: (d) => (
                  <a href={`/devices/${encodeURIComponent(d.id)}`}>
                    <code>{d.serial}</code>
                  </a>
                ),
              },
              { label: t.product, cell: (d) => productName.get(d.productId) ?? d.productId },
              { label: t.firmware, cell: (d) => d.firmwareVersion ?? t.unknownFirmware },
              {
                label: t.connection,
                cell: (d) => (
                  <Badge tone={d.online ? 'good' : 'neutral'}>
                    {d.online ? common.online : common.offline}
                  </Badge>
                ),
              },
              {
                label: t.lastSeen,
                cell: (d) =>
                  d.lastSeenAt ? (
                    <time dateTime={d.lastSeenAt} title={formatDateTime(d.lastSeenAt)}>
                      {formatRelative(d.lastSeenAt)}
                    </time>
                  ) : (
                    t.never
                  ),
              },
              {
                label: t.tags,
                cell: (d) =>
                  d.tags.length === 0 ? (
                    t.noTags
                  ) : (
                    <span class="device-tags">
                      {d.tags.map((tag) => (
                        <Badge key={tag} tone="info">
                          {tag}
                        </Badge>
                      ))}
                    </span>
                  ),
              },
            ]}
          />
        ) : null}
        <Pager list={list} />
      </Section>
    </>
  );
}
