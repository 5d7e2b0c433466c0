import type { Transaction } from 'kysely';
import type { Outbox } from '../notifications/outbox.js';
import type { Database, VulnerabilityMatchesTable } from '../store/schema.js';
import { chunks } from './chunks.js';

/**
 * `exposure.new` (issue 18 §4): after a matching pass, one event per organisation and
 * vulnerability record that is critical or on the KEV list, recorded in the pass's transaction.
 * Not per device and not per SBOM: the devices and products are counted into the one event. A
 * record the organisation was matched to before this pass is not new (another release with the
 * same library is the same exposure), unless `newlyExploited`: the KEV list just named it; and
 * each (organisation, vulnerability, critical or KEV) is announced once (a dedupe key).
 */
export async function recordNewExposures(
  outbox: Outbox,
  trx: Transaction<Database>,
  added: readonly VulnerabilityMatchesTable[],
  options: { newlyExploited?: boolean; seen?: Set<string>; now?: string } = {},
): Promise<number> {
  if (added.length === 0) return 0;
  // One pass may match records and then read a KEV list: still one event per pair.
  const seen = options.seen ?? new Set<string>();
  const pairs = new Map<string, { orgId: string; vulnId: string; added: number }>();
  for (const m of added) {
    const key = `${m.org_id}\u0000${m.vuln_id}`;
    const pair = pairs.get(key) ?? { orgId: m.org_id, vulnId: m.vuln_id, added: 0 };
    pair.added += 1;
    pairs.set(key, pair);
  }
  const vulnIds = [...new Set(added.map((m) => m.vuln_id))];
  const severity = new Map<string, string | null>();
  const kev = new Set<string>();
  for (const ids of chunks(vulnIds)) {
    for (const v of await trx
      .selectFrom('vulnerabilities')
      .select(['id', 'severity_rating'])
      .where('id', 'in', ids)
      .execute())
      severity.set(v.id, v.severity_rating);
    for (const k of await trx
      .selectFrom('vulnerability_groups as g')
      .innerJoin('known_exploited as k', 'k.cve_id', 'g.canonical_id')
      .select('g.vuln_id')
      .where('g.vuln_id', 'in', ids)
      .execute())
      kev.add(k.vuln_id);
  }
  let recorded = 0;
  for (const { orgId, vulnId, added: count } of pairs.values()) {
    const critical = (severity.get(vulnId) ?? '').toLowerCase() === 'critical';
    const exploited = kev.has(vulnId);
    if (!critical && !exploited) continue;
    if (seen.has(`${orgId}\u0000${vulnId}`)) continue;
    const matches = await trx
      .selectFrom('vulnerability_matches')
      .select('sbom_id')
      .where('org_id', '=', orgId)
      .where('vuln_id', '=', vulnId)
      .execute();
    if (!options.newlyExploited && matches.length > count) continue;
    const sbomIds = [...new Set(matches.map((m) => m.sbom_id))];
    if (sbomIds.length === 0) continue;
    const releases = await trx
      .selectFrom('sboms as s')
      .innerJoin('releases as r', 'r.id', 's.release_id')
      .innerJoin('products as p', 'p.id', 'r.product_id')
      .select(['r.product_id', 'r.version', 'p.name'])
      .where('s.org_id', '=', orgId)
      .where('s.id', 'in', sbomIds)
      .execute();
    let devices = 0;
    for (const r of releases) {
      const n = await trx
        .selectFrom('devices')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('org_id', '=', orgId)
        .where('product_id', '=', r.product_id)
        .where('firmware_version', '=', r.version)
        .where('deleted_at', 'is', null)
        .executeTakeFirstOrThrow();
      devices += Number(n.n);
    }
    // Once per organisation, vulnerability and reason: replacing an SBOM deletes and re-adds its
    // matches, which is not a new exposure; a critical one that the KEV list names later is.
    const key = `exposure.new:${orgId}:${vulnId}:${exploited ? 'kev' : 'critical'}`;
    const first = await trx
      .insertInto('notification_dedupe')
      .values({ key, org_id: orgId, created_at: options.now ?? added[0]?.first_matched_at ?? '' })
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    if (Number(first.numInsertedOrUpdatedRows ?? 0n) === 0) continue;
    await outbox.record(
      orgId,
      'exposure.new',
      {
        vulnerabilityId: vulnId,
        severity: severity.get(vulnId) ?? 'unknown',
        kev: exploited,
        devices,
        products: [...new Set(releases.map((r) => r.name))].sort(),
      },
      trx,
    );
    seen.add(`${orgId}\u0000${vulnId}`);
    recorded += 1;
  }
  return recorded;
}

/** After a KEV import: the stored matches of CVEs the list names for the first time. */
export async function recordNewlyExploited(
  outbox: Outbox,
  trx: Transaction<Database>,
  cveIds: readonly string[],
  seen?: Set<string>,
  now?: string,
): Promise<number> {
  if (cveIds.length === 0) return 0;
  const records: string[] = [];
  for (const ids of chunks([...cveIds]))
    records.push(
      ...(
        await trx
          .selectFrom('vulnerability_groups')
          .select('vuln_id')
          .where('canonical_id', 'in', ids)
          .execute()
      ).map((r) => r.vuln_id),
    );
  const matches: VulnerabilityMatchesTable[] = [];
  for (const ids of chunks([...new Set(records)]))
    matches.push(
      ...(await trx.selectFrom('vulnerability_matches').selectAll().where('vuln_id', 'in', ids).execute()),
    );
  return recordNewExposures(outbox, trx, matches, {
    newlyExploited: true,
    ...(seen ? { seen } : {}),
    ...(now ? { now } : {}),
  });
}
