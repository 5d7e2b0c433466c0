import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { notFound } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { Executor } from '../store/transaction.js';
import { chunks } from './chunks.js';
import { isCve, resolveVulnerability } from './records.js';
import {
  type Decision,
  effectiveStatus,
  exposedStatuses,
  type TriageStatus,
  toDecision,
} from './triage-status.js';

export interface ReleaseExposure {
  releaseId: string;
  version: string;
  status: TriageStatus;
  exposed: boolean;
  components: Array<{
    name: string;
    version: string | null;
    purl: string | null;
    cpe: string | null;
    matchedBy: string;
    affected: string;
    record: string;
  }>;
  devices: number;
  brands: Array<{ brandId: string | null; name: string | null; devices: number }>;
}

export interface VulnerabilityExposure {
  vulnerability: VulnerabilitySummary;
  products: Array<{
    productId: string;
    name: string;
    modelNumber: string;
    releases: ReleaseExposure[];
    devicesExposed: number;
  }>;
  devicesExposed: number;
  releasesExposed: number;
}

export interface VulnerabilitySummary {
  id: string;
  records: Array<{ id: string; source: string; summary: string; modified: string; withdrawn: string | null }>;
  aliases: string[];
  severity: { rating: string | null; score: number | null; vector: string | null };
  knownExploited: {
    cveId: string;
    dateAdded: string;
    dueDate: string | null;
    name: string;
    ransomware: string;
    requiredAction: string;
  } | null;
  summary: string;
  /** The most specific record's full description (NVD description, OSV details). */
  description: string;
  /** Reference URLs of the most specific record that has any. */
  references: string[];
}

/**
 * Fleet exposure: which releases carry a matched component, what triage says about them, and how
 * many devices in the field run them (firmware_version = release version, same product).
 */
