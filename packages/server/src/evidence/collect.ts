import type { Readable } from 'node:stream';
import { DomainError } from '../errors.js';
import type { Brand } from '../fleet/brands.js';
import type { Organization } from '../fleet/organizations.js';
import type { Product } from '../fleet/products.js';
import { type Metrics, securityMetrics } from '../metrics/metrics.js';
import type { Services } from '../services.js';
import type { Release } from '../updates/releases.js';
import { exportCycloneDx } from '../vulnerabilities/sbom/export.js';
import { exportSpdx } from '../vulnerabilities/sbom/export-spdx.js';
import { auditExcerpt } from './audit-excerpt.js';
import { type SecurityUpdateHistory, securityUpdateHistory } from './security-updates.js';

/**
 * Reads, for one product, what the evidence pack holds (issue 21 §1). Only data brickless
 * already keeps; nothing here is computed that the API does not also show, except the
 * per-vulnerability timeline, which joins triage decisions with the fixing release's dates.
 */
export interface EvidenceData {
  org: Organization;
  product: Product;
  brands: Brand[];
  releases: Release[];
  /** Set for a release pack: the one release it covers (then `releases` holds only it). */
  release: Release | null;
  sboms: Array<{ release: Release; files: Array<{ name: string; bytes: Buffer }> }>;
  updateMechanism: Record<string, unknown>;
  securityUpdates: SecurityUpdateHistory;
  /** Patch and support metrics over time (metrics/, issue 21 §4). */
  metrics: Metrics;
  cvd: Record<string, unknown>;
  reportCases: unknown[];
  audit: Record<string, unknown>;
}

const MAX_RELEASES = 1000;
const MAX_ONLINE_KEY_EVENTS = 1000;
const ONLINE_KEY_ACTIONS = [
  'updates.online-keys.create',
  'updates.online-keys.rotate-begin',
  'updates.online-keys.rotate',
] as const;
const ONLINE_KEY_EVENT: Record<(typeof ONLINE_KEY_ACTIONS)[number], string> = {
  'updates.online-keys.create': 'created',
  'updates.online-keys.rotate-begin': 'rotation begun',
  'updates.online-keys.rotate': 'rotated',
};

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

export async function collectEvidence(
  services: Services,
  orgId: string,
  productId: string,
  readSecurityTxt: (orgSlug: string) => Promise<string | null>,
  options: { releaseId?: string } = {},
): Promise<EvidenceData> {
  const org = await services.orgs.get(orgId);
  const product = await services.products.get(orgId, productId);
  const brands = await Promise.all(product.brandIds.map((id) => services.brands.get(orgId, id)));
  const allReleases = (
    await services.releases.list(orgId, { limit: MAX_RELEASES }, { productId })
  ).items.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  let release: Release | null = null;
  if (options.releaseId) {
    release = allReleases.find((r) => r.id === options.releaseId) ?? null;
    if (!release)
      throw new DomainError('not-found', `release ${options.releaseId} of this product not found`);
  }
  const releases = release ? [release] : allReleases;
  const securityUpdateData = await securityUpdateHistory(services, orgId, product, releases, allReleases);
  const productVulnerabilities = vulnerabilityIds(securityUpdateData);
  return {
    org,
    product,
    brands,
    releases,
    release,
    sboms: await sbomFiles(services, org, product, releases),
    updateMechanism: await updateMechanism(services, orgId),
    securityUpdates: securityUpdateData,
    metrics: await securityMetrics(services, orgId, { kind: 'product', id: productId }),
    cvd: await cvd(services, org, productId, productVulnerabilities, readSecurityTxt),
    reportCases: (await services.reportCases.list(orgId)).filter((c) => c.productId === productId),
    audit: await auditExcerpt(services, orgId, product, releases, {
      release,
      vulnerabilityIds: productVulnerabilities,
    }),
  };
}

/** Per release: the document as the maker uploaded it (CycloneDX or SPDX), and the stored components exported as CycloneDX 1.6 and SPDX 2.3. */
async function sbomFiles(services: Services, org: Organization, product: Product, releases: Release[]) {
  const out: EvidenceData['sboms'] = [];
  for (const release of releases) {
    const sbom = await services.sboms.get(org.id, release.id).catch((error: unknown) => {
      if (error instanceof DomainError && error.code === 'not-found') return null;
      throw error;
    });
    if (!sbom) continue;
    const files: Array<{ name: string; bytes: Buffer }> = [];
    try {
      const original = await readAll(await services.artifacts.read(org.id, sbom.documentSha256));
      files.push({ name: `${release.version}.uploaded.${sbom.format}.json`, bytes: original });
    } catch (error) {
      // Said in the pack rather than left out unseen: the stored document could not be read.
      files.push({
        name: `${release.version}.uploaded.MISSING.txt`,
        bytes: Buffer.from(
          `The SBOM document uploaded for release ${release.version} (SHA-256 ${sbom.documentSha256}) could not be read from the artifact store: ${(error as Error).message}\n`,
        ),
      });
    }
    const exportInput = {
      sbom,
      components: await services.sboms.components(org.id, sbom.id),
      release,
      product,
      org,
      now: services.clock.now(),
    };
    files.push({ name: `${release.version}.cyclonedx-1.6.json`, bytes: json(exportCycloneDx(exportInput)) });
    files.push({ name: `${release.version}.spdx-2.3.json`, bytes: json(exportSpdx(exportInput)) });
    out.push({ release, files });
  }
  return out;
}

