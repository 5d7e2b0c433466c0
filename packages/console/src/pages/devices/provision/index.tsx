import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, orgPath } from '../../../api/client.js';
import { ErrorMessage } from '../../../components/alert.js';
import { describedBy, Field, inputValue } from '../../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../../components/page.js';
import { Table } from '../../../components/table.js';
import { useGet } from '../../../components/use-api.js';
import { useOrg, useSession } from '../../../session.js';
import { t } from './messages.js';

/** At most this many devices per batch from the console; the CLI handles factory-sized runs. */
export const MAX_COUNT = 100;

interface Product {
  id: string;
  name: string;
  modelNumber: string;
}

interface Provisioned {
  deviceId: string;
  serial: string;
  secret?: string;
  factorySecret?: string;
  certificate?: string;
  privateKey?: string;
}

type CredentialKind = 'secret' | 'factory' | 'certificate';

/** The serials: a prefix and a running number, padded as the CLI pads them. */
export function serialsFor(prefix: string, first: number, count: number): string[] {
  const width = Math.max(6, String(first + count - 1).length);
  return Array.from({ length: count }, (_, i) => `${prefix}${String(first + i).padStart(width, '0')}`);
}

/**
 * Provisioning a small batch in the console (issue 17): devices with one credential each, handed
 * over once as a JSONL download (the format `brickless devices provision` writes).
 */
export default function Provision() {
  const org = useOrg();
  const { can } = useSession();
  const [batch, setBatch] = useState<{ devices: Provisioned[]; productId: string } | null>(null);
  if (!can('fleet:write')) {
    return (
      <>
        <PageTitle title={t.title} />
        <p>{t.notAllowed}</p>
      </>
    );
  }
  return (
    <>
      <PageTitle title={t.title} />
      <p>
        {t.intro} {t.introCli} <code>brickless devices provision</code>
      </p>
      <p>
        <a href="/devices">{t.backToList}</a>
      </p>
      {batch ? (
        <Batch org={org.slug} batch={batch} onAnother={() => setBatch(null)} />
      ) : (
        <ProvisionForm org={org.slug} onDone={setBatch} />
      )}
    </>
  );
}

