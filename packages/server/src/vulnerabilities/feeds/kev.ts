import { clip, identifierProblem, isRecord, printable, stringOr } from './input.js';
import { FeedFormatError, type KnownExploited } from './record.js';

/**
 * CISA KEV catalog (known_exploited_vulnerabilities_schema.json). Entries without a CVE id are
 * left out, as before; text that is not a string is read as empty, never through `String()`
 * (`{"toString": 1}` makes that throw).
 */
export function parseKev(doc: Record<string, unknown>): {
  catalogVersion: string;
  entries: KnownExploited[];
} {
  if (!Array.isArray(doc.vulnerabilities)) throw new FeedFormatError('KEV catalog without "vulnerabilities"');
  const catalogVersion = stringOr(doc.catalogVersion, '');
  const bad = identifierProblem(catalogVersion, 100);
  if (bad) throw new FeedFormatError(`KEV catalogVersion ${printable(catalogVersion)}: ${bad}`);
  const entries: KnownExploited[] = [];
  for (const item of doc.vulnerabilities) {
    if (!isRecord(item)) continue;
    const v = item;
    if (typeof v.cveID !== 'string' || !/^CVE-\d{4}-\d{4,}$/.test(v.cveID) || v.cveID.length > 200) continue;
    entries.push({
      cveId: v.cveID,
      vendor: clip(stringOr(v.vendorProject, ''), 200),
      product: clip(stringOr(v.product, ''), 200),
      name: clip(stringOr(v.vulnerabilityName, ''), 500),
      dateAdded: dateOr(v.dateAdded, ''),
      dueDate: dateOr(v.dueDate, null),
      ransomware: clip(stringOr(v.knownRansomwareCampaignUse, 'Unknown'), 50),
      requiredAction: clip(stringOr(v.requiredAction, ''), 2000),
    });
  }
  return { catalogVersion, entries };
}

/** KEV dates are `YYYY-MM-DD` (the catalog's schema, format "date"). */
function dateOr<T>(value: unknown, fallback: T): string | T {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : fallback;
}
