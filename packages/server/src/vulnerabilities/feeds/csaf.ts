import { cpeComponentKey, cpeKey, parseCpe, purlKeys } from '../identifiers.js';
import { type AffectedEntry, describeIntervals, type VersionInterval } from '../ranges.js';
import { schemeOfPurlType } from '../versions/index.js';
import { FeedFormatError, isoOrNull, ratingOf, text, type VulnerabilityRecord } from './record.js';

interface Product {
  id: string;
  name: string;
  purl?: string;
  cpe?: string;
  /** `vers:` range or version from the branch path (CSAF 3.1.2.3.3 product_version_range). */
  versionRange?: string;
  version?: string;
}

/**
 * A supplier's CSAF 2.0 advisory → one record per vulnerability. Products are matched through
 * their product_identification_helper (purl or CPE); a product with neither cannot be matched
 * against an SBOM and is reported as skipped. Only affected statuses become affected entries:
 * a supplier's not-affected statement is theirs to make, not a match.
 */
export function parseCsaf(doc: Record<string, unknown>): {
  records: VulnerabilityRecord[];
  skipped: string[];
} {
  const document = doc.document as Record<string, unknown> | undefined;
  const tracking = document?.tracking as Record<string, unknown> | undefined;
  if (document?.csaf_version !== '2.0' || !tracking || typeof tracking.id !== 'string')
    throw new FeedFormatError('not a CSAF 2.0 document (document.csaf_version, document.tracking.id)');
  const modified = isoOrNull(tracking.current_release_date);
  if (!modified) throw new FeedFormatError(`${tracking.id}: tracking.current_release_date is missing`);
  const products = new Map<string, Product>();
  walkProducts(doc.product_tree as Record<string, unknown> | undefined, products);
  const skipped: string[] = [];
  const records: VulnerabilityRecord[] = [];
  const vulnerabilities = Array.isArray(doc.vulnerabilities) ? doc.vulnerabilities : [];
  for (const [index, item] of vulnerabilities.entries()) {
    const v = (item ?? {}) as Record<string, unknown>;
    const ids = Array.isArray(v.ids)
      ? (v.ids as Array<{ text?: unknown }>)
          .map((i) => i.text)
          .filter((t): t is string => typeof t === 'string')
      : [];
    // The supplier's statement about a CVE is its own record (`BSI-2022-0001/CVE-2022-27193`),
    // next to NVD's record of the same CVE; the CVE is an alias, so both count as one vulnerability.
    const named = typeof v.cve === 'string' ? v.cve : (ids[0] ?? `${index + 1}`);
    const id = `${tracking.id as string}/${named}`.slice(0, 200);
    const status = (v.product_status ?? {}) as Record<string, unknown>;
    const affectedIds = ['known_affected', 'first_affected', 'last_affected', 'under_investigation']
      .flatMap((k) => (Array.isArray(status[k]) ? (status[k] as unknown[]) : []))
      .filter((p): p is string => typeof p === 'string');
    const byKey = new Map<string, AffectedEntry>();
    for (const productId of new Set(affectedIds)) {
      const product = products.get(productId);
      const entry = product ? entryOf(product) : null;
      if (!entry) {
        skipped.push(`${id}: product ${productId} has no purl or CPE to match`);
        continue;
      }
      const existing = byKey.get(entry.key);
      if (existing) {
        existing.intervals.push(...entry.intervals);
        existing.versions.push(...entry.versions);
      } else byKey.set(entry.key, entry);
    }
    for (const entry of byKey.values()) entry.summary = describeIntervals(entry.intervals, entry.versions);
    const score = (Array.isArray(v.scores) ? v.scores : [])
      .map(
        (s) =>
          (s as { cvss_v3?: { baseScore?: number; vectorString?: string; baseSeverity?: string } }).cvss_v3,
      )
      .find((c) => c && typeof c.baseScore === 'number');
    const notes = Array.isArray(v.notes) ? (v.notes as Array<{ category?: string; text?: string }>) : [];
    const description = text(notes.find((n) => n.category === 'description')?.text ?? notes[0]?.text);
    records.push({
      id,
      source: 'csaf',
      modified,
      published: isoOrNull(tracking.initial_release_date),
      withdrawn: null,
      summary: text(v.title, 300) || text(document.title, 300),
      details: description,
      aliases: [...new Set([...(typeof v.cve === 'string' ? [v.cve] : []), ...ids].filter((a) => a !== id))],
      severity: {
        rating: score?.baseSeverity?.toLowerCase() ?? ratingOf(score?.baseScore ?? null),
        score: score?.baseScore ?? null,
        vector: score?.vectorString ?? null,
      },
      references: [],
      affected: [...byKey.values()],
    });
  }
  return { records, skipped };
}

