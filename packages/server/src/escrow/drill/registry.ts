import { sql } from 'kysely';
import type { Store } from '../../store/db.js';

/**
 * Fills a maker's database with a large registry for the benchmark: `devices` more devices of the
 * product and `telemetryRows` readings spread over them, generated inside the database (a
 * recursive CTE on SQLite, generate_series on PostgreSQL) so the seeding is not what is measured.
 */
export async function seedRegistry(
  store: Store,
  orgId: string,
  productId: string,
  devices: number,
  telemetryRows: number,
): Promise<void> {
  const now = new Date().toISOString();
  const start = Date.now() - telemetryRows * 10;
  if (store.dialect === 'sqlite') {
    await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${devices})
      insert into devices (id, org_id, product_id, serial, firmware_version, status, claim_state, created_at, updated_at)
      select printf('dev_%028x', i + 1000000000), ${orgId}, ${productId}, printf('REG-%08d', i), '1.0.0', 'active', 'unclaimed', ${now}, ${now} from n`.execute(
      store.db,
    );
    const chunk = 1_000_000;
    for (let offset = 0; offset < telemetryRows; offset += chunk) {
      const count = Math.min(chunk, telemetryRows - offset);
      await sql`with recursive n(i) as (select ${offset} union all select i + 1 from n where i < ${offset + count - 1})
        insert into telemetry (org_id, device_id, field, ts, num_value, text_value)
        select ${orgId}, printf('dev_%028x', (i % ${devices}) + 1 + 1000000000), 'power', ${start} + i * 10, (i % 1000) / 10.0, null from n`.execute(
        store.db,
      );
    }
    return;
  }
  await sql`insert into devices (id, org_id, product_id, serial, firmware_version, status, claim_state, created_at, updated_at)
    select 'dev_' || lpad(to_hex(i + 1000000000), 28, '0'), ${orgId}, ${productId}, 'REG-' || lpad(i::text, 8, '0'), '1.0.0', 'active', 'unclaimed', ${now}, ${now}
    from generate_series(1, ${devices}::int) as i`.execute(store.db);
  await sql`insert into telemetry (org_id, device_id, field, ts, num_value, text_value)
    select ${orgId}, 'dev_' || lpad(to_hex((i % ${devices}) + 1 + 1000000000), 28, '0'), 'power', ${start}::bigint + i * 10, (i % 1000) / 10.0, null
    from generate_series(0, ${telemetryRows - 1}::int) as i`.execute(store.db);
}
