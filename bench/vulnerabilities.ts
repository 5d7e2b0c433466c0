/**
 * Vulnerability matching at fleet scale (vulnerabilities issue): 1,000 SBOMs of 300 components
 * against 200,000 records shaped like the real ones in ../shared/data (OSV with SEMVER and
 * ECOSYSTEM ranges, `last_affected`, explicit `versions`; NVD with CPE ranges), through the same
 * services the API uses, on SQLite (the embedded default) or PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, createApp } from '../packages/server/src/app.js';
import { newId } from '../packages/server/src/ids.js';
import { SecretBox } from '../packages/server/src/secrets/master-key.js';
import type { ReleasesTable } from '../packages/server/src/store/schema.js';
import { inTransaction } from '../packages/server/src/store/transaction.js';

export interface VulnerabilityBench {
  sboms: number;
  components: number;
  records: number;
  importSeconds: number;
  fullMatchMs: number;
  matches: number;
  incrementalRecordsMs: number;
  incrementalImportMs: number;
  incrementalSbomMs: number;
  peakRssMiB: number;
  dialect: string;
}

/** A small deterministic generator, so every run matches the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ecosystems = [
  { osv: 'npm', purl: 'npm', share: 0.35 },
  { osv: 'PyPI', purl: 'pypi', share: 0.2 },
  { osv: 'Go', purl: 'golang', share: 0.1 },
  { osv: 'Maven', purl: 'maven', share: 0.1 },
  { osv: 'Debian:12', purl: 'deb', share: 0.1 },
  { osv: 'cpe', purl: 'cpe', share: 0.15 },
] as const;

/**
 * Records name packages from a vulnerable subset of each ecosystem (as advisory databases do);
 * SBOM components come from a larger pool, a quarter of them from that subset (old, popular
 * libraries), so roughly one component in ten matches a record.
 */
const VULNERABLE_PACKAGES = 8_000;
const ALL_PACKAGES = 60_000;
const componentPackage = (r: () => number): number =>
  r() < 0.25
    ? Math.floor(r() * VULNERABLE_PACKAGES)
    : VULNERABLE_PACKAGES + Math.floor(r() * (ALL_PACKAGES - VULNERABLE_PACKAGES));

function packageName(
  eco: (typeof ecosystems)[number],
  i: number,
): { osvName: string; purl: (v: string) => string; cpe: (v: string) => string } {
  const base = `pkg${i}`;
  switch (eco.purl) {
    case 'maven':
      return {
        osvName: `org.example${i % 50}:${base}`,
        purl: (v) => `pkg:maven/org.example${i % 50}/${base}@${v}`,
        cpe: () => '',
      };
    case 'golang':
      return {
        osvName: `github.com/example${i % 50}/${base}`,
        purl: (v) => `pkg:golang/github.com/example${i % 50}/${base}@v${v}`,
        cpe: () => '',
      };
    case 'deb':
      return { osvName: base, purl: (v) => `pkg:deb/debian/${base}@${v}-1?distro=debian-12`, cpe: () => '' };
    case 'cpe':
      return {
        osvName: base,
        purl: () => '',
        cpe: (v) => `cpe:2.3:a:vendor${i % 100}:${base}:${v}:*:*:*:*:*:*:*`,
      };
    default:
      return { osvName: base, purl: (v) => `pkg:${eco.purl}/${base}@${v}`, cpe: () => '' };
  }
}

const version = (r: () => number): string =>
  `${Math.floor(r() * 5)}.${Math.floor(r() * 20)}.${Math.floor(r() * 10)}`;

function pickEcosystem(r: () => number): (typeof ecosystems)[number] {
  let x = r();
  for (const e of ecosystems) {
    if (x < e.share) return e;
    x -= e.share;
  }
  return ecosystems[0];
}

/** One record in the shape of the source it imitates. */
function record(r: () => number, id: string, modified: string): unknown {
  const eco = pickEcosystem(r);
  const pkg = packageName(eco, Math.floor(r() * VULNERABLE_PACKAGES));
  const fixed = version(r);
  if (eco.purl === 'cpe') {
    return {
      id,
      lastModified: modified,
      published: modified,
      descriptions: [{ lang: 'en', value: `Synthetic CPE record ${id}.` }],
      configurations: [
        {
          nodes: [
            {
              operator: 'OR',
              negate: false,
              cpeMatch: [
                {
                  vulnerable: true,
                  criteria: pkg.cpe('*'),
                  versionStartIncluding: '0.1.0',
                  versionEndExcluding: fixed,
                },
              ],
            },
          ],
        },
      ],
    };
  }
  const events: Array<Record<string, string>> = [{ introduced: r() < 0.6 ? '0' : version(r) }];
  if (r() < 0.15) events.push({ last_affected: fixed });
  else events.push({ fixed });
  return {
    schema_version: '1.6.0',
    id,
    modified,
    published: modified,
    aliases: [`CVE-2099-${id.slice(-7)}`],
    summary: `Synthetic ${eco.osv} record`,
    affected: [
      {
        package: { ecosystem: eco.osv, name: pkg.osvName },
        ranges: [{ type: eco.osv === 'Go' || eco.osv === 'npm' ? 'SEMVER' : 'ECOSYSTEM', events }],
        ...(r() < 0.1 ? { versions: [version(r), version(r)] } : {}),
      },
    ],
  };
}

function sbom(r: () => number, components: number): unknown {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    version: 1,
    components: Array.from({ length: components }, (_, i) => {
      const eco = pickEcosystem(r);
      const pkg = packageName(eco, componentPackage(r));
      const v = version(r);
      return eco.purl === 'cpe'
        ? { type: 'library', name: `c${i}`, version: v, cpe: pkg.cpe(v) }
        : { type: 'library', name: `c${i}`, version: v, purl: pkg.purl(v) };
    }),
  };
}

