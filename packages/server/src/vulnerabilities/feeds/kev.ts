import { FeedFormatError, type KnownExploited } from './record.js';

/** CISA KEV catalog (known_exploited_vulnerabilities_schema.json). */
export function parseKev(doc: Record<string, unknown>): {
  catalogVersion: string;
  entries: KnownExploited[];
} {
  if (!Array.isArray(doc.vulnerabilities)) throw new FeedFormatError('KEV catalog without "vulnerabilities"');
  const entries: KnownExploited[] = [];
  for (const item of doc.vulnerabilities) {
    const v = item as Record<string, unknown>;
    if (typeof v?.cveID !== 'string' || !/^CVE-\d{4}-\d{4,}$/.test(v.cveID)) continue;
    entries.push({
      cveId: v.cveID,
      vendor: String(v.vendorProject ?? '').slice(0, 200),
      product: String(v.product ?? '').slice(0, 200),
      name: String(v.vulnerabilityName ?? '').slice(0, 500),
      dateAdded: String(v.dateAdded ?? ''),
      dueDate: typeof v.dueDate === 'string' ? v.dueDate : null,
      ransomware: String(v.knownRansomwareCampaignUse ?? 'Unknown'),
      requiredAction: String(v.requiredAction ?? '').slice(0, 2000),
    });
  }
  return { catalogVersion: String(doc.catalogVersion ?? ''), entries };
}