export class ExposureService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;

  constructor(deps: { db: Kysely<Database>; clock: Clock }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
  }

  async summary(name: string, db: Executor = this.#db): Promise<VulnerabilitySummary> {
    const resolved = await resolveVulnerability(db, name);
    if (!resolved) throw notFound('vulnerability', name);
    const canonical = resolved.canonicalId;
    const memberships = new Map<string, number>();
    for (const g of await db
      .selectFrom('vulnerability_groups')
      .select(['vuln_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('vuln_id', 'in', resolved.recordIds)
      .groupBy('vuln_id')
      .execute())
      memberships.set(g.vuln_id, Number(g.n));
    // The record named like the vulnerability first, then records about it alone, then notices
    // that cover several vulnerabilities: severity and summary come from the most specific one.
    const rank = (id: string): number => (id === canonical ? 0 : (memberships.get(id) ?? 1) === 1 ? 1 : 2);
    const records = (
      await db.selectFrom('vulnerabilities').selectAll().where('id', 'in', resolved.recordIds).execute()
    ).sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
    // A notice covering several vulnerabilities adds only its own id: its other CVEs are not
    // other names of this one.
    const aliases = [
      ...new Set([
        canonical,
        ...records.flatMap((r) => (rank(r.id) < 2 ? [r.id, ...(JSON.parse(r.aliases) as string[])] : [r.id])),
      ]),
    ].filter((a) => !isCve(a) || a === canonical);
    const kev = isCve(canonical)
      ? await db.selectFrom('known_exploited').selectAll().where('cve_id', '=', canonical).executeTakeFirst()
      : undefined;
    const scored =
      records.find((r) => r.severity_score !== null) ?? records.find((r) => r.severity_rating !== null);
    return {
      id: resolved.canonicalId,
      records: records.map((r) => ({
        id: r.id,
        source: r.source,
        summary: r.summary,
        modified: r.modified,
        withdrawn: r.withdrawn,
      })),
      aliases: aliases.filter((a) => a !== resolved.canonicalId),
      severity: {
        rating: scored?.severity_rating ?? null,
        score:
          scored?.severity_score === null || scored?.severity_score === undefined
            ? null
            : Number(scored.severity_score),
        vector: scored?.severity_vector ?? null,
      },
      knownExploited: kev
        ? {
            cveId: kev.cve_id,
            dateAdded: kev.date_added,
            dueDate: kev.due_date,
            name: kev.name,
            ransomware: kev.ransomware,
            requiredAction: kev.required_action,
          }
        : null,
      summary: records.find((r) => r.summary)?.summary ?? '',
      description: records.find((r) => r.details)?.details ?? '',
      references: referencesOf(
        records.find((r) => r.reference_urls && r.reference_urls !== '[]')?.reference_urls,
      ),
    };
  }

  async decisions(orgId: string, canonicalId: string, db: Executor = this.#db): Promise<Decision[]> {
    const rows = await db
      .selectFrom('vex_decisions')
      .leftJoin('releases', 'releases.id', 'vex_decisions.fixed_release_id')
      .selectAll('vex_decisions')
      .select('releases.version as fixed_version')
      .where('vex_decisions.org_id', '=', orgId)
      .where('vex_decisions.vuln_id', '=', canonicalId)
      .orderBy('vex_decisions.id')
      .execute();
    return rows.map(toDecision);
  }

  /** "Which of our devices are exposed to CVE-X?" */
  async exposure(orgId: string, name: string, db: Executor = this.#db): Promise<VulnerabilityExposure> {
    const vulnerability = await this.summary(name, db);
    const recordIds = vulnerability.records.map((r) => r.id);
    const matches = await db
      .selectFrom('vulnerability_matches as m')
      .innerJoin('sboms as s', 's.id', 'm.sbom_id')
      .innerJoin('releases as r', 'r.id', 's.release_id')
      .innerJoin('sbom_components as c', (j) =>
        j.onRef('c.sbom_id', '=', 'm.sbom_id').onRef('c.idx', '=', 'm.component_idx'),
      )
      .select([
        'r.id as release_id',
        'r.version',
        'r.product_id',
        'c.name',
        'c.version as component_version',
        'c.purl',
        'c.cpe',
        'm.matched_by',
        'm.affected_summary',
        'm.vuln_id',
      ])
      .where('m.org_id', '=', orgId)
      .where('m.vuln_id', 'in', recordIds)
      .execute();
    const decisions = await this.decisions(orgId, vulnerability.id, db);
    const releases = new Map<string, ReleaseExposure & { productId: string }>();
    for (const m of matches) {
      let release = releases.get(m.release_id);
      if (!release) {
        const { status } = effectiveStatus(
          { id: m.release_id, productId: m.product_id, version: m.version },
          decisions,
        );
        release = {
          releaseId: m.release_id,
          productId: m.product_id,
          version: m.version,
          status,
          exposed: exposedStatuses.has(status),
          components: [],
          devices: 0,
          brands: [],
        };
        releases.set(m.release_id, release);
      }
      if (
        !release.components.some(
          (c) => c.name === m.name && c.version === m.component_version && c.record === m.vuln_id,
        )
      )
        release.components.push({
          name: m.name,
          version: m.component_version,
          purl: m.purl,
          cpe: m.cpe,
          matchedBy: m.matched_by,
          affected: m.affected_summary,
          record: m.vuln_id,
        });
    }
    // Releases that triage names but that no longer match (fixed by an upgrade) are not exposed.
    for (const release of releases.values()) {
      const rows = await db
        .selectFrom('devices')
        .leftJoin('brands', 'brands.id', 'devices.brand_id')
        .select(['devices.brand_id', 'brands.name', (eb) => eb.fn.countAll<number>().as('n')])
        .where('devices.org_id', '=', orgId)
        .where('devices.product_id', '=', release.productId)
        .where('devices.firmware_version', '=', release.version)
        .where('devices.deleted_at', 'is', null)
        .groupBy(['devices.brand_id', 'brands.name'])
        .execute();
      release.brands = rows.map((r) => ({ brandId: r.brand_id, name: r.name, devices: Number(r.n) }));
      release.devices = release.brands.reduce((n, b) => n + b.devices, 0);
    }
    const productIds = [...new Set([...releases.values()].map((r) => r.productId))];
    const products = productIds.length
      ? await db
          .selectFrom('products')
          .select(['id', 'name', 'model_number'])
          .where('org_id', '=', orgId)
          .where('id', 'in', productIds)
          .execute()
      : [];
    const out = products.map((p) => {
      const list = [...releases.values()]
        .filter((r) => r.productId === p.id)
        .map(({ productId: _, ...r }) => r);
      list.sort((a, b) => (a.version < b.version ? -1 : 1));
      return {
        productId: p.id,
        name: p.name,
        modelNumber: p.model_number,
        releases: list,
        devicesExposed: list.filter((r) => r.exposed).reduce((n, r) => n + r.devices, 0),
      };
    });
    return {
      vulnerability,
      products: out,
      devicesExposed: out.reduce((n, p) => n + p.devicesExposed, 0),
      releasesExposed: [...releases.values()].filter((r) => r.exposed).length,
    };
  }

  /** The devices running an exposed release, for remediation and the coverage record. */
  async exposedDevices(
    orgId: string,
    name: string,
    db: Executor = this.#db,
  ): Promise<Array<{ deviceId: string; releaseId: string; productId: string }>> {
    const exposure = await this.exposure(orgId, name, db);
    const out: Array<{ deviceId: string; releaseId: string; productId: string }> = [];
    for (const product of exposure.products)
      for (const release of product.releases.filter((r) => r.exposed)) {
        const rows = await db
          .selectFrom('devices')
          .select('id')
          .where('org_id', '=', orgId)
          .where('product_id', '=', product.productId)
          .where('firmware_version', '=', release.version)
          .where('deleted_at', 'is', null)
          .execute();
        out.push(
          ...rows.map((r) => ({
            deviceId: r.id,
            releaseId: release.releaseId,
            productId: product.productId,
          })),
        );
      }
    return out;
  }

  /**
   * Brings the exposure record up to date: devices newly exposed are added, devices no longer
   * exposed (updated, or triage says not affected) get their fixed time. Patch coverage over time
   * is read from these two times.
   */
  async refreshCoverage(orgId: string, name: string): Promise<void> {
    const summary = await this.summary(name);
    const current = await this.exposedDevices(orgId, name);
    const now = this.#clock.now().toISOString();
    const stored = await this.#db
      .selectFrom('device_exposures')
      .select(['device_id', 'fixed_at'])
      .where('org_id', '=', orgId)
      .where('vuln_id', '=', summary.id)
      .execute();
    const storedMap = new Map(stored.map((r) => [r.device_id, r.fixed_at]));
    const currentIds = new Set(current.map((d) => d.deviceId));
    const fresh = current.filter((d) => !storedMap.has(d.deviceId));
    for (const part of chunks(fresh, 300))
      await this.#db
        .insertInto('device_exposures')
        .values(
          part.map((d) => ({
            org_id: orgId,
            vuln_id: summary.id,
            device_id: d.deviceId,
            release_id: d.releaseId,
            first_exposed_at: now,
            fixed_at: null,
          })),
        )
        .execute();
    const reopened = current
      .filter((d) => storedMap.has(d.deviceId) && storedMap.get(d.deviceId) !== null)
      .map((d) => d.deviceId);
    for (const part of chunks(reopened))
      await this.#db
        .updateTable('device_exposures')
        .set({ fixed_at: null })
        .where('org_id', '=', orgId)
        .where('vuln_id', '=', summary.id)
        .where('device_id', 'in', part)
        .execute();
    const closed = stored
      .filter((r) => r.fixed_at === null && !currentIds.has(r.device_id))
      .map((r) => r.device_id);
    for (const part of chunks(closed))
      await this.#db
        .updateTable('device_exposures')
        .set({ fixed_at: now })
        .where('org_id', '=', orgId)
        .where('vuln_id', '=', summary.id)
        .where('device_id', 'in', part)
        .execute();
  }

  /** Share of the devices ever exposed that are fixed, now and at each change. */
  async coverage(
    orgId: string,
    name: string,
  ): Promise<{
    vulnerabilityId: string;
    exposedNow: number;
    fixed: number;
    coverage: number | null;
    series: Array<{ at: string; exposedEver: number; fixed: number; coverage: number }>;
  }> {
    await this.refreshCoverage(orgId, name);
    const summary = await this.summary(name);
    const rows = await this.#db
      .selectFrom('device_exposures')
      .select(['first_exposed_at', 'fixed_at'])
      .where('org_id', '=', orgId)
      .where('vuln_id', '=', summary.id)
      .execute();
    const events = new Map<string, { exposed: number; fixed: number }>();
    for (const r of rows) {
      const e = events.get(r.first_exposed_at) ?? { exposed: 0, fixed: 0 };
      e.exposed++;
      events.set(r.first_exposed_at, e);
      if (r.fixed_at) {
        const f = events.get(r.fixed_at) ?? { exposed: 0, fixed: 0 };
        f.fixed++;
        events.set(r.fixed_at, f);
      }
    }
    let exposedEver = 0;
    let fixed = 0;
    const series = [...events.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([at, e]) => {
        exposedEver += e.exposed;
        fixed += e.fixed;
        return { at, exposedEver, fixed, coverage: exposedEver ? fixed / exposedEver : 0 };
      });
    const fixedNow = rows.filter((r) => r.fixed_at !== null).length;
    return {
      vulnerabilityId: summary.id,
      exposedNow: rows.length - fixedNow,
      fixed: fixedNow,
      coverage: rows.length ? fixedNow / rows.length : null,
      series: series.slice(-500),
    };
  }
}

export interface ReleaseVulnerability {
  id: string;
  status: TriageStatus;
  severity: { rating: string | null; score: number | null; vector: string | null };
  knownExploited: boolean;
  summary: string;
  matches: Array<{
    record: string;
    component: string;
    version: string | null;
    matchedBy: string;
    affected: string;
    since: string;
  }>;
}

/**
 * The vulnerabilities matched in one release, each with its effective triage status: most
 * urgent first (known exploited, then by CVSS score).
 */
export async function releaseVulnerabilities(
  db: Kysely<Database>,
  exposure: ExposureService,
  orgId: string,
  release: { id: string; productId: string; version: string },
): Promise<ReleaseVulnerability[]> {
  const rows = await db
    .selectFrom('vulnerability_matches as m')
    .innerJoin('sboms as s', 's.id', 'm.sbom_id')
    .innerJoin('vulnerability_groups as v', 'v.vuln_id', 'm.vuln_id')
    .innerJoin('sbom_components as c', (j) =>
      j.onRef('c.sbom_id', '=', 'm.sbom_id').onRef('c.idx', '=', 'm.component_idx'),
    )
    .select([
      'v.canonical_id',
      'm.vuln_id as record',
      'c.name',
      'c.version',
      'm.matched_by',
      'm.affected_summary',
      'm.first_matched_at',
    ])
    .where('m.org_id', '=', orgId)
    .where('s.release_id', '=', release.id)
    .orderBy('v.canonical_id')
    .execute();
  const byId = new Map<string, ReleaseVulnerability>();
  for (const r of rows) {
    let entry = byId.get(r.canonical_id);
    if (!entry) {
      const summary = await exposure.summary(r.canonical_id);
      const { status } = effectiveStatus(release, await exposure.decisions(orgId, summary.id));
      entry = {
        id: summary.id,
        status,
        severity: summary.severity,
        knownExploited: summary.knownExploited !== null,
        summary: summary.summary,
        matches: [],
      };
      byId.set(r.canonical_id, entry);
    }
    entry.matches.push({
      record: r.record,
      component: r.name,
      version: r.version,
      matchedBy: r.matched_by,
      affected: r.affected_summary,
      since: r.first_matched_at,
    });
  }
  return [...byId.values()].sort(
    (a, b) =>
      Number(b.knownExploited) - Number(a.knownExploited) ||
      (b.severity.score ?? 0) - (a.severity.score ?? 0) ||
      (a.id < b.id ? -1 : 1),
  );
}

export interface DeviceVulnerability {
  id: string;
  status: TriageStatus;
  severity: { rating: string | null; score: number | null };
  knownExploited: boolean;
  summary: string;
  components: Array<{ name: string; version: string | null }>;
}

/** Open vulnerabilities of one device: those of the release it runs, minus what triage closed. */
export async function deviceVulnerabilities(
  db: Kysely<Database>,
  exposure: ExposureService,
  orgId: string,
  device: { productId: string; firmwareVersion: string | null },
): Promise<{ releaseId: string | null; vulnerabilities: DeviceVulnerability[] }> {
  if (!device.firmwareVersion) return { releaseId: null, vulnerabilities: [] };
  const release = await db
    .selectFrom('releases')
    .select(['id', 'version', 'product_id'])
    .where('org_id', '=', orgId)
    .where('product_id', '=', device.productId)
    .where('version', '=', device.firmwareVersion)
    .executeTakeFirst();
  if (!release) return { releaseId: null, vulnerabilities: [] };
  const all = await releaseVulnerabilities(db, exposure, orgId, {
    id: release.id,
    productId: release.product_id,
    version: release.version,
  });
  return {
    releaseId: release.id,
    vulnerabilities: all
      .filter((v) => exposedStatuses.has(v.status))
      .map((v) => ({
        id: v.id,
        status: v.status,
        severity: { rating: v.severity.rating, score: v.severity.score },
        knownExploited: v.knownExploited,
        summary: v.summary,
        components: [
          ...new Map(
            v.matches.map((m) => [
              `${m.component}\u0000${m.version}`,
              { name: m.component, version: m.version },
            ]),
          ).values(),
        ],
      })),
  };
}

/**
 * The stored reference list (a JSON array of URLs), tolerant of an absent or odd value. Only
 * http(s) URLs leave: a feed is outside our control, and a `javascript:` or `data:` reference
 * must never become a link in a client.
 */
function referencesOf(stored: string | undefined): string[] {
  if (!stored) return [];
  try {
    const list: unknown = JSON.parse(stored);
    return Array.isArray(list)
      ? list.filter((u): u is string => typeof u === 'string' && /^https?:\/\//i.test(u))
      : [];
  } catch {
    return [];
  }
}
