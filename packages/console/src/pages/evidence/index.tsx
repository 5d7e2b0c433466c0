import { useState } from 'preact/hooks';
import { orgPath, type Page, withQuery } from '../../api/client.js';
import { ErrorMessage, Notice } from '../../components/alert.js';
import { Badge, type Tone } from '../../components/badge.js';
import { Field, inputValue } from '../../components/form.js';
import { Loading, PageTitle, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { useOrg, useSession } from '../../session.js';
import { t } from './messages.js';
import './evidence.css';

type Carrier = 'brickless' | 'shared' | 'maker';

interface Provision {
  id: string;
  title: string;
  carrier: Carrier;
  evidence: string | null;
  makerProvides: string;
}

interface Provisions {
  productId: string;
  standard: string;
  provisions: Provision[];
  craAnnexI: Provision[];
}

const carrierTone: Record<Carrier, Tone> = { brickless: 'good', shared: 'info', maker: 'warn' };
const carriers: Carrier[] = ['brickless', 'shared', 'maker'];
const carrierWord = (c: Carrier): string =>
  c === 'brickless' ? t.carrierBrickless : c === 'shared' ? t.carrierShared : t.carrierMaker;

/**
 * A product's evidence under the CRA (issue 21 §2): the ETSI EN 303 645 and CRA Annex I tables
 * from the provisions route, and the signed evidence pack of the product or of one release.
 */
export default function ProductEvidence(props: { id?: string; params?: { id?: string } }) {
  const id = props.params?.id ?? props.id ?? '';
  const org = useOrg();
  const { can } = useSession();
  const allowed = can('audit:read');
  const product = useGet<{ id: string; name: string; modelNumber: string }>(
    orgPath(org.slug, 'products', id),
  );
  const table = useGet<Provisions>(
    allowed ? orgPath(org.slug, 'products', id, 'evidence', 'provisions') : null,
  );
  const [carrier, setCarrier] = useState<Carrier | ''>('');
  const name = product.data ? `${product.data.name} (${product.data.modelNumber})` : null;

  return (
    <>
      <p>
        <a href="/products">← {t.back}</a>
      </p>
      <PageTitle title={name ? t.pageTitle(name) : t.title} />
      <p>{t.intro}</p>
      <ErrorMessage error={product.error} retry={product.reload} />
      {!allowed ? <Notice text={t.noPermission} /> : null}
      {allowed ? <Download org={org.slug} productId={id} /> : null}
      {allowed ? (
        <>
          <ErrorMessage error={table.error} retry={table.reload} />
          {table.loading && !table.data ? <Loading /> : null}
          {table.data ? (
            <>
              <div class="evidence-filter">
                <Field id="evidence-carrier" label={t.filterLabel} hint={t.carrierHint}>
                  <select
                    id="evidence-carrier"
                    value={carrier}
                    onChange={(e) => setCarrier(inputValue(e) as Carrier | '')}
                  >
                    <option value="">{t.all}</option>
                    {carriers.map((c) => (
                      <option key={c} value={c}>
                        {carrierWord(c)}
                      </option>
                    ))}
                  </select>
                </Field>
              </div>
              <ProvisionTable title={t.etsiTitle} rows={table.data.provisions} carrier={carrier} />
              <ProvisionTable title={t.annexTitle} rows={table.data.craAnnexI} carrier={carrier} />
            </>
          ) : null}
        </>
      ) : null}
    </>
  );
}

function ProvisionTable(props: { title: string; rows: Provision[]; carrier: Carrier | '' }) {
  const shown = props.carrier ? props.rows.filter((r) => r.carrier === props.carrier) : props.rows;
  return (
    <Section title={props.title}>
      <p class="evidence-count" aria-live="polite">
        {t.shown(shown.length, props.rows.length)}
      </p>
      {shown.length === 0 ? (
        <p>{t.nothingShown}</p>
      ) : (
        <Table
          caption={props.title}
          captionHidden
          rows={shown}
          rowKey={(r) => r.id}
          columns={[
            { label: t.id, cell: (r) => <code>{r.id}</code> },
            { label: t.provision, cell: (r) => r.title },
            {
              label: t.carriedBy,
              cell: (r) => <Badge tone={carrierTone[r.carrier]}>{carrierWord(r.carrier)}</Badge>,
            },
            { label: t.evidence, cell: (r) => (r.evidence ? <code>{r.evidence}</code> : t.none) },
            { label: t.makerProvides, cell: (r) => r.makerProvides || t.none },
          ]}
        />
      )}
    </Section>
  );
}

/** Plain links: the browser downloads the ZIP with the session cookie, as scripts do with a token. */
function Download(props: { org: string; productId: string }) {
  const releases = useGet<Page<{ id: string; version: string }>>(orgPath(props.org, 'releases'), {
    productId: props.productId,
    limit: 100,
  });
  // The key that signs the packs: what a verifier pins (GET …/evidence/key, made on first use).
  const key = useGet<{ publicKey: string }>(orgPath(props.org, 'evidence', 'key'));
  const [releaseId, setReleaseId] = useState('');
  const packPath = orgPath(props.org, 'products', props.productId, 'evidence');
  const items = releases.data?.items ?? [];
  return (
    <Section title={t.downloadTitle}>
      <p>{t.downloadIntro}</p>
      {key.data ? (
        <p>
          {t.signedBy} <code id="evidence-key">{key.data.publicKey}</code>
        </p>
      ) : null}
      <p>
        <a class="button button-primary" href={packPath} download>
          {t.downloadProduct}
        </a>
      </p>
      <ErrorMessage error={releases.error} retry={releases.reload} />
      {releases.data && items.length === 0 ? <p>{t.noReleases}</p> : null}
      {items.length > 0 ? (
        <div class="evidence-release">
          <Field id="evidence-release" label={t.releaseLabel} hint={t.releaseHint}>
            <select id="evidence-release" value={releaseId} onChange={(e) => setReleaseId(inputValue(e))}>
              <option value="">{t.chooseRelease}</option>
              {items.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.version}
                </option>
              ))}
            </select>
          </Field>
          {releaseId ? (
            <p>
              <a class="button" href={withQuery(packPath, { releaseId })} download>
                {t.downloadRelease}
              </a>
            </p>
          ) : null}
        </div>
      ) : null}
    </Section>
  );
}
