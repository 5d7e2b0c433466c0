import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import type { Outbox } from '../notifications/outbox.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { recordNewExposures, recordNewlyExploited } from './exposure-events.js';
import { parseFeedDocument } from './feeds/detect.js';
import { FeedFormatError, type VulnerabilityRecord } from './feeds/record.js';
import { documentsOf } from './feeds/unpack.js';
import type { Matcher } from './matching.js';
import { storeKnownExploited, storeRecords } from './records.js';
import type { ReportCaseService } from './report-cases.js';

export interface ImportReport {
  documents: number;
  records: { created: number; updated: number; unchanged: number };
  knownExploited: { total: number; added: number } | null;
  matches: { added: number; removed: number };
  reportCasesOpened: number;
  /** Per document: why it or part of it was not imported. */
  problems: Array<{ document: string; message: string }>;
  skipped: number;
}

/** Imports vulnerability documents, then matches what changed against every stored SBOM. */
export class VulnerabilityService {
  readonly #outbox: Outbox;
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #matcher: Matcher;
  readonly #reportCases: ReportCaseService;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    matcher: Matcher;
    reportCases: ReportCaseService;
    outbox: Outbox;
  }) {
    this.#outbox = deps.outbox;
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#matcher = deps.matcher;
    this.#reportCases = deps.reportCases;
  }

  /**
   * Each document is parsed on its own: a broken one is reported by name and the others still
   * go in. Everything that parses is written and matched in one transaction.
   */
  async import(actor: string, documents: Array<{ name: string; content: unknown }>): Promise<ImportReport> {
    const report: ImportReport = {
      documents: documents.length,
      records: { created: 0, updated: 0, unchanged: 0 },
      knownExploited: null,
      matches: { added: 0, removed: 0 },
      reportCasesOpened: 0,
      problems: [],
      skipped: 0,
    };
    const records: VulnerabilityRecord[] = [];
    const kev: Array<{ catalogVersion: string; entries: Parameters<typeof storeKnownExploited>[3] }> = [];
    for (const doc of documents) {
      try {
        const parsed = parseFeedDocument(doc.content);
        if (parsed.kind === 'kev')
          kev.push({ catalogVersion: parsed.catalogVersion, entries: parsed.entries });
        else {
          records.push(...parsed.records);
          report.skipped += parsed.skipped.length;
          for (const s of parsed.skipped.slice(0, 5))
            report.problems.push({ document: doc.name, message: s });
        }
      } catch (error) {
        if (!(error instanceof FeedFormatError)) throw error;
        report.problems.push({ document: doc.name, message: error.message });
      }
    }
    await inTransaction(this.#db, async (trx) => {
      const announced = new Set<string>();
      const counts = await storeRecords(trx, this.#clock, records);
      report.records = { created: counts.created, updated: counts.updated, unchanged: counts.unchanged };
      if (counts.changedIds.length > 0) {
        const result = await this.#matcher.matchRecords(trx, counts.changedIds);
        report.matches = { added: result.added.length, removed: result.removed };
        report.reportCasesOpened += await this.#reportCases.openForKnownExploited(trx, result.added);
        await recordNewExposures(this.#outbox, trx, result.added, { seen: announced });
      }
      for (const catalog of kev) {
        const stored = await storeKnownExploited(trx, this.#clock, catalog.catalogVersion, catalog.entries);
        report.knownExploited = { total: stored.total, added: stored.added.length };
        report.reportCasesOpened += await this.#reportCases.openForNewlyExploited(trx, stored.added);
        await recordNewlyExploited(
          this.#outbox,
          trx,
          stored.added,
          announced,
          this.#clock.now().toISOString(),
        );
      }
      if (counts.created + counts.updated > 0 || kev.length > 0)
        await this.#audit.append(trx, PLATFORM_CHAIN, {
          actor,
          action: 'vulnerabilities.import',
          targetType: 'vulnerability-data',
          targetId: 'feeds',
          details: {
            documents: documents.length,
            ...report.records,
            knownExploited: report.knownExploited,
            matchesAdded: report.matches.added,
          },
        });
    });
    return report;
  }

  /**
   * Fetches each configured feed and imports what it holds. A feed that cannot be reached or read
   * is reported and the others still go in.
   */
  async sync(
    actor: string,
    feeds: string[],
    fetcher: typeof fetch = fetch,
  ): Promise<ImportReport & { feeds: Array<{ url: string; ok: boolean; message: string }> }> {
    const feedResults: Array<{ url: string; ok: boolean; message: string }> = [];
    const documents: Array<{ name: string; content: unknown }> = [];
    const problems: ImportReport['problems'] = [];
    for (const url of feeds) {
      try {
        const response = await fetcher(url, { signal: AbortSignal.timeout(300_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const bytes = new Uint8Array(await response.arrayBuffer());
        const read = await documentsOf(url, bytes);
        documents.push(...read.documents);
        problems.push(...read.problems);
        const ok = read.documents.length > 0 || read.problems.length === 0;
        feedResults.push({
          url,
          ok,
          message: ok
            ? `${read.documents.length} documents`
            : (read.problems[0]?.message ?? 'nothing readable'),
        });
      } catch (error) {
        feedResults.push({ url, ok: false, message: (error as Error).message });
        problems.push({ document: url, message: (error as Error).message });
      }
    }
    const report = await this.import(actor, documents);
    return { ...report, problems: [...problems, ...report.problems], feeds: feedResults };
  }

  /** Matches every record against every SBOM again and reports the difference. */
  async rematch(actor: string): Promise<{ added: number; removed: number; matches: number; ms: number }> {
    const started = performance.now();
    return inTransaction(this.#db, async (trx) => {
      const result = await this.#matcher.matchAll(trx);
      await this.#reportCases.openForKnownExploited(trx, result.added);
      await recordNewExposures(this.#outbox, trx, result.added);
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor,
        action: 'vulnerabilities.rematch',
        targetType: 'vulnerability-data',
        targetId: 'matches',
        details: { added: result.added.length, removed: result.removed },
      });
      return {
        added: result.added.length,
        removed: result.removed,
        matches: result.candidates,
        ms: Math.round(performance.now() - started),
      };
    });
  }
}
