import { DomainError } from '../../errors.js';
import { type ComponentKey, type Cpe, cpeComponentKey, parseCpe } from '../identifiers.js';
import type { AffectedEntry } from '../ranges.js';
import { clip } from './input.js';

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

/** A document that is not a usable vulnerability record; the import reports it by name and goes on. */
export class FeedFormatError extends DomainError {
  constructor(message: string) {
    super('validation-failed', message);
    this.name = 'FeedFormatError';
  }
}

export function isoOrNull(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  // NVD writes times without a zone; they are UTC (NVD API 2.0 documentation).
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const time = Date.parse(withZone);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

export function text(value: unknown, max = 20_000): string {
  return typeof value === 'string' ? clip(value, max) : '';
}

export function ratingOf(score: number | null): string | null {
  if (score === null) return null;
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

/** Longest identifier fields of a record (ids, versions, package names, purls, CPEs, URLs). */
export const RECORD_LIMITS = { id: 200, version: 200, name: 1000, purl: 2000, cpe: 1000, url: 2000 } as const;

/**
 * `parseCpe` of identifiers.ts throws URIError on a CPE 2.2 URI with a bad %-escape
 * (`cpe:/a:%zz:x`); a feed's or an SBOM's CPE that cannot be read is unreadable, not a crash.
 */
export function cpeOrNull(value: string): Cpe | null {
  try {
    return parseCpe(value);
  } catch {
    return null;
  }
}

/** `cpeComponentKey`, with the same guard as `cpeOrNull`. */
export function cpeComponentKeyOrNull(value: string, componentVersion?: string | null): ComponentKey | null {
  try {
    return cpeComponentKey(value, componentVersion);
  } catch {
    return null;
  }
}