function ProvisionForm(props: {
  org: string;
  onDone: (batch: { devices: Provisioned[]; productId: string }) => void;
}) {
  const products = useGet<{ items: Product[] }>(orgPath(props.org, 'products'), { limit: 200 });
  const [form, setForm] = useState({
    productId: '',
    prefix: '',
    first: '1',
    count: '10',
    credential: 'secret',
  });
  const [invalid, setInvalid] = useState<Partial<Record<keyof typeof form, string>>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const items = products.data?.items ?? [];
  useEffect(() => {
    if (!form.productId && items[0]) setForm((f) => ({ ...f, productId: items[0]?.id ?? '' }));
  }, [items, form.productId]);
  const set = (key: keyof typeof form) => (e: Event) => setForm({ ...form, [key]: inputValue(e) });

  const check = () => {
    const count = Number(form.count);
    const first = Number(form.first);
    const problems: typeof invalid = {};
    if (!form.productId) problems.productId = t.productRequired;
    if (!/^[\x21-\x7e]{1,100}$/.test(form.prefix)) problems.prefix = t.prefixInvalid;
    if (!Number.isInteger(first) || first < 0 || first > 1_000_000_000) problems.first = t.firstInvalid;
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT)
      problems.count = t.countInvalid(MAX_COUNT);
    return problems;
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const problems = check();
    setInvalid(problems);
    const firstWrong = Object.keys(problems)[0];
    if (firstWrong) {
      document.getElementById(`provision-${firstWrong}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const result = await api.post<{ devices: Provisioned[] }>(orgPath(props.org, 'provisioning'), {
        productId: form.productId,
        serials: serialsFor(form.prefix, Number(form.first), Number(form.count)),
        credential: form.credential as CredentialKind,
      });
      props.onDone({ devices: result.devices, productId: form.productId });
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  if (products.loading && !products.data) return <Loading />;
  if (products.data && items.length === 0) {
    return (
      <Empty title={t.noProducts}>
        <p>
          <a href="/products">{t.createProduct}</a>
        </p>
      </Empty>
    );
  }
  const preview =
    form.prefix && Number.isInteger(Number(form.first)) && Number(form.count) >= 1
      ? serialsFor(form.prefix, Number(form.first), Math.min(Number(form.count), MAX_COUNT))
      : [];
  return (
    <Section title={t.formTitle}>
      <form class="form-grid" onSubmit={(e) => void submit(e)} noValidate>
        <ErrorMessage error={error ?? products.error} />
        <Field id="provision-productId" label={t.product} error={invalid.productId ?? null} required>
          <select id="provision-productId" value={form.productId} onChange={set('productId')}>
            {items.map((p) => (
              <option key={p.id} value={p.id}>
                {`${p.name} (${p.modelNumber})`}
              </option>
            ))}
          </select>
        </Field>
        <Field
          id="provision-prefix"
          label={t.prefix}
          hint={t.prefixHint}
          error={invalid.prefix ?? null}
          required
        >
          <input
            id="provision-prefix"
            required
            maxLength={100}
            autocomplete="off"
            aria-invalid={invalid.prefix ? 'true' : undefined}
            aria-describedby={describedBy('provision-prefix', t.prefixHint, invalid.prefix)}
            value={form.prefix}
            onInput={set('prefix')}
          />
        </Field>
        <Field id="provision-first" label={t.first} error={invalid.first ?? null}>
          <input
            id="provision-first"
            type="number"
            min={0}
            inputMode="numeric"
            aria-invalid={invalid.first ? 'true' : undefined}
            aria-describedby={describedBy('provision-first', null, invalid.first)}
            value={form.first}
            onInput={set('first')}
          />
        </Field>
        <Field
          id="provision-count"
          label={t.count}
          hint={t.countHint(MAX_COUNT)}
          error={invalid.count ?? null}
          required
        >
          <input
            id="provision-count"
            type="number"
            min={1}
            max={MAX_COUNT}
            required
            inputMode="numeric"
            aria-invalid={invalid.count ? 'true' : undefined}
            aria-describedby={describedBy('provision-count', t.countHint(MAX_COUNT), invalid.count)}
            value={form.count}
            onInput={set('count')}
          />
        </Field>
        <Field id="provision-credential" label={t.credential} hint={t.credentialHint}>
          <select
            id="provision-credential"
            value={form.credential}
            aria-describedby={describedBy('provision-credential', t.credentialHint)}
            onChange={set('credential')}
          >
            <option value="secret">{t.kindSecret}</option>
            <option value="factory">{t.kindFactory}</option>
            <option value="certificate">{t.kindCertificate}</option>
          </select>
        </Field>
        {preview.length > 0 ? <p class="hint">{t.preview(preview[0] ?? '', preview.at(-1) ?? '')}</p> : null}
        <div class="form-actions">
          <button type="submit" class="button-primary" disabled={busy}>
            {t.provision}
          </button>
        </div>
      </form>
    </Section>
  );
}

/** The batch, once: the download holds the secrets; the table shows only who was registered. */
function Batch(props: {
  org: string;
  batch: { devices: Provisioned[]; productId: string };
  onAnother: () => void;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  const { devices, productId } = props.batch;
  // One object URL for this batch, released when the page leaves it (the secrets go with it).
  const href = useMemo(() => {
    const jsonl = devices.map((d) => `${JSON.stringify({ ...d, productId })}\n`).join('');
    return URL.createObjectURL(new Blob([jsonl], { type: 'application/x-ndjson' }));
  }, [devices, productId]);
  useEffect(() => () => URL.revokeObjectURL(href), [href]);
  useEffect(() => heading.current?.focus(), []);
  const name = `provisioned-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.jsonl`;
  return (
    <section class="section">
      <h2 tabIndex={-1} ref={heading}>
        {t.doneTitle(devices.length)}
      </h2>
      <div class="alert alert-warn" role="note">
        <p>
          <strong>{t.secretsWarningTitle}</strong> {t.secretsWarning}
        </p>
      </div>
      <p>
        <a class="button button-primary" href={href} download={name}>
          {t.download(devices.length)}
        </a>
      </p>
      <p class="hint">{t.downloadHint}</p>
      <Table
        caption={t.devicesTitle}
        rows={devices}
        rowKey={(d) => d.deviceId}
        columns={[
          { label: t.serial, cell: (d) => <code>{d.serial}</code> },
          {
            label: t.deviceId,
            cell: (d) => <a href={`/devices/${encodeURIComponent(d.deviceId)}`}>{d.deviceId}</a>,
          },
        ]}
      />
      <p>
        <button type="button" class="button-secondary" onClick={props.onAnother}>
          {t.another}
        </button>
      </p>
    </section>
  );
}
