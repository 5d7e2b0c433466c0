import { useEffect, useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { useGet, usePaged } from '../../components/use-api.js';
import { formatDate } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { t } from './messages.js';

export interface Product {
  id: string;
  modelNumber: string;
  name: string;
  hardwareRevision: string;
  placedOnMarket: string | null;
  supportEnds: string;
  brandIds: string[];
  warnings: { code?: string; message: string }[];
}

/** Products with their support period (CRA Art. 13(8)): the promise each device carries. */
export default function Products() {
  const org = useOrg();
  const { can } = useSession();
  const list = usePaged<Product>(orgPath(org.slug, 'products'));
  const [notice, setNotice] = useState<string | null>(null);

  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <Notice text={notice} />
      <Section title={t.listTitle}>
        <ErrorMessage error={list.error} retry={list.reload} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && list.data.items.length === 0 ? (
          <Empty title={t.emptyTitle}>
            <p>{can('fleet:write') ? t.emptyCanCreate : t.emptyAsk}</p>
          </Empty>
        ) : null}
        {list.data && list.data.items.length > 0 ? (
          <Table
            caption={t.listTitle}
            captionHidden
            rows={list.data.items}
            rowKey={(p) => p.id}
            columns={[
              { label: t.name, cell: (p) => p.name },
              { label: t.model, cell: (p) => <code>{p.modelNumber}</code> },
              { label: t.hardware, cell: (p) => p.hardwareRevision },
              { label: t.placedOnMarket, cell: (p) => formatDate(p.placedOnMarket) },
              {
                label: t.supportEnds,
                cell: (p) => (
                  <>
                    {formatDate(p.supportEnds)}{' '}
                    {new Date(p.supportEnds).getTime() < Date.now() ? (
                      <Badge tone="bad">{t.ended}</Badge>
                    ) : null}
                  </>
                ),
              },
              {
                label: t.warnings,
                cell: (p) =>
                  p.warnings.length === 0 ? '–' : p.warnings.map((w) => <p key={w.message}>{w.message}</p>),
              },
              {
                label: t.evidence,
                cell: (p) => (
                  <a
                    href={`/products/${encodeURIComponent(p.id)}/evidence`}
                    aria-label={t.evidenceOf(p.name)}
                  >
                    {t.evidence}
                  </a>
                ),
              },
              {
                label: t.metrics,
                cell: (p) => (
                  <a href={`/products/${encodeURIComponent(p.id)}/metrics`} aria-label={t.metricsOf(p.name)}>
                    {t.metrics}
                  </a>
                ),
              },
            ]}
          />
        ) : null}
        <Pager list={list} />
      </Section>
      {can('fleet:write') ? (
        <CreateProduct
          org={org.slug}
          onCreated={(product) => {
            setNotice(t.created(product.name));
            list.reload();
          }}
        />
      ) : null}
      <SecurityContact />
    </>
  );
}

function CreateProduct(props: { org: string; onCreated: (product: Product) => void }) {
  const [form, setForm] = useState({
    name: '',
    modelNumber: '',
    hardwareRevision: '',
    placedOnMarket: '',
    supportEnds: '',
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (key: keyof typeof form) => (e: Event) => setForm({ ...form, [key]: inputValue(e) });

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const product = await api.post<Product>(orgPath(props.org, 'products'), {
        name: form.name,
        modelNumber: form.modelNumber,
        hardwareRevision: form.hardwareRevision,
        supportEnds: form.supportEnds,
        ...(form.placedOnMarket ? { placedOnMarket: form.placedOnMarket } : {}),
      });
      setForm({ name: '', modelNumber: '', hardwareRevision: '', placedOnMarket: '', supportEnds: '' });
      props.onCreated(product);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={t.createTitle}>
      <form onSubmit={(e) => void submit(e)} class="form-grid">
        <ErrorMessage error={error} />
        <Field id="product-name" label={t.name} required>
          <input id="product-name" required value={form.name} onInput={set('name')} />
        </Field>
        <Field id="product-model" label={t.model} required>
          <input id="product-model" required value={form.modelNumber} onInput={set('modelNumber')} />
        </Field>
        <Field id="product-hardware" label={t.hardware} required>
          <input
            id="product-hardware"
            required
            value={form.hardwareRevision}
            onInput={set('hardwareRevision')}
          />
        </Field>
        <Field id="product-placed" label={t.placedOnMarket}>
          <input
            id="product-placed"
            type="date"
            value={form.placedOnMarket}
            onInput={set('placedOnMarket')}
          />
        </Field>
        <Field id="product-support" label={t.supportEnds} hint={t.supportHint} required>
          <input
            id="product-support"
            type="date"
            required
            aria-describedby={describedBy('product-support', t.supportHint)}
            value={form.supportEnds}
            onInput={set('supportEnds')}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-primary" disabled={busy}>
            {t.create}
          </button>
        </div>
      </form>
    </Section>
  );
}

interface Organization {
  securityContact: string | null;
  securityPolicy: string | null;
}

/** The organisation's security contact (CRA Annex II (2), ETSI EN 303 645 5.2-1). */
function SecurityContact() {
  const org = useOrg();
  const { can } = useSession();
  const loaded = useGet<Organization>(orgPath(org.slug));
  const [contact, setContact] = useState('');
  const [policy, setPolicy] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    if (!loaded.data) return;
    setContact(loaded.data.securityContact ?? '');
    setPolicy(loaded.data.securityPolicy ?? '');
  }, [loaded.data]);

  const save = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      await api.put(orgPath(org.slug, 'security-contact'), {
        securityContact: contact || null,
        securityPolicy: policy || null,
      });
      setNotice(t.contactSaved);
    } catch (caught) {
      setError(caught);
    }
  };

  const editable = can('security:write') || can('fleet:write');
  return (
    <Section title={t.contactTitle}>
      <p>{t.contactIntro}</p>
      <ErrorMessage error={error ?? loaded.error} />
      <Notice text={notice} />
      <form onSubmit={(e) => void save(e)} class="form-grid">
        <Field id="security-contact" label={t.contact} hint={t.contactHint}>
          <input
            id="security-contact"
            readOnly={!editable}
            aria-describedby={describedBy('security-contact', t.contactHint)}
            value={contact}
            onInput={(e) => setContact(inputValue(e))}
          />
        </Field>
        <Field id="security-policy" label={t.policy} hint={t.policyHint}>
          <input
            id="security-policy"
            readOnly={!editable}
            aria-describedby={describedBy('security-policy', t.policyHint)}
            value={policy}
            onInput={(e) => setPolicy(inputValue(e))}
          />
        </Field>
        {editable ? (
          <div class="form-actions">
            <button type="submit" class="button-secondary">
              {t.saveContact}
            </button>
          </div>
        ) : null}
      </form>
    </Section>
  );
}
