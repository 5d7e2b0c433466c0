import { days, type SecurityUpdateEntry } from '../evidence/security-updates.js';
import { severityOf } from './figures.js';

/** Median and maximum of a set of day counts, over the vulnerabilities that have one. */
export interface DaysFigure {
  /** Vulnerabilities with a value (fixed, or coverage reached). */
  count: number;
  median: number | null;
  max: number | null;
}

export interface SeverityTimes {
  /** Vulnerabilities of this severity matched in the scope's releases. */
  vulnerabilities: number;
  /** First seen to the publication of the fixing release. */
  timeToFixDays: DaysFigure;
  /** Publication of the fixing release to 90 % and to 100 % of the exposed devices fixed. */
  timeTo90CoverageDays: DaysFigure;
  timeTo100CoverageDays: DaysFigure;
}

export const severities = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

function figure(values: number[]): DaysFigure {
  if (!values.length) return { count: 0, median: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { count: sorted.length, median: Math.round(median * 10) / 10, max: sorted.at(-1) as number };
}

/**
 * Time to fix and time to coverage by severity, from the same per-vulnerability history the
 * evidence pack holds (security-updates.json), so the two never disagree. Coverage is counted from
 * the fixing release's publication; a vulnerability with no fixing release has neither.
 */
export function timesBySeverity(
  entries: SecurityUpdateEntry[],
): Record<(typeof severities)[number], SeverityTimes> {
  const out = {} as Record<(typeof severities)[number], SeverityTimes>;
  for (const severity of severities) {
    const mine = entries.filter((e) => severityOf(e.severity) === severity);
    const since = (e: SecurityUpdateEntry, at: string | null): number[] => {
      const fixedAt = e.fixedBy?.publishedAt;
      return fixedAt && at ? [Math.max(0, days(fixedAt, at))] : [];
    };
    out[severity] = {
      vulnerabilities: mine.length,
      timeToFixDays: figure(mine.flatMap((e) => (e.timeToFixDays === null ? [] : [e.timeToFixDays]))),
      timeTo90CoverageDays: figure(mine.flatMap((e) => since(e, e.coverage.reached90At))),
      timeTo100CoverageDays: figure(mine.flatMap((e) => since(e, e.coverage.reached100At))),
    };
  }
  return out;
}
