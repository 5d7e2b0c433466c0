import { parseCsaf } from './csaf.js';
import { isRecord, jsonProblems, record } from './input.js';
import { parseKev } from './kev.js';
import { parseNvd } from './nvd.js';
import { parseOsv } from './osv.js';
import { FeedFormatError, type ParsedDocument, type VulnerabilityRecord } from './record.js';

/**
 * Recognises a feed document by its shape and parses it: OSV records, NVD CVE API 2.0 records
 * (one CVE, or an API response with `vulnerabilities[].cve`), the CISA KEV catalog and CSAF 2.0
 * advisories. Anything else is a FeedFormatError naming what was expected.
 */
export function parseFeedDocument(doc: unknown): ParsedDocument {
  if (!isRecord(doc))
    throw new FeedFormatError(
      'expected a JSON object (an OSV or NVD record, a KEV catalog or a CSAF advisory)',
    );
  // Before any parser reads it: finite numbers, clean text, bounded nesting (DESIGN.md input rules).
  const shape = jsonProblems(doc, 5);
  if (shape.length > 0) throw new FeedFormatError(`the document is refused: ${shape.join('; ')}`);
  const d = doc;
  if (typeof d.catalogVersion === 'string' && Array.isArray(d.vulnerabilities)) {
    const kev = parseKev(d);
    return { kind: 'kev', ...kev };
  }
  if (isRecord(d.document) && d.document.csaf_version !== undefined) {
    const { records, skipped } = parseCsaf(d);
    return { kind: 'records', format: 'csaf', records, skipped };
  }
  if (
    Array.isArray(d.vulnerabilities) &&
    d.vulnerabilities.some((v) => v && typeof v === 'object' && 'cve' in v)
  ) {
    const records: VulnerabilityRecord[] = [];
    const skipped: string[] = [];
    for (const [index, item] of d.vulnerabilities.entries()) {
      const cve = record(item).cve;
      if (!isRecord(cve)) {
        skipped.push(`vulnerabilities[${index}] holds no "cve" object`);
        continue;
      }
      try {
        const parsed = parseNvd(cve);
        records.push(parsed.record);
        skipped.push(...parsed.skipped);
      } catch (error) {
        if (!(error instanceof FeedFormatError)) throw error;
        skipped.push(error.message);
      }
    }
    return { kind: 'records', format: 'nvd', records, skipped };
  }
  if (isRecord(d.cve)) return nvdOne(d.cve);
  if (
    typeof d.id === 'string' &&
    /^CVE-/.test(d.id) &&
    (d.configurations !== undefined || d.descriptions !== undefined)
  )
    return nvdOne(d);
  if (
    typeof d.id === 'string' &&
    (d.modified !== undefined || d.affected !== undefined || d.schema_version !== undefined)
  ) {
    const { record, skipped } = parseOsv(d);
    return { kind: 'records', format: 'osv', records: [record], skipped };
  }
  throw new FeedFormatError(
    'not a known vulnerability format: expected an OSV record, an NVD CVE 2.0 record, the CISA KEV catalog or a CSAF 2.0 advisory',
  );
}

function nvdOne(cve: Record<string, unknown>): ParsedDocument {
  const { record, skipped } = parseNvd(cve);
  return { kind: 'records', format: 'nvd', records: [record], skipped };
}
