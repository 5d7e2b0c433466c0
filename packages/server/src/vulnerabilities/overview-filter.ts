import { invalid } from '../errors.js';
import type { OverviewItem } from './overview.js';
import type { TriageStatus } from './triage-status.js';

/** CVSS qualitative ratings (FIRST CVSS v3.1 §5), as records carry them, lowercased. */
export const severityRatings = ['critical', 'high', 'medium', 'low', 'none', 'unknown'] as const;
export type SeverityRating = (typeof severityRatings)[number];

export interface OverviewFilter {
  /** open: devices still exposed; all: every matched vulnerability. */
  status?: 'open' | 'all' | undefined;
  severity?: SeverityRating | undefined;
  /** true: only those in CISA's KEV catalog; false: only those not in it. */
  kev?: boolean | undefined;
  /** Only vulnerabilities with at least one matched release in this effective triage status. */
  triage?: TriageStatus | undefined;
}

/** The rating a list shows and filters by: a record without one is "unknown". */
function ratingOf(item: OverviewItem): SeverityRating {
  const rating = (item.severity.rating ?? '').toLowerCase();
  return (severityRatings as readonly string[]).includes(rating) ? (rating as SeverityRating) : 'unknown';
}

export function filterOverview(items: OverviewItem[], filter: OverviewFilter): OverviewItem[] {
  return items.filter(
    (v) =>
      (filter.status === 'all' || v.releasesExposed > 0) &&
      (filter.severity === undefined || ratingOf(v) === filter.severity) &&
      (filter.kev === undefined || v.knownExploited === filter.kev) &&
      (filter.triage === undefined || v.statuses.includes(filter.triage)),
  );
}

/**
 * One page of the computed, sorted overview. The list is worked out in memory from a few queries
 * (overview.ts) and sorted by urgency, not by id, so the cursor is the position in that order:
 * a triage between two pages can shift a row by one, which a list ordered by urgency accepts.
 */
export function pageOverview(
  items: OverviewItem[],
  limit: number | undefined,
  cursor: string | undefined,
): { items: OverviewItem[]; nextCursor: string | null } {
  if (limit === undefined && cursor === undefined) return { items, nextCursor: null };
  const start = cursor === undefined ? 0 : decodeOffset(cursor);
  const size = limit ?? 50;
  const page = items.slice(start, start + size);
  return { items: page, nextCursor: start + size < items.length ? encodeOffset(start + size) : null };
}

export function encodeOffset(offset: number): string {
  return Buffer.from(`at:${offset}`, 'utf8').toString('base64url');
}

export function decodeOffset(cursor: string): number {
  const match = /^at:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalid('/cursor', 'not a cursor returned by this API');
  return Number(match[1]);
}
