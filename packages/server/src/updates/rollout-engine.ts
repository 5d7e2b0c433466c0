import { createHash } from 'node:crypto';
import { finalUpdateSteps, type UpdateOffer, type UpdateStatus } from '@brickless/protocol';
import { type Kysely, sql } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Bus } from '../bus/bus.js';
import { OFFER_BATCH } from '../bus/events.js';
import type { Clock } from '../clock.js';
import { isId, newId } from '../ids.js';
import type { Outbox } from '../notifications/outbox.js';
import type { OwnerEventData } from '../owner-notices/catalogue.js';
import type { Database, ReleasesTable, RolloutsTable } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import { HTTP_REACHABLE_MS, leaveOutPending, type RolloutSelector, recordHalt } from './rollouts.js';
import { isOpen, parseWindow } from './window.js';

/** Offers per rollout and tick when no pace is set, so one tick stays short. */
const OFFERS_PER_TICK = 1000;
/** An offer the device has not answered is sent again after this long, if it is connected. */
const REOFFER_AFTER_MS = 5 * 60_000;
const FINAL = ['succeeded', 'failed', 'rolled-back', 'cancelled'];
const ACTIVE_ROLLOUT = ['running', 'paused', 'halted'];

/** Position of a device in a rollout, in [0, 1): stable, and independent between rollouts. */
function positionOf(rolloutId: string, deviceId: string): number {
  return createHash('sha256').update(`${rolloutId}:${deviceId}`).digest().readUInt32BE(0) / 2 ** 32;
}

function waveAt(waves: number[], position: number): number {
  const index = waves.findIndex((percent) => position < percent / 100);
  return index < 0 ? waves.length - 1 : index;
}

/**
 * Drives every running rollout, one `tick()` at a time (serve calls it every few seconds; tests
 * call it directly with a manual clock): enrols matching devices, halts on too many failures,
 * advances waves, and offers the release to reachable devices within the window and pace.
 * Offers, status changes and device reports are published on the bus (`rollout.offer`,
 * `rollout.changed`, `rollout.reported`): the node holding each device sends it the offer, and
 * live progress streams on every node read the rollout again.
 */
