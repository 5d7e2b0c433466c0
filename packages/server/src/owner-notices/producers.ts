import { recordOnce } from '../notifications/producers.js';
import type { Services } from '../services.js';
import { inTransaction } from '../store/transaction.js';
import { DEFAULT_END_OF_SUPPORT_LEADS, type OwnerEventData } from './catalogue.js';

const DAY = 86_400_000;

/**
 * `owner.end-of-support-ahead` (CRA Annex II (8); ETSI EN 303 645 5.3-13: the end of support is
 * made clear ahead of time): for every held device whose product's support ends within one of
 * the leads (days), once per device, support end date and lead. A device first seen inside
 * several leads (claimed 20 days before the end) is told once, at the shortest, and the longer
 * leads count as told. A support end moved later starts over: the date is part of the key.
 * Returns how many events it recorded; run it daily (`serve` does), or as often as you like.
 */
export async function checkEndOfSupportAhead(
  services: Pick<Services, 'store' | 'clock' | 'outbox'>,
  leads: readonly number[] = DEFAULT_END_OF_SUPPORT_LEADS,
): Promise<number> {
  const sorted = [...new Set(leads)].filter((l) => Number.isInteger(l) && l > 0).sort((a, b) => a - b);
  const longest = sorted[sorted.length - 1];
  if (longest === undefined) return 0;
  const { db } = services.store;
  const now = services.clock.now();
  const today = now.toISOString().slice(0, 10);
  const horizon = new Date(Date.parse(today) + longest * DAY).toISOString().slice(0, 10);
  const devices = await db
    .selectFrom('devices as d')
    .innerJoin('products as p', 'p.id', 'd.product_id')
    .select(['d.id', 'd.org_id', 'd.product_id', 'p.support_ends'])
    .where('d.deleted_at', 'is', null)
    .where('p.support_ends', '>=', today)
    .where('p.support_ends', '<=', horizon)
    // Only devices someone holds: nobody to tell about the others.
    .where((eb) =>
      eb.exists(
        eb.selectFrom('device_owners as do').select('do.device_id').whereRef('do.device_id', '=', 'd.id'),
      ),
    )
    .orderBy('d.id')
    .execute();
  let recorded = 0;
  for (const d of devices) {
    const daysLeft = Math.round((Date.parse(d.support_ends) - Date.parse(today)) / DAY);
    const due = sorted.filter((lead) => daysLeft <= lead);
    const shortest = due[0];
    if (shortest === undefined) continue;
    const key = (lead: number) => `owner.end-of-support-ahead:${d.id}:${d.support_ends}:${lead}`;
    const did = await inTransaction(db, async (trx) => {
      for (const lead of due.slice(1))
        await trx
          .insertInto('notification_dedupe')
          .values({ key: key(lead), org_id: d.org_id, created_at: now.toISOString() })
          .onConflict((oc) => oc.column('key').doNothing())
          .execute();
      const data: OwnerEventData['owner.end-of-support-ahead'] = {
        productId: d.product_id,
        deviceId: d.id,
        supportEnds: d.support_ends,
        leadDays: shortest,
        daysLeft,
      };
      return recordOnce(
        services.outbox,
        trx,
        key(shortest),
        d.org_id,
        'owner.end-of-support-ahead',
        { ...data },
        now.toISOString(),
      );
    });
    if (did) recorded += 1;
  }
  return recorded;
}
