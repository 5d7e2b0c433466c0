import { PLATFORM_CHAIN } from '../audit/service.js';
import type { OwnerDataSource } from './sources.js';

/** The account itself; deleted last, after everything that refers to it. */
export const accountSource: OwnerDataSource = {
  name: 'account',
  describe: 'owner.json: your account: its id, e-mail address, when it was made and when you last signed in.',
  async export(ctx, sink) {
    const row = await ctx.db
      .selectFrom('owners')
      .selectAll()
      .where('id', '=', ctx.ownerId)
      .executeTakeFirst();
    await sink.json('owner.json', {
      id: ctx.ownerId,
      email: row?.email ?? ctx.email,
      createdAt: row?.created_at ?? null,
      lastSignInAt: row?.last_sign_in_at ?? null,
      exportedAt: ctx.at,
    });
  },
  async delete(ctx) {
    const gone = await ctx.trx.deleteFrom('owners').where('id', '=', ctx.ownerId).executeTakeFirst();
    ctx.tombstone({ table: 'owners', scopeColumn: 'id', scopeValue: ctx.ownerId });
    return Number(gone.numDeletedRows);
  },
};

/** The devices held (claims): releasing them ends the ownership; the device stays in the maker's fleet. */
export const claimSource: OwnerDataSource = {
  name: 'devices',
  describe:
    'devices.json: the devices you hold (product, model, serial, firmware, your role, since when). claims.json: your claims (device, role, time).',
  async export(ctx, sink) {
    const ids = ctx.devices.map((d) => d.deviceId);
    const rows = ids.length
      ? await ctx.db
          .selectFrom('devices')
          .innerJoin('products', 'products.id', 'devices.product_id')
          .select([
            'devices.id',
            'devices.serial',
            'devices.firmware_version',
            'devices.last_seen_at',
            'products.name as product_name',
            'products.model_number',
            'products.support_ends',
          ])
          .where('devices.id', 'in', ids)
          .execute()
      : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    await sink.json(
      'devices.json',
      ctx.devices.map((d) => {
        const row = byId.get(d.deviceId);
        return {
          id: d.deviceId,
          role: d.role,
          since: d.since,
          productName: row?.product_name ?? null,
          modelNumber: row?.model_number ?? null,
          serial: row?.serial ?? null,
          firmwareVersion: row?.firmware_version ?? null,
          lastSeenAt: row?.last_seen_at ?? null,
          supportEnds: row?.support_ends ?? null,
        };
      }),
    );
    await sink.json(
      'claims.json',
      ctx.devices.map((d) => ({ deviceId: d.deviceId, role: d.role, claimedAt: d.since })),
    );
  },
  async delete(ctx) {
    // The devices they own are released as by the owner (docs/owners.md, "Sharing"): the
    // household's shares and open invitations of each end with the ownership.
    const owned = ctx.owned.map((d) => d.deviceId);
    let shares = 0;
    if (owned.length > 0) {
      const members = await ctx.trx
        .deleteFrom('device_owners')
        .where('device_id', 'in', owned)
        .where('owner_id', '<>', ctx.ownerId)
        .executeTakeFirst();
      shares = Number(members.numDeletedRows);
      await ctx.trx.deleteFrom('device_share_invitations').where('device_id', 'in', owned).execute();
      for (const deviceId of owned)
        ctx.tombstone({
          table: 'device_owners',
          scopeColumn: 'device_id',
          scopeValue: deviceId,
          // Only shares made up to now: a later owner's household is not touched by a restore.
          time: { column: 'created_at', from: '0000', to: ctx.at },
        });
    }
    const gone = await ctx.trx
      .deleteFrom('device_owners')
      .where('owner_id', '=', ctx.ownerId)
      .executeTakeFirst();
    ctx.tombstone({ table: 'device_owners', scopeColumn: 'owner_id', scopeValue: ctx.ownerId });
    return Number(gone.numDeletedRows) + shares;
  },
};

/** Sign-in state: sessions (times only), pending links and rate-limit counts. None is deposited. */
export const signInSource: OwnerDataSource = {
  name: 'sign-in',
  describe: 'sessions.json: your sign-in sessions (when opened, last used, ended); never their secrets.',
  async export(ctx, sink) {
    const rows = await ctx.db
      .selectFrom('owner_sessions')
      .select(['handle', 'created_at', 'last_seen_at', 'expires_at', 'revoked_at'])
      .where('owner_id', '=', ctx.ownerId)
      .orderBy('created_at')
      .execute();
    await sink.json('sessions.json', rows);
  },
  async delete(ctx) {
    const sessions = await ctx.trx
      .deleteFrom('owner_sessions')
      .where('owner_id', '=', ctx.ownerId)
      .executeTakeFirst();
    const links = await ctx.trx
      .deleteFrom('owner_sign_in_links')
      .where('email', '=', ctx.email)
      .executeTakeFirst();
    const attempts = await ctx.trx
      .deleteFrom('owner_attempts')
      .where('subject', 'in', [ctx.email, ctx.ownerId])
      .executeTakeFirst();
    return Number(sessions.numDeletedRows) + Number(links.numDeletedRows) + Number(attempts.numDeletedRows);
  },
};

/**
 * Audit entries about the owner (their actions, and actions on their account): exported. They are
 * never deleted: the log is a hash chain (decision 0005), and its entries name the owner by an
 * opaque id only, which after the account's deletion leads to nobody.
 */
export const auditSource: OwnerDataSource = {
  name: 'audit',
  describe:
    'audit.csv: the audit log entries about you (your claims, releases, exports, sign-ups): time, action, what it was about and its details. They name you by your account id only.',
  async export(ctx, sink) {
    const db = ctx.db;
    const actor = `owner:${ctx.ownerId}`;
    async function* rows(): AsyncIterable<unknown[]> {
      let after = { chain: '', seq: 0 };
      for (;;) {
        const page = await db
          .selectFrom('audit_entries')
          .select(['chain', 'seq', 'at', 'actor', 'action', 'target_type', 'target_id', 'details'])
          .where((eb) =>
            eb.and([
              eb.or([
                eb('actor', '=', actor),
                eb.and([eb('target_type', '=', 'owner'), eb('target_id', '=', ctx.ownerId)]),
              ]),
              eb.or([
                eb('chain', '>', after.chain),
                eb.and([eb('chain', '=', after.chain), eb('seq', '>', after.seq)]),
              ]),
            ]),
          )
          .orderBy('chain')
          .orderBy('seq')
          .limit(1000)
          .execute();
        for (const e of page)
          yield [
            e.at,
            e.action,
            e.chain === PLATFORM_CHAIN ? 'platform' : 'maker',
            e.target_type,
            e.target_id,
            e.details,
          ];
        const last = page[page.length - 1];
        if (!last || page.length < 1000) return;
        after = { chain: last.chain, seq: Number(last.seq) };
      }
    }
    await sink.csv('audit.csv', ['time', 'action', 'log', 'target_type', 'target_id', 'details'], rows());
  },
  async delete() {
    return 0;
  },
};