export class RolloutEngine {
  readonly #db: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #outbox: Outbox;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; bus: Bus; outbox: Outbox }) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#outbox = deps.outbox;
  }

  async tick(): Promise<void> {
    const rollouts = await this.#db
      .selectFrom('rollouts')
      .selectAll()
      .where('status', '=', 'running')
      .orderBy('id')
      .execute();
    for (const rollout of rollouts) await this.#run(rollout);
  }

  /**
   * Enrols and evaluates one rollout now (right after it was created, so its progress shows the
   * waves). It makes no offers: those come from the tick of the server process that holds the
   * device connections, never from a one-shot CLI process that would mark devices offered without
   * being able to tell them.
   */
  async enrol(rolloutId: string): Promise<void> {
    const rollout = await this.#db
      .selectFrom('rollouts')
      .selectAll()
      .where('id', '=', rolloutId)
      .executeTakeFirst();
    if (rollout?.status === 'running') await this.#run(rollout, false);
  }

  async #run(rollout: RolloutsTable, offer = true): Promise<void> {
    const release = await this.#db
      .selectFrom('releases')
      .selectAll()
      .where('id', '=', rollout.release_id)
      .executeTakeFirstOrThrow();
    await this.#enrol(rollout, release);
    const current = await this.#evaluate(rollout.id);
    if (offer && current?.status === 'running') await this.#offer(current, release);
  }

  /** Adds devices that match now (new, or changed since), each to the wave its position gives. */
  async #enrol(rollout: RolloutsTable, release: ReleasesTable): Promise<void> {
    const selector = JSON.parse(rollout.selector) as RolloutSelector;
    let query = this.#db
      .selectFrom('devices as d')
      .select(['d.id', 'd.firmware_version'])
      .where('d.org_id', '=', rollout.org_id)
      .where('d.product_id', '=', release.product_id)
      .where('d.deleted_at', 'is', null)
      // A device handed over to a successor or switched to local mode is no longer ours to update.
      .where((eb) =>
        eb.or([eb('d.endpoint_status', 'is', null), eb('d.endpoint_status', 'not in', ['moving', 'local'])]),
      )
      .where((eb) =>
        eb.or([
          eb('d.security_version', 'is', null),
          eb('d.security_version', '<=', release.security_version),
        ]),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('rollout_devices')
              .select('device_id')
              .where('rollout_id', '=', rollout.id)
              .whereRef('device_id', '=', 'd.id'),
          ),
        ),
      )
      // One update at a time: a device still busy in another active rollout waits for it.
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('rollout_devices as o')
              .innerJoin('rollouts as r', 'r.id', 'o.rollout_id')
              .select('o.device_id')
              .whereRef('o.device_id', '=', 'd.id')
              .where('r.status', 'in', ACTIVE_ROLLOUT)
              .where('o.state', 'not in', FINAL),
          ),
        ),
      );
    if (selector.brandIds) query = query.where('d.brand_id', 'in', selector.brandIds);
    if (selector.firmwareVersions) query = query.where('d.firmware_version', 'in', selector.firmwareVersions);
    if (selector.deviceIds) query = query.where('d.id', 'in', selector.deviceIds);
    if (selector.tags)
      query = query.where('d.id', 'in', (eb) =>
        eb
          .selectFrom('device_tags')
          .select('device_id')
          .where('tag', 'in', selector.tags ?? []),
      );
    const devices = await query.limit(50_000).execute();
    if (devices.length === 0) return;
    const waves = JSON.parse(rollout.waves) as number[];
    const existing = await this.#db
      .selectFrom('rollout_devices')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('rollout_id', '=', rollout.id)
      .executeTakeFirstOrThrow();
    const ranked = devices
      .map((d) => ({ ...d, position: positionOf(rollout.id, d.id) }))
      .sort((a, b) => a.position - b.position);
    // The first enrolment fills waves by rank, so even a 1 % canary wave gets a device; devices
    // that match later go to the wave of their position.
    const byRank = Number(existing.n) === 0;
    const now = this.#clock.now().toISOString();
    const rows = ranked.map((d, index) => {
      const wave = byRank
        ? waves.findIndex((percent) => index < Math.ceil((percent / 100) * ranked.length))
        : waveAt(waves, d.position);
      const current = d.firmware_version === release.version;
      return {
        rollout_id: rollout.id,
        device_id: d.id,
        wave: wave < 0 ? waves.length - 1 : wave,
        state: current ? 'succeeded' : 'pending',
        reason: current ? 'already-current' : null,
        message: null,
        offers: 0,
        offered_at: null,
        updated_at: now,
        finished_at: current ? now : null,
      };
    });
    await inTransaction(this.#db, async (trx) => {
      for (let i = 0; i < rows.length; i += 500)
        await trx
          .insertInto('rollout_devices')
          .values(rows.slice(i, i + 500))
          .onConflict((oc) => oc.doNothing())
          .execute();
    });
  }

  /** Halts, advances or completes the rollout from its counts; returns the row as it now is. */
  async #evaluate(rolloutId: string): Promise<RolloutsTable | undefined> {
    return inTransaction(this.#db, async (trx) => {
      const rollout = await trx
        .selectFrom('rollouts')
        .selectAll()
        .where('id', '=', rolloutId)
        .executeTakeFirst();
      if (rollout?.status !== 'running') return rollout;
      const waves = JSON.parse(rollout.waves) as number[];
      const counts = await trx
        .selectFrom('rollout_devices')
        .select(['state', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where('rollout_id', '=', rolloutId)
        .where('wave', '<=', rollout.current_wave)
        .groupBy('state')
        .execute();
      const count = (...states: string[]) =>
        counts.filter((c) => states.includes(c.state)).reduce((sum, c) => sum + Number(c.n), 0);
      const devices = count(...counts.map((c) => c.state)) - count('cancelled');
      const failed = count('failed', 'rolled-back');
      const succeeded = count('succeeded');
      const now = this.#clock.now();
      const update = async (
        set: Partial<RolloutsTable>,
        action: string,
        details: Record<string, unknown>,
      ) => {
        // Optimistic: only from the state read above, so two nodes never apply one step twice.
        const result = await trx
          .updateTable('rollouts')
          .set({ ...set, updated_at: now.toISOString() })
          .where('id', '=', rolloutId)
          .where('status', '=', 'running')
          .where('current_wave', '=', rollout.current_wave)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return;
        await this.#audit.append(trx, rollout.org_id, {
          actor: 'system:rollouts',
          action,
          targetType: 'rollout',
          targetId: rolloutId,
          details,
        });
        Object.assign(rollout, set);
        if (set.status) this.#bus.publish('rollout.changed', { rolloutId, status: set.status });
      };
      // A deadline ends the wait for devices that never came (offline ones, typically).
      if (rollout.deadline_at && now.getTime() >= Date.parse(rollout.deadline_at)) {
        const left = await leaveOutPending(trx, rolloutId, now.toISOString(), 'deadline');
        await update(
          {
            status: 'completed',
            completed_at: now.toISOString(),
            status_reason: `deadline reached; ${left} device(s) not offered the release were left out`,
          },
          'rollout.complete',
          { succeeded, failed, devices, deadline: rollout.deadline_at, leftOut: left },
        );
        return rollout;
      }
      // The automatic halt (also for security rollouts): more failures than the share allows.
      const allowed = Math.floor(rollout.failure_threshold * devices);
      if (failed - rollout.failures_acknowledged > allowed) {
        const reason = `${failed} of ${devices} devices failed in waves 1–${rollout.current_wave + 1}; at most ${allowed} (${rollout.failure_threshold * 100} %) may`;
        await update({ status: 'halted', status_reason: reason }, 'rollout.halt', {
          failed,
          devices,
          wave: rollout.current_wave,
        });
        // Issue 18 §4: the release managers hear of it, in the halt's own transaction.
        if ((rollout.status as string) === 'halted')
          await recordHalt(this.#outbox, trx, rollout, failed, reason);
        return rollout;
      }
      if (succeeded < Math.ceil(rollout.success_threshold * devices)) return rollout;
      const last = rollout.current_wave >= waves.length - 1;
      if (last) {
        const open = await trx
          .selectFrom('rollout_devices')
          .select('device_id')
          .where('rollout_id', '=', rolloutId)
          .where('state', 'not in', FINAL)
          .limit(1)
          .executeTakeFirst();
        if (!open)
          await update({ status: 'completed', completed_at: now.toISOString() }, 'rollout.complete', {
            succeeded,
            failed,
            devices,
          });
        return rollout;
      }
      if (!rollout.wave_completed_at) {
        rollout.wave_completed_at = now.toISOString();
        await trx
          .updateTable('rollouts')
          .set({ wave_completed_at: rollout.wave_completed_at })
          .where('id', '=', rolloutId)
          .execute();
      }
      if (now.getTime() < Date.parse(rollout.wave_completed_at) + rollout.soak_seconds * 1000) return rollout;
      await update(
        {
          current_wave: rollout.current_wave + 1,
          wave_started_at: now.toISOString(),
          wave_completed_at: null,
        },
        'rollout.advance',
        { wave: rollout.current_wave + 1, percent: waves[rollout.current_wave + 1], succeeded, devices },
      );
      return rollout;
    });
  }

  async #offer(rollout: RolloutsTable, release: ReleasesTable): Promise<void> {
    const now = this.#clock.now();
    if (rollout.window && !isOpen(parseWindow(rollout.window), now)) return;
    let budget = OFFERS_PER_TICK;
    if (rollout.pace_per_minute !== null) {
      const recent = await this.#db
        .selectFrom('rollout_devices')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('rollout_id', '=', rollout.id)
        .where('offered_at', '>', new Date(now.getTime() - 60_000).toISOString())
        .executeTakeFirstOrThrow();
      budget = Math.min(budget, rollout.pace_per_minute - Number(recent.n));
    }
    if (budget <= 0) return;
    const reachableSince = new Date(now.getTime() - HTTP_REACHABLE_MS).toISOString();
    const reofferBefore = new Date(now.getTime() - REOFFER_AFTER_MS).toISOString();
    const candidates = await this.#db
      .selectFrom('rollout_devices as rd')
      .innerJoin('devices as d', 'd.id', 'rd.device_id')
      .select(['rd.device_id', 'rd.state'])
      .where('rd.rollout_id', '=', rollout.id)
      .where('rd.wave', '<=', rollout.current_wave)
      .where((eb) =>
        eb.or([
          eb('rd.state', '=', 'pending'),
          eb.and([eb('rd.state', '=', 'offered'), eb('rd.offered_at', '<', reofferBefore)]),
        ]),
      )
      .where((eb) => eb.or([eb('d.online', '=', 1), eb('d.last_seen_at', '>', reachableSince)]))
      .orderBy('rd.wave')
      .orderBy('rd.device_id')
      .limit(budget)
      .execute();
    if (candidates.length === 0) return;
    const at = now.toISOString();
    const ids = candidates.map((c) => c.device_id);
    await inTransaction(this.#db, async (trx) => {
      for (let i = 0; i < ids.length; i += 500)
        await trx
          .updateTable('rollout_devices')
          .set({ state: 'offered', offered_at: at, updated_at: at, offers: sql`offers + 1` })
          .where('rollout_id', '=', rollout.id)
          .where('device_id', 'in', ids.slice(i, i + 500))
          .execute();
      // CRA Annex II (9)(b), ETSI EN 303 645 5.3-13: the rollout reached these devices, so their
      // holders are told an update is on its way (once per device and version: re-offers repeat
      // this and are deduplicated in the fan-out).
      await this.#outbox.record(
        rollout.org_id,
        'owner.update-available',
        {
          productId: release.product_id,
          releaseId: release.id,
          version: release.version,
          security: release.kind === 'security',
          deviceIds: ids,
        } satisfies OwnerEventData['owner.update-available'],
        trx,
      );
    });
    // Ids only: each node reads the offer itself (`offerOf`), from the database.
    for (let i = 0; i < ids.length; i += OFFER_BATCH)
      this.#bus.publish('rollout.offer', { rolloutId: rollout.id, deviceIds: ids.slice(i, i + OFFER_BATCH) });
  }

  /** The offer of a running rollout (what `rollout.offer` tells its devices), or null. */
  async offerOf(rolloutId: string): Promise<UpdateOffer | null> {
    const row = await this.#db
      .selectFrom('rollouts as r')
      .innerJoin('releases as rel', 'rel.id', 'r.release_id')
      .selectAll('r')
      .select(['rel.target_path', 'rel.version as release_version'])
      .where('r.id', '=', rolloutId)
      .where('r.status', '=', 'running')
      .executeTakeFirst();
    if (!row) return null;
    return toOffer(row, { id: row.release_id, target_path: row.target_path, version: row.release_version });
  }

  /**
   * Devices offered an update since `since` and not answered yet, in running rollouts: after the
   * bus was away, a node offers them again to the devices it holds (decision 0028).
   */
  async offeredSince(since: Date): Promise<{ rolloutId: string; deviceId: string }[]> {
    const rows = await this.#db
      .selectFrom('rollout_devices as rd')
      .innerJoin('rollouts as r', 'r.id', 'rd.rollout_id')
      .select(['rd.rollout_id', 'rd.device_id'])
      .where('r.status', '=', 'running')
      .where('rd.state', '=', 'offered')
      .where('rd.offered_at', '>=', since.toISOString())
      .execute();
    return rows.map((r) => ({ rolloutId: r.rollout_id, deviceId: r.device_id }));
  }

  /** The offer a device should act on now, if any: for a device that (re)connects or polls. */
  async currentOffer(deviceId: string): Promise<UpdateOffer | null> {
    const row = await this.#db
      .selectFrom('rollout_devices as rd')
      .innerJoin('rollouts as r', 'r.id', 'rd.rollout_id')
      .innerJoin('releases as rel', 'rel.id', 'r.release_id')
      .selectAll('r')
      .select(['rel.target_path', 'rel.version as release_version'])
      .where('rd.device_id', '=', deviceId)
      .where('r.status', '=', 'running')
      // A device that is rebooting into the new firmware reports the outcome itself after booting.
      .where('rd.state', 'not in', ['pending', 'rebooting', ...FINAL])
      .orderBy('r.id', 'desc')
      .executeTakeFirst();
    if (!row) return null;
    return toOffer(row, { id: row.release_id, target_path: row.target_path, version: row.release_version });
  }

  /**
   * A step the device reported (MQTT `updates/status` or HTTP): kept in its history, moves its
   * state in the rollout, and on success records the firmware it now runs.
   */
  async report(orgId: string, deviceId: string, status: UpdateStatus): Promise<void> {
    const now = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      await trx
        .insertInto('update_reports')
        .values({
          id: newId('upr', this.#clock.now()),
          org_id: orgId,
          device_id: deviceId,
          rollout_id: status.rollout ?? null,
          release_id: status.release ?? null,
          step: status.step,
          reason: status.reason ?? null,
          message: status.message ?? null,
          time: now,
        })
        .execute();
      const final = finalUpdateSteps.includes(status.step);
      if (status.rollout)
        await trx
          .updateTable('rollout_devices')
          .set({
            state: status.step,
            reason: status.reason ?? null,
            // A later step without a message (say, a retry that got further) clears the old one.
            message: status.message ?? null,
            updated_at: now,
            finished_at: final ? now : null,
          })
          .where('rollout_id', '=', status.rollout)
          .where('device_id', '=', deviceId)
          .where('state', '!=', 'cancelled')
          .execute();
      if (status.version !== undefined && (status.step === 'succeeded' || status.step === 'rolled-back'))
        await this.#recordFirmware(trx, deviceId, status.version, status.securityVersion);
      // The device runs the new version: its holders are told (CRA Annex II (9)(b)).
      if (status.version !== undefined && status.step === 'succeeded') {
        const device = await trx
          .selectFrom('devices')
          .select('product_id')
          .where('id', '=', deviceId)
          .where('org_id', '=', orgId)
          .executeTakeFirst();
        if (device)
          await this.#outbox.record(
            orgId,
            'owner.update-installed',
            {
              productId: device.product_id,
              deviceId,
              version: status.version,
            } satisfies OwnerEventData['owner.update-installed'],
            trx,
          );
      }
    });
    // A device may name any rollout; only a real rollout id goes on the bus (others could not read it).
    if (status.rollout && isId('rol', status.rollout))
      this.#bus.publish('rollout.reported', { rolloutId: status.rollout, deviceId });
  }

  async #recordFirmware(
    trx: Executor,
    deviceId: string,
    version: string,
    securityVersion: number | undefined,
  ) {
    await trx
      .updateTable('devices')
      .set({
        firmware_version: version,
        ...(securityVersion !== undefined ? { security_version: securityVersion } : {}),
      })
      .where('id', '=', deviceId)
      .execute();
  }

  /** A device's update history, newest first. */
  async history(deviceId: string, limit: number) {
    return this.#db
      .selectFrom('update_reports')
      .select(['id', 'rollout_id', 'release_id', 'step', 'reason', 'message', 'time'])
      .where('device_id', '=', deviceId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }
}

function toOffer(
  rollout: Pick<RolloutsTable, 'id' | 'kind' | 'max_deferral_seconds'>,
  release: Pick<ReleasesTable, 'id' | 'target_path' | 'version'>,
): UpdateOffer {
  return {
    rollout: rollout.id,
    release: release.id,
    target: release.target_path,
    version: release.version,
    kind: rollout.kind as UpdateOffer['kind'],
    maxDeferralSeconds: rollout.max_deferral_seconds,
  };
}
