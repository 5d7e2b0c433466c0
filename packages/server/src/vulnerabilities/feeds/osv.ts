import { ecosystemPackage, purlKeys } from '../identifiers.js';
import { type AffectedEntry, describeIntervals, intervalsFromEvents } from '../ranges.js';
import { identifierProblem, isRecord, list, printable, record, stringOr } from './input.js';
import { FeedFormatError, isoOrNull, RECORD_LIMITS, text, type VulnerabilityRecord } from './record.js';

type OsvEvent = { introduced?: string; fixed?: string; last_affected?: string; limit?: string };
const EVENT_KINDS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;

/**
 * OSV schema (ossf.github.io/osv-schema) → record. Ranges of type SEMVER use SemVer order,
 * ECOSYSTEM ranges the ecosystem's own; GIT ranges name commits, which firmware SBOMs do not
 * carry, so only their explicit `versions` count.
 */
export function parseOsv(doc: Record<string, unknown>): { record: VulnerabilityRecord; skipped: string[] } {
  const id = doc.id;
  if (typeof id !== 'string' || id.length === 0) throw new FeedFormatError('OSV record without an id');
  const badId = identifierProblem(id, RECORD_LIMITS.id);
  if (badId) throw new FeedFormatError(`OSV record id ${printable(id)}: ${badId}`);
  const modified = isoOrNull(doc.modified);
  if (!modified) throw new FeedFormatError(`${id}: "modified" is missing or not a time`);
  if (doc.affected !== undefined && !Array.isArray(doc.affected))
    throw new FeedFormatError(`${id}: "affected" is not a list`);
  const skipped: string[] = [];
  const affected: AffectedEntry[] = [];
  for (const [index, item] of list(doc.affected).entries()) {
    if (!isRecord(item)) {
      skipped.push(`${id}: affected[${index}] is not an object`);
      continue;
    }
    const pkg = record(item.package);
    const ecosystem = stringOr(pkg.ecosystem, '');
    const name = stringOr(pkg.name, '');
    const purl = stringOr(pkg.purl, '');
    const bad =
      identifierProblem(ecosystem, RECORD_LIMITS.id) ??
      identifierProblem(name, RECORD_LIMITS.name) ??
      identifierProblem(purl, RECORD_LIMITS.purl);
    if (bad) {
      skipped.push(`${id}: affected[${index}] package: ${bad}`);
      continue;
    }
    let target =
      ecosystem && name && knownEcosystemName(ecosystem) ? ecosystemPackage(ecosystem, name) : null;
    if (!target && purl) {
      const [key] = purlKeys(`${purl.split('@')[0]}@0`);
      if (key) target = { key: key.key, scheme: key.scheme, distro: key.distro };
    }
    if (!target) {
      skipped.push(
        `${id}: affected[${index}] names an ecosystem we do not match (${printable(ecosystem) || 'none'})`,
      );
      continue;
    }
    const versions = versionsOf(item.versions, `${id}: affected[${index}].versions`, skipped);
    const byScheme = new Map<string, AffectedEntry>();
    for (const [r, range] of list(item.ranges).entries()) {
      const { type, events } = record(range);
      if ((type !== 'SEMVER' && type !== 'ECOSYSTEM') || !Array.isArray(events)) continue;
      const read = eventsOf(events);
      if (typeof read === 'string') {
        skipped.push(`${id}: affected[${index}].ranges[${r}]: ${read}`);
        continue;
      }
      const scheme = type === 'SEMVER' ? 'semver' : target.scheme;
      const entry = byScheme.get(scheme) ?? {
        key: target.key,
        scheme,
        distro: target.distro,
        intervals: [],
        versions: [],
        summary: '',
      };
      entry.intervals.push(...intervalsFromEvents(read, scheme));
      byScheme.set(scheme, entry);
    }
    if (byScheme.size === 0)
      byScheme.set(target.scheme, {
        key: target.key,
        scheme: target.scheme,
        distro: target.distro,
        intervals: [],
        versions: [],
        summary: '',
      });
    const [first] = byScheme.values();
    if (first) first.versions = versions;
    for (const entry of byScheme.values()) {
      if (entry.intervals.length === 0 && entry.versions.length === 0) continue;
      entry.summary = describeIntervals(entry.intervals, entry.versions);
      affected.push(entry);
    }
  }
  const severity = severityOf(doc);
  const upstream = list(doc.upstream);
  // `related` is "related but not the same" in OSV, except in distribution notices (DSA, DLA,
  // USN, ALSA…), which list there the CVEs they fix: only those count as names of the record.
  const distribution = affected.length > 0 && affected.every((a) => /^pkg:(deb|apk|rpm|alpm)\//.test(a.key));
  const related = distribution ? list(doc.related) : [];
  const aliases: string[] = [];
  for (const alias of [...list(doc.aliases), ...upstream, ...related]) {
    if (typeof alias !== 'string' || alias === id) continue;
    const bad = identifierProblem(alias, RECORD_LIMITS.id);
    if (bad) skipped.push(`${id}: alias ${printable(alias)}: ${bad}`);
    else aliases.push(alias);
  }
  return {
    record: {
      id,
      source: 'osv',
      modified,
      published: isoOrNull(doc.published),
      withdrawn: isoOrNull(doc.withdrawn),
      summary: text(doc.summary, 1000),
      details: text(doc.details),
      aliases: [...new Set(aliases)],
      severity,
      references: referencesOf(doc.references),
      affected,
    },
    skipped,
  };
}

/**
 * identifiers.ts looks ecosystems up in a plain object; a name that is one of Object.prototype's
 * own (`constructor`, `__proto__`) would find the prototype's property instead of nothing.
 */
function knownEcosystemName(ecosystem: string): boolean {
  const base = (ecosystem.split(':')[0] ?? '').toLowerCase();
  return !Object.hasOwn(Object.prototype, base);
}

/** Events whose versions are all clean strings, or why they are not. */
function eventsOf(events: unknown[]): OsvEvent[] | string {
  const out: OsvEvent[] = [];
  for (const [i, item] of events.entries()) {
    if (!isRecord(item)) return `event ${i} is not an object`;
    const event: OsvEvent = {};
    for (const kind of EVENT_KINDS) {
      const value = item[kind];
      if (value === undefined) continue;
      if (typeof value !== 'string') return `event ${i}: ${kind} is not a string`;
      const bad = identifierProblem(value, RECORD_LIMITS.version);
      if (bad) return `event ${i}: ${kind} ${bad}`;
      event[kind] = value;
    }
    out.push(event);
  }
  return out;
}

/** Listed versions that are clean strings; the others are reported in `skipped`. */
export function versionsOf(value: unknown, where: string, skipped: string[]): string[] {
  const out: string[] = [];
  for (const v of list(value)) {
    const bad = typeof v === 'string' ? identifierProblem(v, RECORD_LIMITS.version) : 'not a string';
    if (bad) skipped.push(`${where}: a version ${bad}`);
    else out.push(v as string);
  }
  return out;
}

/** Reference URLs: clean strings, the first 50 (a listing, not the record's substance). */
export function referencesOf(value: unknown): string[] {
  return list(value)
    .map((r) => record(r).url)
    .filter((u): u is string => typeof u === 'string' && identifierProblem(u, RECORD_LIMITS.url) === null)
    .slice(0, 50);
}

function severityOf(doc: Record<string, unknown>): VulnerabilityRecord['severity'] {
  const vector = list(doc.severity)
    .map(record)
    .map((s) => ({ type: stringOr(s.type, ''), score: stringOr(s.score, '') }))
    .find(
      (s) => s.type.startsWith('CVSS') && s.score !== '' && identifierProblem(s.score, 200) === null,
    )?.score;
  const db = record(doc.database_specific);
  const rating =
    typeof db.severity === 'string' && identifierProblem(db.severity, 20) === null
      ? db.severity.toLowerCase().replace('moderate', 'medium')
      : null;
  return { rating, score: null, vector: vector ?? null };
}
