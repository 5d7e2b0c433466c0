import { cpeKey, parseCpe } from '../identifiers.js';
import { type AffectedEntry, describeIntervals, type VersionInterval } from '../ranges.js';
import { FeedFormatError, isoOrNull, ratingOf, text, type VulnerabilityRecord } from './record.js';

interface CpeMatch {
  vulnerable?: boolean;
  criteria?: string;
  versionStartIncluding?: string;
  versionStartExcluding?: string;
  versionEndIncluding?: string;
  versionEndExcluding?: string;
}

/**
 * NVD CVE API 2.0 record → record. Every `cpeMatch` marked vulnerable becomes an affected entry;
 * platform conditions of AND configurations ("running on" hardware) are not required, because an
 * SBOM lists software, not the board: triage settles those (documented in docs/vulnerabilities.md).
 */
export function parseNvd(cve: Record<string, unknown>): { record: VulnerabilityRecord; skipped: string[] } {
  const id = cve.id;
  if (typeof id !== 'string' || !/^CVE-\d{4}-\d{4,}$/.test(id))
    throw new FeedFormatError('NVD record without a CVE id');
  const modified = isoOrNull(cve.lastModified);
  if (!modified) throw new FeedFormatError(`${id}: "lastModified" is missing or not a time`);
  const skipped: string[] = [];
  const byKey = new Map<string, AffectedEntry>();
  for (const configuration of Array.isArray(cve.configurations) ? cve.configurations : []) {
    for (const node of (configuration as { nodes?: unknown[] })?.nodes ?? []) {
      const n = node as { negate?: boolean; cpeMatch?: CpeMatch[] };
      if (n.negate) continue;
      for (const match of Array.isArray(n.cpeMatch) ? n.cpeMatch : []) {
        if (!match?.vulnerable || typeof match.criteria !== 'string') continue;
        const cpe = parseCpe(match.criteria);
        if (!cpe) {
          skipped.push(`${id}: cannot read CPE ${match.criteria.slice(0, 100)}`);
          continue;
        }
        if (cpe.version === '-') continue;
        const key = cpeKey(cpe);
        const entry = byKey.get(key) ?? {
          key,
          scheme: 'generic' as const,
          distro: null,
          intervals: [],
          versions: [],
          summary: '',
        };
        const hasRange =
          match.versionStartIncluding ??
          match.versionStartExcluding ??
          match.versionEndIncluding ??
          match.versionEndExcluding;
        if (hasRange !== undefined) {
          const interval: VersionInterval = {};
          if (match.versionStartIncluding)
            Object.assign(interval, { start: match.versionStartIncluding, startInclusive: true });
          if (match.versionStartExcluding)
            Object.assign(interval, { start: match.versionStartExcluding, startInclusive: false });
          if (match.versionEndIncluding)
            Object.assign(interval, { end: match.versionEndIncluding, endInclusive: true });
          if (match.versionEndExcluding)
            Object.assign(interval, { end: match.versionEndExcluding, endInclusive: false });
          entry.intervals.push(interval);
        } else if (cpe.version === '*') {
          entry.intervals.push({});
        } else {
          entry.versions.push(
            cpe.update !== '*' && cpe.update !== '-' ? `${cpe.version}${cpe.update}` : cpe.version,
          );
        }
        byKey.set(key, entry);
      }
    }
  }
  for (const entry of byKey.values()) entry.summary = describeIntervals(entry.intervals, entry.versions);
  const metrics = (cve.metrics ?? {}) as Record<
    string,
    Array<{
      cvssData?: { baseScore?: number; vectorString?: string; baseSeverity?: string };
      baseSeverity?: string;
      type?: string;
    }>
  >;
  const metric = ['cvssMetricV40', 'cvssMetricV31', 'cvssMetricV30', 'cvssMetricV2']
    .map((k) => metrics[k]?.find((m) => m.type === 'Primary') ?? metrics[k]?.[0])
    .find((m) => m?.cvssData);
  const score = typeof metric?.cvssData?.baseScore === 'number' ? metric.cvssData.baseScore : null;
  const descriptions = Array.isArray(cve.descriptions)
    ? (cve.descriptions as Array<{ lang?: string; value?: string }>)
    : [];
  const description = text(descriptions.find((d) => d.lang === 'en')?.value ?? descriptions[0]?.value);
  return {
    record: {
      id,
      source: 'nvd',
      modified,
      published: isoOrNull(cve.published),
      withdrawn: cve.vulnStatus === 'Rejected' ? modified : null,
      summary: description.split(/(?<=\.)\s/)[0]?.slice(0, 300) ?? '',
      details: description,
      aliases: [],
      severity: {
        rating: (metric?.cvssData?.baseSeverity ?? metric?.baseSeverity)?.toLowerCase() ?? ratingOf(score),
        score,
        vector: metric?.cvssData?.vectorString ?? null,
      },
      references: (Array.isArray(cve.references) ? cve.references : [])
        .map((r) => (r as { url?: unknown })?.url)
        .filter((u): u is string => typeof u === 'string')
        .slice(0, 50),
      affected: [...byKey.values()],
    },
    skipped,
  };
}
