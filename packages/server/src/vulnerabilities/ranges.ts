import { NOT_APPLICABLE } from './identifiers.js';
import { comparators, type VersionScheme } from './versions/index.js';

/**
 * One affected interval. A missing start means "from the first version", a missing end "to the
 * latest". OSV `introduced`/`fixed`/`last_affected` events and NVD `versionStart*`/`versionEnd*`
 * both reduce to this (OSV schema "Evaluation"; NVD CPE match criteria).
 */
export interface VersionInterval {
  start?: string;
  startInclusive?: boolean;
  end?: string;
  endInclusive?: boolean;
}

/** What a record says is affected for one package key. */
export interface AffectedEntry {
  key: string;
  scheme: VersionScheme;
  distro: string | null;
  intervals: VersionInterval[];
  /** Versions named one by one (OSV `versions`, exact CPE versions, CSAF product versions). */
  versions: string[];
  /** Human-readable form of what is affected, for listings. */
  summary: string;
}

export function isAffected(
  entry: Pick<AffectedEntry, 'scheme' | 'intervals' | 'versions'>,
  version: string,
): boolean {
  // CPE NA (`-`) is not a version and has no order (NISTIR 7696 table 6-2): it equals only NA
  // and lies inside only "any version" (no bounds). A listed NA equals no real version.
  if (version === NOT_APPLICABLE || entry.versions.includes(NOT_APPLICABLE)) {
    if (version !== NOT_APPLICABLE)
      return isAffected({ ...entry, versions: entry.versions.filter((v) => v !== NOT_APPLICABLE) }, version);
    return (
      entry.versions.includes(NOT_APPLICABLE) ||
      entry.intervals.some((i) => i.start === undefined && i.end === undefined)
    );
  }
  const compare = comparators[entry.scheme];
  for (const listed of entry.versions) if (listed === version || compare(listed, version) === 0) return true;
  for (const interval of entry.intervals) {
    if (interval.start !== undefined) {
      const c = compare(version, interval.start);
      if (c < 0 || (c === 0 && interval.startInclusive === false)) continue;
    }
    if (interval.end !== undefined) {
      const c = compare(version, interval.end);
      if (c > 0 || (c === 0 && !interval.endInclusive)) continue;
    }
    return true;
  }
  return false;
}

interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

/**
 * OSV events → intervals. Events are sorted by version (`introduced: "0"` first) and walked: an
 * `introduced` opens an interval, the next `fixed` (exclusive) or `last_affected` (inclusive) closes it.
 */
export function intervalsFromEvents(events: OsvEvent[], scheme: VersionScheme): VersionInterval[] {
  const compare = comparators[scheme];
  const versionOf = (e: OsvEvent): string => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '';
  const isZero = (e: OsvEvent): boolean => e.introduced === '0' || e.introduced === '0.0.0-0';
  const sorted = events
    .filter((e) => versionOf(e) !== '' && e.limit === undefined)
    .map((e, index) => ({ e, index }))
    .sort((a, b) => {
      if (isZero(a.e) !== isZero(b.e)) return isZero(a.e) ? -1 : 1;
      return compare(versionOf(a.e), versionOf(b.e)) || a.index - b.index;
    })
    .map(({ e }) => e);
  const out: VersionInterval[] = [];
  let open: VersionInterval | null = null;
  for (const event of sorted) {
    if (event.introduced !== undefined) {
      if (open) continue;
      open = isZero(event) ? {} : { start: event.introduced, startInclusive: true };
    } else if (open && event.fixed !== undefined) {
      out.push({ ...open, end: event.fixed, endInclusive: false });
      open = null;
    } else if (open && event.last_affected !== undefined) {
      out.push({ ...open, end: event.last_affected, endInclusive: true });
      open = null;
    }
  }
  if (open) out.push(open);
  return out;
}

export function describeIntervals(intervals: VersionInterval[], versions: string[]): string {
  const parts = intervals.map((i) => {
    const from = i.start === undefined ? '' : `${i.startInclusive === false ? '>' : '>='}${i.start}`;
    const to = i.end === undefined ? '' : `${i.endInclusive ? '<=' : '<'}${i.end}`;
    return [from, to].filter(Boolean).join(' ') || 'all versions';
  });
  if (versions.length > 0)
    parts.push(
      versions.length <= 5
        ? versions.join(', ')
        : `${versions.slice(0, 5).join(', ')} and ${versions.length - 5} more`,
    );
  return parts.join('; ');
}
