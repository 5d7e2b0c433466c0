import { updateSteps } from '@brickless/protocol';
import type { Kysely, Transaction } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Outbox } from '../notifications/outbox.js';
import { decodeCursor, type Page, type PageRequest, toPage } from '../store/pagination.js';
import type { Database, RolloutsTable } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import type { ReleaseService } from './releases.js';
import { parseWindow } from './window.js';

export const rolloutStatuses = ['running', 'paused', 'halted', 'cancelled', 'completed'] as const;
export type RolloutStatus = (typeof rolloutStatuses)[number];

/** A device's state in a rollout: waiting for its offer, a step it reported, or cancelled. */
export const deviceRolloutStates = ['pending', ...updateSteps, 'cancelled'] as const;
export type DeviceRolloutState = (typeof deviceRolloutStates)[number];

/** Which devices a rollout is for; within the release's product, every given filter must hold. */
export interface RolloutSelector {
  brandIds?: string[];
  firmwareVersions?: string[];
  tags?: string[];
  deviceIds?: string[];
}

export interface CreateRollout {
  releaseId: string;
  name?: string;
  selector?: RolloutSelector;
  /** Cumulative share of the fleet per wave, in percent, ending with 100: `[1, 10, 50, 100]`. */
  waves?: number[];
  /** Share of a wave's devices that must succeed before the next wave starts. */
  successThreshold?: number;
  /** Share of the devices so far that may fail before the rollout halts by itself. */
  failureThreshold?: number;
  /** Time to watch a successful wave before the next starts; security rollouts skip it. */
  soakSeconds?: number;
  /** At most this many offers per minute. */
  pacePerMinute?: number;
  /** Offers only inside this window, for example `Mon-Fri 02:00-05:00 Europe/Berlin`. */
  window?: string;
  maxDeferralSeconds?: number;
  /**
   * RFC 3339: the rollout completes then, whatever devices have not updated yet (offline ones,
   * typically) are left out, instead of keeping it open until the last device comes back.
   */
  deadline?: string;
}

export interface WaveProgress {
  wave: number;
  percent: number;
  devices: number;
  states: Partial<Record<DeviceRolloutState, number>>;
}

export interface Rollout {
  id: string;
  releaseId: string;
  name: string;
  kind: 'security' | 'feature';
  selector: RolloutSelector;
  waves: number[];
  successThreshold: number;
  failureThreshold: number;
  soakSeconds: number;
  pacePerMinute: number | null;
  window: string | null;
  maxDeferralSeconds: number;
  status: RolloutStatus;
  statusReason: string | null;
  currentWave: number;
  waveStartedAt: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  deadline: string | null;
}

export interface RolloutProgress extends Rollout {
  totals: Partial<Record<DeviceRolloutState, number>>;
  progress: WaveProgress[];
  /**
   * Devices still waiting for the offer (pending or offered) that are offline: not connected and
   * not seen over HTTP lately. They update when they come back; `complete` or a deadline ends the
   * rollout without them.
   */
  offline: number;
}

/** A device seen over HTTP this recently counts as reachable (it polls for offers). */
export const HTTP_REACHABLE_MS = 5 * 60_000;

export type RolloutAction = 'pause' | 'resume' | 'cancel' | 'complete';

const statusAfter: Record<RolloutAction, RolloutStatus> = {
  pause: 'paused',
  resume: 'running',
  cancel: 'cancelled',
  complete: 'completed',
};

/**
 * Ends the wait of the devices that were never offered the release (state `pending`) when a
 * rollout is cancelled or completed early: they keep their firmware and count as cancelled.
 * Devices already updating finish and report as usual. Returns how many were left out.
 */