/** TUF: the current roles with thresholds, key ids, versions and expiry, and every root version (key rotation history). */
async function updateMechanism(services: Services, orgId: string): Promise<Record<string, unknown>> {
  const status = await services.updateRepository.status(orgId);
  const roots = await services.store.db
    .selectFrom('tuf_metadata')
    .select(['version', 'expires', 'created_at', 'created_by', 'document'])
    .where('org_id', '=', orgId)
    .where('role', '=', 'root')
    .orderBy('version')
    .execute();
  const rootHistory = roots.map((r) => {
    const signed = (JSON.parse(r.document) as { signed?: { roles?: Record<string, unknown> } }).signed;
    return {
      version: Number(r.version),
      publishedAt: r.created_at,
      publishedBy: r.created_by,
      expires: r.expires,
      roles: signed?.roles ?? null,
    };
  });
  // The online keys are not kept after a rotation; the audit chain records each step with the
  // root version that named the new keys and their key ids (repository.ts).
  const onlineKeyEntries = await services.store.db
    .selectFrom('audit_entries')
    .select(['seq', 'at', 'actor', 'action', 'details', 'hash'])
    .where('chain', '=', orgId)
    .where('action', 'in', ONLINE_KEY_ACTIONS)
    .orderBy('seq')
    .limit(MAX_ONLINE_KEY_EVENTS)
    .execute();
  const onlineKeyHistory = onlineKeyEntries.map((e) => {
    const details = JSON.parse(e.details) as { rootVersion?: number; roles?: string[]; keyIds?: string[] };
    return {
      event: ONLINE_KEY_EVENT[e.action as (typeof ONLINE_KEY_ACTIONS)[number]],
      at: e.at,
      by: e.actor,
      rootVersion: details.rootVersion ?? null,
      roles: details.roles ?? null,
      keyIds: details.keyIds ?? null,
      auditSeq: Number(e.seq),
      auditHash: e.hash,
    };
  });
  return {
    standard: 'The Update Framework (TUF) 1.0; Ed25519 signatures',
    howDevicesInstall:
      'devices fetch signed TUF metadata (root, timestamp, snapshot, targets) and install only an image whose length and SHA-256 the targets role signed; a device refuses a release below its security version (anti-rollback)',
    initialized: status.initialized,
    roles: {
      root: status.root,
      targets: status.targets,
      snapshot: status.snapshot,
      timestamp: status.timestamp,
    },
    rootHistory,
    onlineKeyHistory: {
      source:
        'the audit entries of the organisation: created (first online keys), rotation begun (new keys made, not yet in use), rotated (a root naming the new keys was published; keyIds are the new snapshot and timestamp key ids). The current key ids are in roles.snapshot and roles.timestamp; rootHistory shows which keys each root version named',
      events: onlineKeyHistory,
    },
    warnings: status.warnings,
  };
}

const vulnerabilityIds = (updates: SecurityUpdateHistory): Set<string> =>
  new Set(updates.vulnerabilities.map((v) => v.id));

async function cvd(
  services: Services,
  org: Organization,
  productId: string,
  productVulnerabilities: Set<string>,
  readSecurityTxt: (slug: string) => Promise<string | null>,
): Promise<Record<string, unknown>> {
  const published = await services.advisories.published(org.id);
  return {
    securityContact: org.securityContact,
    securityPolicy: org.securityPolicy,
    securityTxt: await readSecurityTxt(org.slug),
    /** Every published CSAF 2.0 advisory of the organisation, as served; `concernsProduct` marks this product's. */
    advisories: published.map((a) => ({
      trackingId: a.trackingId,
      title: a.title,
      vulnerabilities: a.vulnerabilities,
      // An advisory without products names every product a listed vulnerability matches.
      concernsProduct: a.productIds.length
        ? a.productIds.includes(productId)
        : a.vulnerabilities.some((v) => productVulnerabilities.has(v)),
      initialReleaseDate: a.initialReleaseDate,
      currentReleaseDate: a.currentReleaseDate,
      filename: a.filename,
      csaf: JSON.parse(a.document) as unknown,
    })),
  };
}