function walkProducts(tree: Record<string, unknown> | undefined, out: Map<string, Product>): void {
  if (!tree) return;
  const visit = (branches: unknown, path: { version?: string; versionRange?: string }): void => {
    for (const b of Array.isArray(branches) ? branches : []) {
      const branch = b as {
        category?: string;
        name?: string;
        branches?: unknown;
        product?: Record<string, unknown>;
      };
      const next = { ...path };
      if (branch.category === 'product_version' && branch.name) next.version = branch.name;
      if (branch.category === 'product_version_range' && branch.name) next.versionRange = branch.name;
      if (branch.product) addProduct(branch.product, next, out);
      visit(branch.branches, next);
    }
  };
  visit(tree.branches, {});
  for (const p of Array.isArray(tree.full_product_names) ? tree.full_product_names : [])
    addProduct(p as Record<string, unknown>, {}, out);
}

function addProduct(
  p: Record<string, unknown>,
  path: { version?: string; versionRange?: string },
  out: Map<string, Product>,
): void {
  if (typeof p.product_id !== 'string') return;
  const helper = (p.product_identification_helper ?? {}) as { purl?: unknown; cpe?: unknown };
  out.set(p.product_id, {
    id: p.product_id,
    name: typeof p.name === 'string' ? p.name : p.product_id,
    ...(typeof helper.purl === 'string' ? { purl: helper.purl } : {}),
    ...(typeof helper.cpe === 'string' ? { cpe: helper.cpe } : {}),
    ...path,
  });
}

function entryOf(product: Product): AffectedEntry | null {
  if (product.purl) {
    const versioned = product.purl.includes('@') ? product.purl : `${product.purl}@${product.version ?? '0'}`;
    const [key] = purlKeys(versioned);
    if (!key) return null;
    const type = /^pkg:([^/]+)/.exec(product.purl)?.[1] ?? '';
    const scheme = schemeOfPurlType(type);
    if (product.versionRange?.startsWith('vers:'))
      return {
        key: key.key,
        scheme,
        distro: key.distro,
        intervals: intervalsFromVers(product.versionRange),
        versions: [],
        summary: '',
      };
    if (!product.purl.includes('@') && !product.version) return null;
    return { key: key.key, scheme, distro: key.distro, intervals: [], versions: [key.version], summary: '' };
  }
  if (product.cpe) {
    const cpe = parseCpe(product.cpe);
    if (!cpe) return null;
    if (product.versionRange?.startsWith('vers:'))
      return {
        key: cpeKey(cpe),
        scheme: 'generic',
        distro: null,
        intervals: intervalsFromVers(product.versionRange),
        versions: [],
        summary: '',
      };
    const key = cpeComponentKey(product.cpe);
    if (key)
      return {
        key: key.key,
        scheme: 'generic',
        distro: null,
        intervals: [],
        versions: [key.version],
        summary: '',
      };
    if (product.version)
      return {
        key: cpeKey(cpe),
        scheme: 'generic',
        distro: null,
        intervals: [],
        versions: [product.version],
        summary: '',
      };
  }
  return null;
}

/** `vers:generic/>=1.0.0|<1.2.3|>=2.0|<2.1` (the vers specification used by CSAF 2.0) → intervals. */
export function intervalsFromVers(vers: string): VersionInterval[] {
  const constraints = vers
    .replace(/^vers:[^/]*\//, '')
    .split('|')
    .map((c) => c.trim())
    .filter(Boolean);
  if (constraints.length === 1 && constraints[0] === '*') return [{}];
  const out: VersionInterval[] = [];
  let open: VersionInterval | null = null;
  for (const c of constraints) {
    const m = /^(>=|<=|!=|<|>|=)?(.+)$/.exec(c);
    if (!m) continue;
    const [, op = '=', version = ''] = m;
    if (op === '=') out.push({ start: version, startInclusive: true, end: version, endInclusive: true });
    else if (op === '>=' || op === '>') {
      if (open) out.push(open);
      open = { start: version, startInclusive: op === '>=' };
    } else if (op === '<' || op === '<=') {
      out.push({ ...(open ?? {}), end: version, endInclusive: op === '<=' });
      open = null;
    }
  }
  if (open) out.push(open);
  return out;
}
