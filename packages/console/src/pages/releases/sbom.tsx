import { ApiError, orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Loading, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { formatNumber } from '../../i18n/index.js';
import { useOrg } from '../../session.js';
import { t } from './messages.js';
import type { Release } from './types.js';

interface Component {
  type: string;
  name: string;
  version: string | null;
  supplier: string | null;
}

function countBy(items: Component[], key: (c: Component) => string | null): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) {
    const value = key(item);
    if (value) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** The SBOM in numbers (components by type and supplier) and the CycloneDX document to download. */
export function SbomSummary(props: { release: Release }) {
  const org = useOrg();
  const path = orgPath(org.slug, 'releases', props.release.id, 'sbom');
  const components = useGet<{ items: Component[] }>(`${path}/components`);
  const missing = components.error instanceof ApiError && components.error.status === 404;
  const items = components.data?.items ?? [];
  const types = countBy(items, (c) => c.type);
  const suppliers = countBy(items, (c) => c.supplier);

  return (
    <Section title={t.sbomTitle} id="sbom">
      {missing ? <p>{t.sbomNone}</p> : <ErrorMessage error={components.error} retry={components.reload} />}
      {components.loading && !components.data ? <Loading /> : null}
      {components.data ? (
        <>
          <p class="sbom-count">
            <strong>{t.components(formatNumber(items.length))}</strong>
          </p>
          {types.length > 0 ? (
            <Table
              caption={t.byType}
              rows={types}
              rowKey={([type]) => type}
              columns={[
                { label: t.type, cell: ([type]) => type },
                { label: t.count, numeric: true, cell: ([, n]) => formatNumber(n) },
              ]}
            />
          ) : null}
          {suppliers.length > 0 ? (
            <p>
              {t.bySupplier}: {suppliers.map(([name, n]) => `${name} (${formatNumber(n)})`).join(', ')}
            </p>
          ) : null}
          <p class="hint">{t.licencesMissing}</p>
          <p>
            <a href={`${path}/cyclonedx`} download={`${props.release.version}.cdx.json`}>
              {t.downloadCycloneDx}
            </a>
          </p>
        </>
      ) : null}
    </Section>
  );
}
