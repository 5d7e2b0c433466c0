import type { AffectedEntry } from '../ranges.js';

/** A vulnerability record from any source, normalised for storage and matching. */
export interface VulnerabilityRecord {
  id: string;
  source: 'osv' | 'nvd' | 'csaf';
  /** ISO 8601; on re-import the newer `modified` wins. */
  modified: string;
  published: string | null;
  withdrawn: string | null;
  summary: string;
  details: string;
  /** Other names of the same vulnerability (CVE, GHSA, USN upstream CVEs). */
  aliases: string[];
  severity: { rating: string | null; score: number | null; vector: string | null };
  references: string[];
  affected: AffectedEntry[];
}

/** CISA Known Exploited Vulnerabilities catalog entry. */
export interface KnownExploited {
  cveId: string;
  vendor: string;
  product: string;
  name: string;
  dateAdded: string;
  dueDate: string | null;
  ransomware: string;
  requiredAction: string;
}

export type ParsedDocument =
  | { kind: 'records'; format: 'osv' | 'nvd' | 'csaf'; records: VulnerabilityRecord[]; skipped: string[] }
  | { kind: 'kev'; catalogVersion: string; entries: KnownExploited[] };

export class FeedFormatError extends Error {}

export function isoOrNull(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  // NVD writes times without a zone; they are UTC (NVD API 2.0 documentation).
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const time = Date.parse(withZone);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

export function text(value: unknown, max = 20_000): string {
  return typeof value === 'string' ? value.slice(0, max) : '';
}

export function ratingOf(score: number | null): string | null {
  if (score === null) return null;
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}
