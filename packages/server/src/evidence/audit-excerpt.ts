import { toEntry } from '../audit/service.js';
import type { Product } from '../fleet/products.js';
import type { Services } from '../services.js';
import type { Release } from '../updates/releases.js';

/** Most entries per kind of target; the excerpt says when a kind was cut. */
const MAX_ENTRIES_PER_KIND = 10_000;
/** Devices whose entries the product pack carries: the newest ones, by creation. */
export const MAX_EXCERPT_DEVICES = 1000;
/** Ids per `in (…)` list, well below SQLite's and PostgreSQL's bind-parameter limits. */
const CHUNK = 500;

type Row = Awaited<ReturnType<typeof entriesAbout>>[number];

function entriesAbout(services: Services, orgId: string, ids: string[], action?: string) {
  let query = services.store.db
    .selectFrom('audit_entries')
    .selectAll()
    .where('chain', '=', orgId)
    .where('target_id', 'in', ids);
  if (action) query = query.where('action', '=', action);
  // Newest first, so that a cut keeps the recent history.
  return query
    .orderBy('seq', 'desc')
    .limit(MAX_ENTRIES_PER_KIND + 1)
    .execute();
}

async function entriesOf(services: Services, orgId: string, ids: string[], action?: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (let i = 0; i < ids.length; i += CHUNK)
    rows.push(...(await entriesAbout(services, orgId, ids.slice(i, i + CHUNK), action)));
  return rows.sort((a, b) => Number(b.seq) - Number(a.seq));
}

/**
 * The organisation's audit entries about the product (issue 21 §1): the product and its releases,
 * the rollouts of those releases, the triage decisions (`vex.decide`) of the product for the
 * vulnerabilities matched in it, and, for a product pack, the newest devices of the product.
 * A release pack (`release` given) narrows it to that release, its rollouts and its
 * vulnerabilities. Every entry carries its hash and the hash before it; the verification covers
 * the organisation's whole chain.
 */
export async function auditExcerpt(
  services: Services,
  orgId: string,
  product: Product,
  releases: Release[],
  scope: { release: Release | null; vulnerabilityIds: Set<string> },
): Promise<Record<string, unknown>> {
  const db = services.store.db;
  const releaseIds = releases.map((r) => r.id);
  const rolloutIds = releaseIds.length
    ? (
        await db
          .selectFrom('rollouts')
          .select('id')
          .where('org_id', '=', orgId)
          .where('release_id', 'in', releaseIds)
          .execute()
      ).map((r) => r.id)
    : [];
  const deviceIds = scope.release
    ? []
    : (
        await db
          .selectFrom('devices')
          .select('id')
          .where('org_id', '=', orgId)
          .where('product_id', '=', product.id)
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(MAX_EXCERPT_DEVICES + 1)
          .execute()
      ).map((d) => d.id);
  const devicesCut = deviceIds.length > MAX_EXCERPT_DEVICES;
  const triage = (await entriesOf(services, orgId, [...scope.vulnerabilityIds], 'vex.decide')).filter(
    (row) => {
      const details = JSON.parse(row.details) as { productId?: unknown };
      return details.productId === product.id;
    },
  );
  const kinds = {
    product: scope.release ? [] : await entriesOf(services, orgId, [product.id]),
    releases: await entriesOf(services, orgId, releaseIds),
    rollouts: await entriesOf(services, orgId, rolloutIds),
    triage,
    devices: await entriesOf(services, orgId, deviceIds.slice(0, MAX_EXCERPT_DEVICES)),
  };
  const cut = Object.entries(kinds)
    .filter(([, rows]) => rows.length > MAX_ENTRIES_PER_KIND)
    .map(([kind]) => kind);
  const seen = new Set<string>();
  const entries = Object.values(kinds)
    .flatMap((rows) => rows.slice(0, MAX_ENTRIES_PER_KIND))
    .filter((row) => {
      if (seen.has(row.id)) return false;
      seen.add(row.id);
      return true;
    })
    .sort((a, b) => Number(a.seq) - Number(b.seq));
  const verification = await services.audit.verify(db, orgId);
  return {
    chain: orgId,
    verification,
    scope: {
      release: scope.release ? { id: scope.release.id, version: scope.release.version } : null,
      targets: scope.release
        ? 'the release, its rollouts, and the triage decisions of the product for the vulnerabilities matched in the release'
        : `the product, its releases, their rollouts, the triage decisions of the product for the vulnerabilities matched in it, and the newest ${MAX_EXCERPT_DEVICES} devices of the product`,
      counts: Object.fromEntries(
        Object.entries(kinds).map(([kind, rows]) => [kind, Math.min(rows.length, MAX_ENTRIES_PER_KIND)]),
      ),
      devices: scope.release
        ? null
        : { included: Math.min(deviceIds.length, MAX_EXCERPT_DEVICES), more: devicesCut },
      cut: cut.length ? `only the newest ${MAX_ENTRIES_PER_KIND} entries of: ${cut.join(', ')}` : null,
    },
    note: 'each entry carries its hash and the hash of the entry before it in the organisation’s chain; the excerpt lets a reader recompute an entry’s hash, the verification covers the whole chain',
    entries: entries.map(toEntry),
  };
}
