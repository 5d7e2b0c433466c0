import { useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { usePaged } from '../../components/use-api.js';
import { formatDateTime } from '../../i18n/index.js';
import { useOrg, useSession } from '../../session.js';
import { fieldErrors } from '../rollouts/field-errors.js';
import { t } from './messages.js';

export interface Brand {
  id: string;
  name: string;
  responsibleParty: string;
  securityContact: string;
  createdAt: string;
  updatedAt: string;
}

/** Brands with their responsible party and security contact; operators create and edit them. */
export default function Brands() {
  const org = useOrg();
  const { can } = useSession();
  const list = usePaged<Brand>(orgPath(org.slug, 'brands'));
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Brand | null>(null);
  const writable = can('fleet:write');

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
            <p>{writable ? t.emptyCanCreate : t.emptyAsk}</p>
          </Empty>
        ) : null}
        {list.data && list.data.items.length > 0 ? (
          <Table
            caption={t.listTitle}
            captionHidden
            rows={list.data.items}
            rowKey={(b) => b.id}
            columns={[
              { label: t.name, cell: (b) => b.name },
              { label: t.responsibleParty, cell: (b) => b.responsibleParty },
              { label: t.securityContact, cell: (b) => <code>{b.securityContact}</code> },
              { label: t.updated, cell: (b) => formatDateTime(b.updatedAt) },
              {
                label: t.metrics,
                cell: (b) => (
                  <a href={`/brands/${encodeURIComponent(b.id)}/metrics`} aria-label={t.metricsOf(b.name)}>
                    {t.metrics}
                  </a>
                ),
              },
              ...(writable
                ? [
                    {
                      label: t.actions,
                      cell: (b: Brand) => (
                        <button
                          type="button"
                          class="button-secondary"
                          aria-label={t.editLabel(b.name)}
                          onClick={() => {
                            setEditing(b);
                            requestAnimationFrame(() => document.getElementById('brand-name')?.focus());
                          }}
                        >
                          {t.edit}
                        </button>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        ) : null}
        <Pager list={list} />
      </Section>
      {writable ? (
        <BrandForm
          key={editing?.id ?? 'new'}
          org={org.slug}
          brand={editing}
          onCancel={() => setEditing(null)}
          onSaved={(brand, created) => {
            setNotice(created ? t.created(brand.name) : t.saved(brand.name));
            setEditing(null);
            list.reload();
          }}
        />
      ) : null}
    </>
  );
}

const FIELDS = ['name', 'responsibleParty', 'securityContact'] as const;

function BrandForm(props: {
  org: string;
  brand: Brand | null;
  onSaved: (brand: Brand, created: boolean) => void;
  onCancel: () => void;
}) {
  const { brand } = props;
  const [form, setForm] = useState({
    name: brand?.name ?? '',
    responsibleParty: brand?.responsibleParty ?? '',
    securityContact: brand?.securityContact ?? '',
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errors = fieldErrors(error, FIELDS);
  const set = (key: keyof typeof form) => (e: Event) => setForm({ ...form, [key]: inputValue(e) });

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = brand
        ? await api.patch<Brand>(orgPath(props.org, 'brands', brand.id), form)
        : await api.post<Brand>(orgPath(props.org, 'brands'), form);
      if (!brand) setForm({ name: '', responsibleParty: '', securityContact: '' });
      props.onSaved(saved, !brand);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={brand ? t.editTitle(brand.name) : t.createTitle}>
      <form onSubmit={(e) => void submit(e)} class="form-grid" noValidate>
        <ErrorMessage error={error} />
        <Field id="brand-name" label={t.name} error={errors.name} required>
          <input
            id="brand-name"
            required
            maxLength={200}
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={describedBy('brand-name', null, errors.name)}
            value={form.name}
            onInput={set('name')}
          />
        </Field>
        <Field
          id="brand-party"
          label={t.responsibleParty}
          hint={t.responsibleHint}
          error={errors.responsibleParty}
          required
        >
          <input
            id="brand-party"
            required
            aria-invalid={errors.responsibleParty ? true : undefined}
            aria-describedby={describedBy('brand-party', t.responsibleHint, errors.responsibleParty)}
            value={form.responsibleParty}
            onInput={set('responsibleParty')}
          />
        </Field>
        <Field
          id="brand-contact"
          label={t.securityContact}
          hint={t.contactHint}
          error={errors.securityContact}
          required
        >
          <input
            id="brand-contact"
            required
            placeholder="mailto:security@example.com"
            aria-invalid={errors.securityContact ? true : undefined}
            aria-describedby={describedBy('brand-contact', t.contactHint, errors.securityContact)}
            value={form.securityContact}
            onInput={set('securityContact')}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" class="button-primary" disabled={busy}>
            {brand ? t.save : t.create}
          </button>
          {brand ? (
            <button type="button" class="button-secondary" onClick={props.onCancel}>
              {t.cancelEdit}
            </button>
          ) : null}
        </div>
      </form>
    </Section>
  );
}
