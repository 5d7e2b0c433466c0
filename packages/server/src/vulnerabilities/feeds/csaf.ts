import { cpeKey, purlKeys } from '../identifiers.js';
import { type AffectedEntry, describeIntervals, type VersionInterval } from '../ranges.js';
import { schemeOfPurlType } from '../versions/index.js';
import { clip, identifierProblem, isRecord, list, printable, record, stringOr } from './input.js';
import { cvssScore } from './nvd.js';
import {
  cpeComponentKeyOrNull,
  cpeOrNull,
  FeedFormatError,
  isoOrNull,
  RECORD_LIMITS,
  ratingOf,
  text,
  type VulnerabilityRecord,
} from './record.js';

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
  const document = record(doc.document);
  const tracking = record(document.tracking);
  if (document.csaf_version !== '2.0' || typeof tracking.id !== 'string')
    throw new FeedFormatError('not a CSAF 2.0 document (document.csaf_version, document.tracking.id)');
  const trackingId = tracking.id;
  const badId = identifierProblem(trackingId, RECORD_LIMITS.id);
  if (badId) throw new FeedFormatError(`CSAF tracking id ${printable(trackingId)}: ${badId}`);
  const modified = isoOrNull(tracking.current_release_date);
  if (!modified) throw new FeedFormatError(`${trackingId}: tracking.current_release_date is missing`);
  const skipped: string[] = [];
  const products = new Map<string, Product>();
  walkProducts(record(doc.product_tree), products, skipped);
  const records: VulnerabilityRecord[] = [];
  for (const [index, item] of list(doc.vulnerabilities).entries()) {
    const v = record(item);
    const ids = list(v.ids)
      .map((i) => record(i).text)
      .filter((t): t is string => typeof t === 'string' && identifierProblem(t, RECORD_LIMITS.id) === null);
    const cve =
      typeof v.cve === 'string' && identifierProblem(v.cve, RECORD_LIMITS.id) === null ? v.cve : null;
    // The supplier's statement about a CVE is its own record (`BSI-2022-0001/CVE-2022-27193`),
    // next to NVD's record of the same CVE; the CVE is an alias, so both count as one vulnerability.
    const named = cve ?? ids[0] ?? `${index + 1}`;
    const id = clip(`${trackingId}/${named}`, RECORD_LIMITS.id);
    const status = record(v.product_status);
    const affectedIds = ['known_affected', 'first_affected', 'last_affected', 'under_investigation']
      .flatMap((k) => list(status[k]))
      .filter((p): p is string => typeof p === 'string');
    const byKey = new Map<string, AffectedEntry>();
    for (const productId of new Set(affectedIds)) {
      const product = products.get(productId);
      const entry = product ? entryOf(product) : null;
      if (!entry) {
        skipped.push(`${id}: product ${printable(productId)} has no purl or CPE to match`);
        continue;
      }
      const existing = byKey.get(entry.key);
      if (existing) {
        existing.intervals.push(...entry.intervals);
        existing.versions.push(...entry.versions);
      } else byKey.set(entry.key, entry);
    }
    for (const entry of byKey.values()) entry.summary = describeIntervals(entry.intervals, entry.versions);
    const cvss = list(v.scores)
      .map((s) => record(record(s).cvss_v3))
      .find((c) => cvssScore(c.baseScore) !== null);
    const score = cvss ? cvssScore(cvss.baseScore) : null;
    const rating = stringOr(cvss?.baseSeverity, null);
    const vector = stringOr(cvss?.vectorString, null);
    const notes = list(v.notes).map(record);
    const description = text(notes.find((n) => n.category === 'description')?.text ?? notes[0]?.text);
    records.push({
      id,
      source: 'csaf',
      modified,
      published: isoOrNull(tracking.initial_release_date),
      withdrawn: null,
      summary: text(v.title, 300) || text(document.title, 300),
      details: description,
      aliases: [...new Set([...(cve ? [cve] : []), ...ids].filter((a) => a !== id))],
      severity: {
        rating:
          rating !== null && identifierProblem(rating, 20) === null ? rating.toLowerCase() : ratingOf(score),
        score,
        vector: vector !== null && identifierProblem(vector, 200) === null ? vector : null,
      },
      references: [],
      affected: [...byKey.values()],
    });
  }
  return { records, skipped };
}

/**
 * Products from the tree's branches (CSAF 3.1.2.3) and full_product_names. Only clean strings
 * count: a product whose id, purl, CPE or version is not one is reported and left out, so it
 * cannot match.
 */
function walkProducts(tree: Record<string, unknown>, out: Map<string, Product>, skipped: string[]): void {
  // Nesting is bounded by the document check (MAX_DEPTH) before any parser runs.
  const visit = (branches: unknown, path: { version?: string; versionRange?: string }): void => {
    for (const b of list(branches)) {
      const branch = record(b);
      const next = { ...path };
      const name = stringOr(branch.name, '');
      if (name && identifierProblem(name, RECORD_LIMITS.version) === null) {
        if (branch.category === 'product_version') next.version = name;
        if (branch.category === 'product_version_range') next.versionRange = name;
      }
      if (isRecord(branch.product)) addProduct(branch.product, next, out, skipped);
      visit(branch.branches, next);
    }
  };
  visit(tree.branches, {});
  for (const p of list(tree.full_product_names)) if (isRecord(p)) addProduct(p, {}, out, skipped);
}

function addProduct(
  p: Record<string, unknown>,
  path: { version?: string; versionRange?: string },
  out: Map<string, Product>,
  skipped: string[],
): void {
  if (typeof p.product_id !== 'string') return;
  const helper = record(p.product_identification_helper);
  const purl = stringOr(helper.purl, '');
  const cpe = stringOr(helper.cpe, '');
  const bad =
    identifierProblem(p.product_id, RECORD_LIMITS.id) ??
    identifierProblem(purl, RECORD_LIMITS.purl) ??
    identifierProblem(cpe, RECORD_LIMITS.cpe);
  if (bad) {
    skipped.push(`product ${printable(p.product_id)}: ${bad}`);
    return;
  }
  out.set(p.product_id, {
    id: p.product_id,
    name: typeof p.name === 'string' ? p.name : p.product_id,
    ...(purl ? { purl } : {}),
    ...(cpe ? { cpe } : {}),
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
    const cpe = cpeOrNull(product.cpe);
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
    const key = cpeComponentKeyOrNull(product.cpe);
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
