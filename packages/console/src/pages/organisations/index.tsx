import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api } from '../../api/client.js';
import type { Organization } from '../../api/types.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { Badge } from '../../components/badge.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { Pager, Table } from '../../components/table.js';
import { usePaged } from '../../components/use-api.js';
import { common } from '../../i18n/common.js';
import { formatDate } from '../../i18n/index.js';
import { useSession } from '../../session.js';
import { t } from './messages.js';

/** The platform administrator's organisations: list, create, and switch to one to work in it. */
export default function Organisations() {
  const session = useSession();
  const list = usePaged<Organization & { createdAt: string }>('/v1/orgs');
  const { query, route } = useLocation();
  const justCreated = list.data?.items.find((o) => o.slug === query.created);
  const [notice, setNotice] = useState<string | null>(null);

  if (!session.me.person.platformAdmin) {
    return (
      <>
        <PageTitle title={t.title} />
        <p class="alert">{t.forbidden}</p>
      </>
    );
  }
  return (
    <>
      <PageTitle title={t.title} />
      <p>{t.intro}</p>
      <Notice text={notice ?? (justCreated ? t.createdNotice(justCreated.name) : null)} />
      <Section title={t.listTitle}>
        <ErrorMessage error={list.error} retry={list.reload} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && list.data.items.length === 0 ? (
          <Empty title={t.emptyTitle}>
            <p>{t.emptyText}</p>
          </Empty>
        ) : null}
        {list.data && list.data.items.length > 0 ? (
          <Table
            caption={t.listTitle}
            captionHidden
            rows={list.data.items}
            rowKey={(o) => o.id}
            columns={[
              { label: t.name, cell: (o) => o.name },
              { label: t.slug, cell: (o) => <code>{o.slug}</code> },
              { label: t.created, cell: (o) => formatDate(o.createdAt) },
              {
                label: common.actions,
                cell: (o) =>
                  session.org?.slug === o.slug ? (
                    <Badge tone="info">{t.current}</Badge>
                  ) : (
                    <button type="button" class="button-secondary" onClick={() => session.chooseOrg(o.slug)}>
                      {t.workHere(o.name)}
                    </button>
                  ),
              },
            ]}
          />
        ) : null}
        <Pager list={list} />
      </Section>
      <CreateOrganisation
        onCreated={async (org) => {
          session.chooseOrg(org.slug);
          if (session.org === null) {
            // The first organisation: the shell changes around this page, which then lives at its own address.
            route(`/organisations?created=${encodeURIComponent(org.slug)}`);
            await session.refresh();
            return;
          }
          await session.refresh();
          setNotice(t.createdNotice(org.name));
          list.reload();
        }}
      />
    </>
  );
}

function CreateOrganisation(props: { onCreated: (org: Organization) => Promise<void> }) {
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const org = await api.post<Organization>('/v1/orgs', { slug: slug.trim(), name: name.trim() });
      setSlug('');
      setName('');
      await props.onCreated(org);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={t.createTitle}>
      <form class="form-grid" onSubmit={(e) => void submit(e)}>
        <ErrorMessage error={error} />
        <Field id="org-name" label={t.name} required>
          <input id="org-name" required value={name} onInput={(e) => setName(inputValue(e))} />
        </Field>
        <Field id="org-slug" label={t.slug} hint={t.slugHint} required>
          <input
            id="org-slug"
            required
            pattern="[a-z0-9][a-z0-9-]*"
            aria-describedby={describedBy('org-slug', t.slugHint)}
            value={slug}
            onInput={(e) => setSlug(inputValue(e))}
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
