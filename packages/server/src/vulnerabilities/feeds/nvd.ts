import { cpeKey } from '../identifiers.js';
import { type AffectedEntry, describeIntervals, type VersionInterval } from '../ranges.js';
import { clip, finiteOr, identifierProblem, isRecord, list, printable, record, stringOr } from './input.js';
import { referencesOf } from './osv.js';
import {
  cpeOrNull,
  FeedFormatError,
  isoOrNull,
  RECORD_LIMITS,
  ratingOf,
  text,
  type VulnerabilityRecord,
} from './record.js';

const RANGE_FIELDS = [
  'versionStartIncluding',
  'versionStartExcluding',
  'versionEndIncluding',
  'versionEndExcluding',
] as const;

/**
 * NVD CVE API 2.0 record → record. Every `cpeMatch` marked vulnerable becomes an affected entry;
 * platform conditions of AND configurations ("running on" hardware) are not required, because an
 * SBOM lists software, not the board: triage settles those (documented in docs/vulnerabilities.md).
 */
export function parseNvd(cve: Record<string, unknown>): { record: VulnerabilityRecord; skipped: string[] } {
  const id = cve.id;
  if (typeof id !== 'string' || !/^CVE-\d{4}-\d{4,}$/.test(id) || id.length > RECORD_LIMITS.id)
    throw new FeedFormatError('NVD record without a CVE id');
  const modified = isoOrNull(cve.lastModified);
  if (!modified) throw new FeedFormatError(`${id}: "lastModified" is missing or not a time`);
  const skipped: string[] = [];
  const byKey = new Map<string, AffectedEntry>();
  for (const configuration of list(cve.configurations)) {
    for (const node of list(record(configuration).nodes)) {
      const n = record(node);
      if (n.negate === true) continue;
      for (const item of list(n.cpeMatch)) {
        const match = record(item);
        if (match.vulnerable !== true || typeof match.criteria !== 'string') continue;
        const bad =
          identifierProblem(match.criteria, RECORD_LIMITS.cpe) ??
          RANGE_FIELDS.map((f) => rangeProblem(match[f], f)).find((p) => p !== null) ??
          null;
        const cpe = bad ? null : cpeOrNull(match.criteria);
        if (!cpe) {
          skipped.push(`${id}: cannot read CPE ${printable(match.criteria, 100)}${bad ? `: ${bad}` : ''}`);
          continue;
        }
        // A version of `-` (NA, as NetApp writes firmware) is kept: it matches a component whose
        // CPE also says `-` (identifiers.ts cpeComponentKey, ranges.ts isAffected).
        const key = cpeKey(cpe);
        const entry = byKey.get(key) ?? {
          key,
          scheme: 'generic' as const,
          distro: null,
          intervals: [],
          versions: [],
          summary: '',
        };
        const bound = (f: (typeof RANGE_FIELDS)[number]): string | undefined =>
          typeof match[f] === 'string' && match[f] !== '' ? match[f] : undefined;
        if (RANGE_FIELDS.some((f) => match[f] !== undefined)) {
          const interval: VersionInterval = {};
          const startIncluding = bound('versionStartIncluding');
          const startExcluding = bound('versionStartExcluding');
          const endIncluding = bound('versionEndIncluding');
          const endExcluding = bound('versionEndExcluding');
          if (startIncluding) Object.assign(interval, { start: startIncluding, startInclusive: true });
          if (startExcluding) Object.assign(interval, { start: startExcluding, startInclusive: false });
          if (endIncluding) Object.assign(interval, { end: endIncluding, endInclusive: true });
          if (endExcluding) Object.assign(interval, { end: endExcluding, endInclusive: false });
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
  const metrics = record(cve.metrics);
  const metric = ['cvssMetricV40', 'cvssMetricV31', 'cvssMetricV30', 'cvssMetricV2']
    .map((k) => {
      const all = list(metrics[k]).filter(isRecord);
      return all.find((m) => m.type === 'Primary') ?? all[0];
    })
    .find((m) => isRecord(m?.cvssData));
  const cvss = record(metric?.cvssData);
  const score = cvssScore(cvss.baseScore);
  const descriptions = list(cve.descriptions).map(record);
  const description = text(descriptions.find((d) => d.lang === 'en')?.value ?? descriptions[0]?.value);
  const rating = stringOr(cvss.baseSeverity, null) ?? stringOr(metric?.baseSeverity, null);
  const vector = stringOr(cvss.vectorString, null);
  return {
    record: {
      id,
      source: 'nvd',
      modified,
      published: isoOrNull(cve.published),
      withdrawn: cve.vulnStatus === 'Rejected' ? modified : null,
      summary: clip(description.split(/(?<=\.)\s/)[0] ?? '', 300),
      details: description,
      aliases: [],
      severity: {
        rating:
          rating !== null && identifierProblem(rating, 20) === null ? rating.toLowerCase() : ratingOf(score),
        score,
        vector: vector !== null && identifierProblem(vector, 200) === null ? vector : null,
      },
      references: referencesOf(cve.references),
      affected: [...byKey.values()],
    },
    skipped,
  };
}

/** A version bound of a CPE match: absent, or a clean string. */
function rangeProblem(value: unknown, field: string): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string') return `${field} is not a string`;
  const bad = identifierProblem(value, RECORD_LIMITS.version);
  return bad ? `${field} ${bad}` : null;
}

/** A CVSS base score is 0.0–10.0 (CVSS v3.1 and v4.0 specifications); anything else is no score. */
export function cvssScore(value: unknown): number | null {
  const score = finiteOr(value, null);
  return score !== null && score >= 0 && score <= 10 ? score : null;
}