/** A release row written directly: signing releases is not what this bench measures. */
function benchRelease(id: string, orgId: string, productId: string, version: string): ReleasesTable {
  return {
    id,
    org_id: orgId,
    product_id: productId,
    version,
    kind: 'feature',
    security_version: 1,
    hardware: '["A"]',
    notes: '',
    filename: 'fw.bin',
    target_path: `${productId}/${version}/fw.bin`,
    artifact_sha256: '0'.repeat(64),
    artifact_length: 1,
    sbom_sha256: null,
    status: 'draft',
    created_at: new Date().toISOString(),
    created_by: 'bench',
    published_at: null,
  };
}

export async function benchVulnerabilities(options: {
  database?: string;
  sboms?: number;
  components?: number;
  records?: number;
  log?: (line: string) => void;
}): Promise<VulnerabilityBench> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const SBOMS = options.sboms ?? 1000;
  const COMPONENTS = options.components ?? 300;
  const RECORDS = options.records ?? 200_000;
  const dir = mkdtempSync(join(tmpdir(), 'brickless-vuln-bench-'));
  let app: App | null = null;
  let peak = 0;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  try {
    app = await createApp({
      database: options.database ?? join(dir, 'bench.db'),
      secrets: SecretBox.random(),
      artifacts: join(dir, 'artifacts'),
    });
    const { services } = app;
    const org = await services.orgs.create('bench', { slug: 'bench', name: 'Bench GmbH' });
    const { product } = await services.products.create('bench', org.id, {
      modelNumber: 'B-1',
      name: 'Bench',
      hardwareRevision: 'A',
      supportEnds: '2035-01-01',
    } as never);
    const r = rng(42);
    // Releases are written directly: signing them is not what is measured here.
    const releaseIds: string[] = [];
    await inTransaction(services.store.db, async (trx) => {
      for (let i = 0; i < SBOMS; i++) {
        const id = newId('rel');
        releaseIds.push(id);
        await trx
          .insertInto('releases')
          .values(benchRelease(id, org.id, product.id, `1.${Math.floor(i / 100)}.${i % 100}`))
          .execute();
      }
    });
    log(`vulnerabilities: importing ${SBOMS} SBOMs × ${COMPONENTS} components`);
    for (const [i, releaseId] of releaseIds.entries()) {
      await services.sboms.import('bench', org.id, releaseId, sbom(r, COMPONENTS));
      if ((i + 1) % 200 === 0) log(`  ${i + 1} SBOMs`);
    }
    log(`vulnerabilities: importing ${RECORDS} records (each batch matched against the stored SBOMs)`);
    const started = performance.now();
    const BATCH = 5_000;
    for (let i = 0; i < RECORDS; i += BATCH) {
      const documents = Array.from({ length: Math.min(BATCH, RECORDS - i) }, (_, j) => {
        const n = i + j;
        const id =
          n % 7 === 6 ? `CVE-2098-${String(n).padStart(7, '0')}` : `GHSA-bench-${String(n).padStart(7, '0')}`;
        return { name: id, content: record(r, id, '2026-01-01T00:00:00Z') };
      });
      await services.vulnerabilities.import('bench', documents);
      if ((i + BATCH) % 50_000 === 0) log(`  ${i + BATCH} records`);
    }
    const importSeconds = (performance.now() - started) / 1000;

    // Full match from nothing: every component against every record, and every match written.
    await services.store.db.deleteFrom('vulnerability_matches').execute();
    const fullStart = performance.now();
    const full = await services.vulnerabilities.rematch('bench');
    const fullMatchMs = performance.now() - fullStart;
    log(`vulnerabilities: full match ${fullMatchMs.toFixed(0)} ms, ${full.added} matches`);

    // Incremental, new records: 1,000 new records matched against the 1,000 stored SBOMs.
    const fresh = Array.from({ length: 1000 }, (_, j) => {
      const id = `GHSA-new-${String(j).padStart(7, '0')}`;
      return { name: id, content: record(r, id, '2026-06-01T00:00:00Z') };
    });
    const importStart = performance.now();
    await services.vulnerabilities.import('bench', fresh);
    const incrementalImportMs = performance.now() - importStart;
    // The matching step alone, for the same 1,000 records (their matches are already stored,
    // so this recomputes and compares; the writes were part of the import above).
    const matchStart = performance.now();
    await inTransaction(services.store.db, (trx) =>
      services.matcher.matchRecords(
        trx,
        fresh.map((d) => d.name),
      ),
    );
    const incrementalRecordsMs = performance.now() - matchStart;

    // Incremental, new SBOM: one more 300-component SBOM against all 201,000 records.
    const extra = newId('rel');
    await services.store.db
      .insertInto('releases')
      .values(benchRelease(extra, org.id, product.id, '9.9.9'))
      .execute();
    const sbomStart = performance.now();
    await services.sboms.import('bench', org.id, extra, sbom(r, COMPONENTS));
    const incrementalSbomMs = performance.now() - sbomStart;
    peak = Math.max(peak, process.memoryUsage().rss);
    return {
      sboms: SBOMS,
      components: COMPONENTS,
      records: RECORDS,
      importSeconds,
      fullMatchMs,
      matches: full.added,
      incrementalRecordsMs,
      incrementalImportMs,
      incrementalSbomMs,
      peakRssMiB: peak / 1024 / 1024,
      dialect: services.store.dialect,
    };
  } finally {
    clearInterval(sample);
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
