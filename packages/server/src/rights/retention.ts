import type { Services } from '../services.js';
import { inTransaction } from '../store/transaction.js';

const DAY_MS = 86_400_000;

export interface RetentionResult {
  productId: string;
  telemetry: number;
  events: number;
  commands: number;
}

/**
 * Deletes each product's data older than the product's retention (issue 18 §6; GDPR Art. 5(1)(e),
 * ETSI EN 303 645 5.11): readings and device events past `telemetryDays`, commands past
 * `commandDays`, by the injected clock. Each product's pass is one transaction, audited in its
 * organisation as `product.retention` with counts when it deleted anything.
 */
export async function applyProductRetention(
  services: Pick<Services, 'store' | 'clock' | 'audit'>,
): Promise<RetentionResult[]> {
  const db = services.store.db;
  const now = services.clock.now().getTime();
  const products = await db
    .selectFrom('products')
    .select(['id', 'org_id', 'telemetry_retention_days', 'command_retention_days'])
    .where((eb) =>
      eb.or([eb('telemetry_retention_days', 'is not', null), eb('command_retention_days', 'is not', null)]),
    )
    .orderBy('id')
    .execute();
  const results: RetentionResult[] = [];
  for (const p of products) {
    const result = await inTransaction(db, async (trx) => {
      const ofProduct = trx.selectFrom('devices').select('id').where('product_id', '=', p.id);
      const out: RetentionResult = { productId: p.id, telemetry: 0, events: 0, commands: 0 };
      if (p.telemetry_retention_days !== null) {
        const cutoff = now - Number(p.telemetry_retention_days) * DAY_MS;
        const readings = await trx
          .deleteFrom('telemetry')
          .where('device_id', 'in', ofProduct)
          .where('ts', '<', cutoff)
          .executeTakeFirst();
        const events = await trx
          .deleteFrom('device_events')
          .where('device_id', 'in', ofProduct)
          .where('time', '<', new Date(cutoff).toISOString())
          .executeTakeFirst();
        out.telemetry = Number(readings.numDeletedRows);
        out.events = Number(events.numDeletedRows);
      }
      if (p.command_retention_days !== null) {
        const cutoff = new Date(now - Number(p.command_retention_days) * DAY_MS).toISOString();
        const commands = await trx
          .deleteFrom('commands')
          .where('device_id', 'in', ofProduct)
          .where('created_at', '<', cutoff)
          .executeTakeFirst();
        out.commands = Number(commands.numDeletedRows);
      }
      if (out.telemetry + out.events + out.commands > 0)
        await services.audit.append(trx, p.org_id, {
          actor: 'system:retention',
          action: 'product.retention',
          targetType: 'product',
          targetId: p.id,
          details: {
            telemetryDays: p.telemetry_retention_days,
            commandDays: p.command_retention_days,
            telemetry: out.telemetry,
            events: out.events,
            commands: out.commands,
          },
        });
      return out;
    });
    results.push(result);
  }
  return results;
}

/**
 * Runs the retention pass at the first poll and every `everyMs` (daily by default) until stopped,
 * on one node of a cluster at a time (a lease: two passes would audit the same deletions twice).
 */
export function startProductRetention(
  services: Pick<Services, 'store' | 'clock' | 'audit' | 'jobs'>,
  onError: (error: unknown) => void,
  everyMs = DAY_MS,
): () => void {
  return services.jobs.every('product-retention', everyMs, () => applyProductRetention(services), onError);
}
