import { orgPath } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { Badge, severityTone } from '../../components/badge.js';
import { Empty, Loading, Section } from '../../components/page.js';
import { Table } from '../../components/table.js';
import { useGet } from '../../components/use-api.js';
import { useOrg } from '../../session.js';
import { t } from './messages.js';
import type { Release } from './types.js';

interface ReleaseVulnerability {
  id: string;
  status: string;
  severity: { rating: string | null; score: number | null };
  knownExploited: boolean;
  summary: string;
  matches: { component: string; version: string | null }[];
}

/** Vulnerabilities matched in the release's SBOM (the server sorts: exploited, then by score). */
export function ReleaseVulnerabilities(props: { release: Release }) {
  const org = useOrg();
  const loaded = useGet<{ items: ReleaseVulnerability[] }>(
    orgPath(org.slug, 'releases', props.release.id, 'vulnerabilities'),
  );
  const items = loaded.data?.items ?? [];
  return (
    <Section title={t.vulnTitle} id="vulnerabilities">
      <ErrorMessage error={loaded.error} retry={loaded.reload} />
      {loaded.loading && !loaded.data ? <Loading /> : null}
      {loaded.data && items.length === 0 ? <Empty title={t.vulnNone} /> : null}
      {items.length > 0 ? (
        <Table
          caption={t.vulnTitle}
          captionHidden
          rows={items}
          rowKey={(v) => v.id}
          columns={[
            { label: t.vulnId, cell: (v) => <code>{v.id}</code> },
            {
              label: t.severity,
              cell: (v) => (
                <>
                  <Badge tone={severityTone(v.severity.rating)}>
                    {v.severity.rating ?? '–'}
                    {v.severity.score !== null ? ` ${v.severity.score}` : ''}
                  </Badge>{' '}
                  {v.knownExploited ? <Badge tone="bad">{t.exploited}</Badge> : null}
                </>
              ),
            },
            { label: t.triage, cell: (v) => v.status },
            {
              label: t.affected,
              cell: (v) =>
                [...new Set(v.matches.map((m) => `${m.component}${m.version ? ` ${m.version}` : ''}`))].join(
                  ', ',
                ),
            },
            { label: t.summary, cell: (v) => v.summary || '–' },
          ]}
        />
      ) : null}
    </Section>
  );
}
