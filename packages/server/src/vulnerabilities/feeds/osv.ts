import { ecosystemPackage, purlKeys } from '../identifiers.js';
import { type AffectedEntry, describeIntervals, intervalsFromEvents } from '../ranges.js';
import { FeedFormatError, isoOrNull, text, type VulnerabilityRecord } from './record.js';

/**
 * OSV schema (ossf.github.io/osv-schema) → record. Ranges of type SEMVER use SemVer order,
 * ECOSYSTEM ranges the ecosystem's own; GIT ranges name commits, which firmware SBOMs do not
 * carry, so only their explicit `versions` count.
 */
export function parseOsv(doc: Record<string, unknown>): { record: VulnerabilityRecord; skipped: string[] } {
  const id = doc.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > 200)
    throw new FeedFormatError('OSV record without an id');
  const modified = isoOrNull(doc.modified);
  if (!modified) throw new FeedFormatError(`${id}: "modified" is missing or not a time`);
  if (doc.affected !== undefined && !Array.isArray(doc.affected))
    throw new FeedFormatError(`${id}: "affected" is not a list`);
  const skipped: string[] = [];
  const affected: AffectedEntry[] = [];
  for (const [index, item] of ((doc.affected as unknown[]) ?? []).entries()) {
    if (!item || typeof item !== 'object') {
      skipped.push(`${id}: affected[${index}] is not an object`);
      continue;
    }
    const a = item as {
      package?: { ecosystem?: unknown; name?: unknown; purl?: unknown };
      ranges?: unknown;
      versions?: unknown;
    };
    const ecosystem = typeof a.package?.ecosystem === 'string' ? a.package.ecosystem : '';
    const name = typeof a.package?.name === 'string' ? a.package.name : '';
    let target = ecosystem && name ? ecosystemPackage(ecosystem, name) : null;
    if (!target && typeof a.package?.purl === 'string') {
      const [key] = purlKeys(`${a.package.purl.split('@')[0]}@0`);
      if (key) target = { key: key.key, scheme: key.scheme, distro: key.distro };
    }
    if (!target) {
      skipped.push(`${id}: affected[${index}] names an ecosystem we do not match (${ecosystem || 'none'})`);
      continue;
    }
    const versions = Array.isArray(a.versions)
      ? a.versions.filter((v): v is string => typeof v === 'string')
      : [];
    const byScheme = new Map<string, AffectedEntry>();
    for (const range of Array.isArray(a.ranges) ? a.ranges : []) {
      const r = range as { type?: unknown; events?: unknown };
      if ((r.type !== 'SEMVER' && r.type !== 'ECOSYSTEM') || !Array.isArray(r.events)) continue;
      const scheme = r.type === 'SEMVER' ? 'semver' : target.scheme;
      const events = r.events.filter((e): e is Record<string, string> => !!e && typeof e === 'object');
      const entry = byScheme.get(scheme) ?? {
        key: target.key,
        scheme,
        distro: target.distro,
        intervals: [],
        versions: [],
        summary: '',
      };
      entry.intervals.push(...intervalsFromEvents(events, scheme));
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
  const upstream = Array.isArray(doc.upstream) ? doc.upstream : [];
  const aliases = [...(Array.isArray(doc.aliases) ? doc.aliases : []), ...upstream].filter(
    (a): a is string => typeof a === 'string' && a !== id && a.length <= 200,
  );
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
      references: (Array.isArray(doc.references) ? doc.references : [])
        .map((r) => (r as { url?: unknown })?.url)
        .filter((u): u is string => typeof u === 'string')
        .slice(0, 50),
      affected,
    },
    skipped,
  };
}

function severityOf(doc: Record<string, unknown>): VulnerabilityRecord['severity'] {
  const vector = (Array.isArray(doc.severity) ? doc.severity : [])
    .map((s) => (s as { type?: unknown; score?: unknown }) ?? {})
    .find((s) => typeof s.type === 'string' && s.type.startsWith('CVSS') && typeof s.score === 'string')
    ?.score as string | undefined;
  const db = doc.database_specific as { severity?: unknown } | undefined;
  const rating =
    typeof db?.severity === 'string' ? db.severity.toLowerCase().replace('moderate', 'medium') : null;
  return { rating, score: null, vector: vector ?? null };
}