export async function leaveOutPending(
  trx: Executor,
  rolloutId: string,
  now: string,
  reason: string | null,
): Promise<number> {
  const result = await trx
    .updateTable('rollout_devices')
    .set({ state: 'cancelled', reason, updated_at: now })
    .where('rollout_id', '=', rolloutId)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export function toRollout(row: RolloutsTable): Rollout {
  return {
    id: row.id,
    releaseId: row.release_id,
    name: row.name,
    kind: row.kind as Rollout['kind'],
    selector: JSON.parse(row.selector) as RolloutSelector,
    waves: JSON.parse(row.waves) as number[],
    successThreshold: row.success_threshold,
    failureThreshold: row.failure_threshold,
    soakSeconds: row.soak_seconds,
    pacePerMinute: row.pace_per_minute,
    window: row.window,
    maxDeferralSeconds: row.max_deferral_seconds,
    status: row.status as RolloutStatus,
    statusReason: row.status_reason,
    currentWave: row.current_wave,
    waveStartedAt: row.wave_started_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
    deadline: row.deadline_at ?? null,
  };
}

function checkWaves(waves: number[]): void {
  if (waves.length === 0 || waves.length > 20) throw invalid('waves', 'one to twenty waves');
  let last = 0;
  for (const percent of waves) {
    if (!(percent > last && percent <= 100))
      throw invalid('waves', 'cumulative percentages, each larger than the one before, at most 100');
    last = percent;
  }
  if (last !== 100) throw invalid('waves', 'the last wave must reach 100 (%)');
}

const share = (value: number, field: string) => {
  if (!(value >= 0 && value <= 1)) throw invalid(field, 'a share between 0 and 1');
  return value;
};

/**
 * Rollouts: which devices get a release, in which waves, how fast and when; paused, resumed,
 * cancelled by people and halted by the engine (rollout-engine.ts). All state is in the database
 * and every change is in the audit log, so a restart loses nothing.
 */
export class RolloutService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #releases: ReleaseService;

  readonly #outbox: Outbox;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    releases: ReleaseService;
    outbox: Outbox;
  }) {
    this.#outbox = deps.outbox;
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#releases = deps.releases;
  }

  async create(actor: string, orgId: string, input: CreateRollout): Promise<Rollout> {
    const release = await this.#releases.get(orgId, input.releaseId);
    if (release.status !== 'published')
      throw conflict(
        `release ${release.version} is not signed yet: its targets metadata needs the targets keys' threshold (brickless release sign)`,
      );
    const security = release.kind === 'security';
    const waves = input.waves ?? [1, 10, 50, 100];
    checkWaves(waves);
    if (input.window) parseWindow(input.window); // refuse a window that cannot be read, now
    const window = input.window ?? null;
    const selector = await this.#checkSelector(orgId, input.selector ?? {});
    const now = this.#clock.now().toISOString();
    let deadline: string | null = null;
    if (input.deadline !== undefined) {
      const at = Date.parse(input.deadline);
      if (!Number.isFinite(at)) throw invalid('deadline', 'an RFC 3339 date and time');
      if (at <= this.#clock.now().getTime()) throw invalid('deadline', 'must be in the future');
      deadline = new Date(at).toISOString();
    }
    const row: RolloutsTable = {
      id: newId('rol', this.#clock.now()),
      org_id: orgId,
      release_id: release.id,
      name: input.name ?? `${release.version} (${release.kind})`,
      kind: release.kind,
      selector: JSON.stringify(selector),
      waves: JSON.stringify(waves),
      success_threshold: share(input.successThreshold ?? 0.95, 'successThreshold'),
      failure_threshold: share(input.failureThreshold ?? 0.05, 'failureThreshold'),
      // CRA Annex I(2)(8): security fixes go out without the waiting a feature release gets.
      soak_seconds: security ? 0 : (input.soakSeconds ?? 3600),
      pace_per_minute: input.pacePerMinute ?? null,
      window,
      max_deferral_seconds: input.maxDeferralSeconds ?? (security ? 6 * 3600 : 24 * 3600),
      status: 'running',
      current_wave: 0,
      wave_started_at: now,
      wave_completed_at: null,
      status_reason: null,
      failures_acknowledged: 0,
      created_by: actor,
      created_at: now,
      updated_at: now,
      completed_at: null,
      deadline_at: deadline,
    };
    await inTransaction(this.#db, async (trx) => {
      await trx.insertInto('rollouts').values(row).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'rollout.create',
        targetType: 'rollout',
        targetId: row.id,
        details: { releaseId: release.id, version: release.version, kind: release.kind, selector, waves },
      });
    });
    return toRollout(row);
  }

  async #checkSelector(orgId: string, selector: RolloutSelector): Promise<RolloutSelector> {
    const out: RolloutSelector = {};
    for (const key of ['brandIds', 'firmwareVersions', 'tags', 'deviceIds'] as const) {
      const values = selector[key];
      if (values === undefined) continue;
      if (values.length === 0 || values.length > 10_000)
        throw invalid(`selector.${key}`, 'one to 10,000 values');
      out[key] = [...new Set(values)];
    }
    if (out.brandIds) {
      const found = await this.#db
        .selectFrom('brands')
        .select('id')
        .where('org_id', '=', orgId)
        .where('id', 'in', out.brandIds)
        .execute();
      const missing = out.brandIds.find((id) => !found.some((b) => b.id === id));
      if (missing) throw notFound('brand', missing);
    }
    return out;
  }

  async get(orgId: string, id: string): Promise<Rollout> {
    const row = await this.#db
      .selectFrom('rollouts')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('rollout', id);
    return toRollout(row);
  }

  /** The rollout with device counts per state, in total and per wave. */
  async progress(orgId: string, id: string): Promise<RolloutProgress> {
    const rollout = await this.get(orgId, id);
    const rows = await this.#db
      .selectFrom('rollout_devices')
      .select(['wave', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('rollout_id', '=', id)
      .groupBy(['wave', 'state'])
      .execute();
    const totals: Partial<Record<DeviceRolloutState, number>> = {};
    const progress: WaveProgress[] = rollout.waves.map((percent, wave) => ({
      wave,
      percent,
      devices: 0,
      states: {},
    }));
    for (const row of rows) {
      const n = Number(row.n);
      const state = row.state as DeviceRolloutState;
      totals[state] = (totals[state] ?? 0) + n;
      const wave = progress[row.wave];
      if (!wave) continue;
      wave.devices += n;
      wave.states[state] = (wave.states[state] ?? 0) + n;
    }
    const reachableSince = new Date(this.#clock.now().getTime() - HTTP_REACHABLE_MS).toISOString();
    const offline = await this.#db
      .selectFrom('rollout_devices as rd')
      .innerJoin('devices as d', 'd.id', 'rd.device_id')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('rd.rollout_id', '=', id)
      .where('rd.state', 'in', ['pending', 'offered'])
      .where('d.online', '=', 0)
      .where((eb) => eb.or([eb('d.last_seen_at', 'is', null), eb('d.last_seen_at', '<=', reachableSince)]))
      .executeTakeFirstOrThrow();
    return { ...rollout, totals, progress, offline: Number(offline.n) };
  }

  /** Rollouts, newest first, each with its device counts per state (`totals`), for a list view. */
  async list(
    orgId: string,
    page: PageRequest,
    status?: RolloutStatus,
  ): Promise<Page<Rollout & Pick<RolloutProgress, 'totals'>>> {
    let query = this.#db.selectFrom('rollouts').selectAll().where('org_id', '=', orgId);
    if (status) query = query.where('status', '=', status);
    const after = decodeCursor(page.cursor);
    if (after) query = query.where('id', '<', after);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(page.limit + 1)
      .execute();
    const listed = toPage(rows, page.limit, toRollout);
    const totals = new Map<string, Partial<Record<DeviceRolloutState, number>>>();
    if (listed.items.length > 0) {
      // One grouped count for the whole page, not one per rollout.
      const counts = await this.#db
        .selectFrom('rollout_devices')
        .select(['rollout_id', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where(
          'rollout_id',
          'in',
          listed.items.map((r) => r.id),
        )
        .groupBy(['rollout_id', 'state'])
        .execute();
      for (const c of counts) {
        const of = totals.get(c.rollout_id) ?? {};
        of[c.state as DeviceRolloutState] = Number(c.n);
        totals.set(c.rollout_id, of);
      }
    }
    return { ...listed, items: listed.items.map((r) => ({ ...r, totals: totals.get(r.id) ?? {} })) };
  }

  async devices(
    orgId: string,
    id: string,
    page: PageRequest,
    state?: DeviceRolloutState,
  ): Promise<
    Page<{
      deviceId: string;
      wave: number;
      state: DeviceRolloutState;
      reason: string | null;
      message: string | null;
      offers: number;
      offeredAt: string | null;
      updatedAt: string;
    }>
  > {
    await this.get(orgId, id);
    let query = this.#db
      .selectFrom('rollout_devices')
      .select(['device_id as id', 'wave', 'state', 'reason', 'message', 'offers', 'offered_at', 'updated_at'])
      .where('rollout_id', '=', id);
    if (state) query = query.where('state', '=', state);
    const after = decodeCursor(page.cursor);
    if (after) query = query.where('device_id', '>', after);
    const rows = await query
      .orderBy('device_id')
      .limit(page.limit + 1)
      .execute();
    return toPage(rows, page.limit, (r) => ({
      deviceId: r.id,
      wave: r.wave,
      state: r.state as DeviceRolloutState,
      reason: r.reason,
      message: r.message,
      offers: r.offers,
      offeredAt: r.offered_at,
      updatedAt: r.updated_at,
    }));
  }

  /**
   * pause, resume (also after a halt, which forgives the failures so far), cancel, and complete:
   * end it as done now, leaving out the devices that have not been offered it yet (for example
   * the offline ones), which `cancel` would also do but without saying the rollout reached its goal.
   */
  async act(actor: string, orgId: string, id: string, action: RolloutAction): Promise<Rollout> {
    return inTransaction(this.#db, async (trx) => {
      const row = await trx
        .selectFrom('rollouts')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw notFound('rollout', id);
      const allowed: Record<typeof action, string[]> = {
        pause: ['running'],
        resume: ['paused', 'halted'],
        cancel: ['running', 'paused', 'halted'],
        complete: ['running', 'paused', 'halted'],
      };
      if (!allowed[action].includes(row.status))
        throw conflict(
          `a ${row.status} rollout cannot be ${action === 'cancel' ? 'cancelled' : action === 'complete' ? 'completed' : `${action}d`}`,
        );
      const now = this.#clock.now().toISOString();
      const status = statusAfter[action];
      const set: Partial<RolloutsTable> = { status, status_reason: null, updated_at: now };
      if (action === 'resume' && row.status === 'halted') {
        // The operator looked at the failures that halted it; count only new ones from here.
        const failed = await trx
          .selectFrom('rollout_devices')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('rollout_id', '=', id)
          .where('state', 'in', ['failed', 'rolled-back'])
          .executeTakeFirstOrThrow();
        set.failures_acknowledged = Number(failed.n);
      }
      if (action === 'cancel' || action === 'complete') {
        set.completed_at = now;
        const left = await leaveOutPending(trx, id, now, action === 'complete' ? 'rollout-completed' : null);
        if (action === 'complete')
          set.status_reason = `completed by ${actor}; ${left} device(s) not offered the release were left out`;
      }
      // Optimistic: only from the status read above (the engine may have moved it meanwhile).
      const result = await trx
        .updateTable('rollouts')
        .set(set)
        .where('id', '=', id)
        .where('status', '=', row.status)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0)
        throw conflict('the rollout changed meanwhile; look again and retry');
      await this.#audit.append(trx, orgId, {
        actor,
        action: `rollout.${action}`,
        targetType: 'rollout',
        targetId: id,
        details: { from: row.status, to: status },
      });
      if (action === 'pause') {
        // Halted by hand: the others who ship releases hear of it as of an automatic halt.
        const failed = await trx
          .selectFrom('rollout_devices')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('rollout_id', '=', id)
          .where('state', 'in', ['failed', 'rolled-back'])
          .executeTakeFirstOrThrow();
        await recordHalt(this.#outbox, trx, row, Number(failed.n), `paused by ${actor}`);
      }
      return toRollout({ ...row, ...set } as RolloutsTable);
    });
  }
}

/** Records `rollout.halted` (notifications/catalogue.ts) in the transaction that halted or paused it. */
export async function recordHalt(
  outbox: Outbox,
  trx: Transaction<Database>,
  rollout: RolloutsTable,
  failed: number,
  reason: string,
): Promise<void> {
  const release = await trx
    .selectFrom('releases')
    .select('version')
    .where('id', '=', rollout.release_id)
    .executeTakeFirst();
  await outbox.record(
    rollout.org_id,
    'rollout.halted',
    {
      rolloutId: rollout.id,
      rolloutName: rollout.name,
      releaseId: rollout.release_id,
      version: release?.version ?? '',
      failed,
      reason,
    },
    trx,
  );
}
