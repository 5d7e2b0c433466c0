import { orgPath } from '../../../api/client.js';
import { ErrorMessage } from '../../../components/alert.js';
import { Badge, severityTone } from '../../../components/badge.js';
import { Empty, Loading } from '../../../components/page.js';
import { Table } from '../../../components/table.js';
import { useGet } from '../../../components/use-api.js';
import { formatNumber } from '../../../i18n/index.js';
import { t } from './messages.js';
import type { DeviceVulnerability, PartProps } from './types.js';

/** The open vulnerabilities of the release the device runs, in brief. */
export function VulnerabilitiesPart(props: PartProps) {
  const loaded = useGet<{ releaseId: string | null; vulnerabilities: DeviceVulnerability[] }>(
    orgPath(props.org, 'devices', props.device.id, 'vulnerabilities'),
  );
  const data = loaded.data;
  return (
    <div>
      <h2>{t.vulnerabilities}</h2>
      <ErrorMessage error={loaded.error} retry={loaded.reload} />
      {loaded.loading && !data ? <Loading /> : null}
      {data && data.releaseId === null ? <p>{t.noRelease}</p> : null}
      {data && data.releaseId !== null && data.vulnerabilities.length === 0 ? (
        <Empty title={t.noVulnerabilities} />
      ) : null}
      {data && data.vulnerabilities.length > 0 ? (
        <Table
          caption={t.vulnerabilities}
          captionHidden
          rows={data.vulnerabilities}
          rowKey={(v) => v.id}
          columns={[
            {
              label: t.vulnerability,
              cell: (v) => <a href={`/vulnerabilities/${encodeURIComponent(v.id)}`}>{v.id}</a>,
            },
            {
              label: t.severity,
              cell: (v) => (
                <>
                  <Badge tone={severityTone(v.severity.rating)}>{v.severity.rating ?? '–'}</Badge>{' '}
                  {v.severity.score === null ? '' : formatNumber(v.severity.score)}
                  {v.knownExploited ? (
                    <>
                      {' '}
                      <Badge tone="bad">{t.exploited}</Badge>
                    </>
                  ) : null}
                </>
              ),
            },
            { label: t.vulnStatus, cell: (v) => v.status },
            {
              label: t.components,
              cell: (v) => v.components.map((c) => `${c.name} ${c.version}`).join(', '),
            },
            { label: t.summary, cell: (v) => v.summary ?? '–' },
          ]}
        />
      ) : null}
    </div>
  );
}
