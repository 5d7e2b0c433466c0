import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import type { Page } from '../store/pagination.js';
import { parseDuration } from '../telemetry/routes.js';
import type { Rollout, RolloutProgress } from '../updates/rollouts.js';
import { type CommandContext, collect, enc, query, resolveOrg, withClient } from './context.js';
import { emit, emitPage, printRecord, printTable } from './output.js';
import { resolveEach, resolveRef } from './resolve.js';

const columns: [string, (r: Rollout) => unknown][] = [
  ['id', (r) => r.id],
  ['name', (r) => r.name],
  ['kind', (r) => r.kind],
  ['status', (r) => r.status],
  ['wave', (r) => `${r.currentWave + 1}/${r.waves.length}`],
  ['created', (r) => r.createdAt],
];

const inFlight = (s: Partial<Record<string, number>>) =>
  (s.offered ?? 0) +
  (s.deferred ?? 0) +
  (s.downloading ?? 0) +
  (s.verifying ?? 0) +
  (s.installing ?? 0) +
  (s.rebooting ?? 0);

/** Devices of the rollout that have not reached a final state yet. */
function open(rollout: RolloutProgress): number {
  const t = rollout.totals;
  return (t.pending ?? 0) + inFlight(t);
}

/** One line of progress, for logs and CI (`rollout watch` without a terminal). */
function progressLine(rollout: RolloutProgress): string {
  const t = rollout.totals;
  const total = Object.values(t).reduce((a: number, b) => a + (b ?? 0), 0);
  const failed = (t.failed ?? 0) + (t['rolled-back'] ?? 0);
  return (
    `${new Date().toISOString()} rollout ${rollout.id} ${rollout.status}` +
    `${rollout.statusReason ? ` (${rollout.statusReason})` : ''}, wave ${rollout.currentWave + 1}/${rollout.waves.length}: ` +
    `${t.succeeded ?? 0}/${total} succeeded, ${failed} failed, ${inFlight(t)} in progress, ${t.pending ?? 0} pending, ` +
    `${rollout.offline ?? 0} offline`
  );
}

/**
 * Follows a rollout until it completes, halts or is cancelled, or until the only devices left
 * are offline ones (they update when they come back; waiting for them could take weeks): a
 * progress bar on a terminal, else one line per change.
 */
async function follow(
  ctx: CommandContext,
  org: string,
  id: string,
  intervalSeconds: number,
): Promise<RolloutProgress> {
  if (!(intervalSeconds > 0))
    throw new DomainError('validation-failed', '--interval must be a number of seconds');
  const tty = !ctx.json && !ctx.quiet && process.stderr.isTTY === true;
  // Lines go to stdout for people and logs, to stderr when stdout is kept for --json or --quiet.
  const lines = ctx.json || ctx.quiet ? process.stderr : process.stdout;
  const bar = tty
    ? new SingleBar({
        format: 'wave {wave} [{bar}] {value}/{total} succeeded, {failed} failed, {offline} offline, {status}',
        stream: process.stderr,
      })
    : null;
  let rollout = await get(ctx, org, id);
  const total = () => Object.values(rollout.totals).reduce((a: number, b) => a + (b ?? 0), 0);
  const values = () => ({
    wave: `${rollout.currentWave + 1}/${rollout.waves.length}`,
    failed: (rollout.totals.failed ?? 0) + (rollout.totals['rolled-back'] ?? 0),
    offline: rollout.offline ?? 0,
    status: rollout.status,
  });
  let last = '';
  const show = () => {
    if (bar) {
      bar.setTotal(total());
      bar.update(rollout.totals.succeeded ?? 0, values());
      return;
    }
    const line = progressLine(rollout);
    const key = line.slice(line.indexOf(' ')); // a change, not the passing of time
    if (key !== last) lines.write(`${line}\n`);
    last = key;
  };
  bar?.start(total(), rollout.totals.succeeded ?? 0, values());
  show();
  // Only offline devices left, for long enough that it is not a fleet still (re)connecting.
  const settle = Math.max(15_000, 3 * intervalSeconds * 1000);
  let offlineSince: number | null = null;
  const onlyOffline = () => {
    const now = rollout.status === 'running' && open(rollout) > 0 && open(rollout) <= (rollout.offline ?? 0);
    offlineSince = now ? (offlineSince ?? Date.now()) : null;
    return offlineSince !== null && Date.now() - offlineSince >= settle;
  };
  while ((rollout.status === 'running' || rollout.status === 'paused') && !onlyOffline()) {
    await new Promise((r) => setTimeout(r, intervalSeconds * 1000));
    rollout = await get(ctx, org, id);
    show();
  }
  bar?.stop();
  if (rollout.status === 'running' && offlineSince !== null)
    process.stderr.write(
      `only offline devices are left (${rollout.offline}): they get the update when they come back; ` +
        `\`brickless rollout complete ${rollout.id}\` ends the rollout without them\n`,
    );
  return rollout;
}

function printProgress(rollout: RolloutProgress): void {
  printRecord({
    id: rollout.id,
    name: rollout.name,
    release: rollout.releaseId,
    kind: rollout.kind,
    status: rollout.statusReason ? `${rollout.status}: ${rollout.statusReason}` : rollout.status,
    wave: `${rollout.currentWave + 1} of ${rollout.waves.length} (${rollout.waves.join(' → ')} %)`,
    thresholds: `advance at ${rollout.successThreshold * 100} % success, halt above ${rollout.failureThreshold * 100} % failures`,
    pace: rollout.pacePerMinute ? `${rollout.pacePerMinute}/min` : 'unlimited',
    window: rollout.window ?? 'any time',
    deadline: rollout.deadline ?? 'none (until every device updated)',
    offline: `${rollout.offline ?? 0} device(s) offline, waiting for the offer`,
  });
  printTable(rollout.progress, [
    ['wave', (w) => w.wave + 1],
    ['up to', (w) => `${w.percent} %`],
    ['devices', (w) => w.devices],
    ['pending', (w) => w.states.pending ?? 0],
    ['in progress', (w) => inFlight(w.states)],
    ['succeeded', (w) => w.states.succeeded ?? 0],
    ['failed', (w) => (w.states.failed ?? 0) + (w.states['rolled-back'] ?? 0)],
  ]);
}

async function get(ctx: CommandContext, org: string, id: string): Promise<RolloutProgress> {
  return ctx.client.request<RolloutProgress>('GET', `/v1/orgs/${enc(org)}/rollouts/${enc(id)}`);
}

/** `--deadline`: an RFC 3339 time, or a duration from now (30m, 7d). */
function deadlineFrom(value: string): string {
  if (/^\d+(ms|s|m|h|d)$/.test(value)) return new Date(Date.now() + parseDuration(value)).toISOString();
  const at = Date.parse(value);
  if (!Number.isFinite(at))
    throw new DomainError(
      'validation-failed',
      '--deadline: an RFC 3339 time or a duration such as 30m or 7d',
    );
  return new Date(at).toISOString();
}

export function rolloutCommands(program: Command): void {
  const rollouts = program.command('rollout').description('staged rollouts of signed releases');

  rollouts
    .command('create')
    .description("roll a signed release out to its product's devices, wave by wave")
    .requiredOption('--release <release>', 'the release: id, version or latest')
    .option('--name <name>', 'a name for people')
    .option('--waves <percents>', 'cumulative percentages', '1,10,50,100')
    .option('--brand <brand>', 'only devices of this brand (id or name); repeat', collect)
    .option('--firmware <version>', 'only devices running this version; repeat', collect)
    .option('--tag <tag>', 'only devices with this tag; repeat', collect)
    .option('--device <device>', 'exactly these devices (id or serial); repeat', collect)
    .option('--success <share>', 'share of a wave that must succeed to advance', '0.95')
    .option('--failure <share>', 'share of failures that halts the rollout', '0.05')
    .option('--soak <seconds>', 'watch each successful wave this long (security releases: 0)')
    .option('--pace <perMinute>', 'at most this many offers per minute')
    .option('--window <window>', 'offer only then, e.g. "Mon-Fri 02:00-05:00 Europe/Berlin"')
    .option('--max-deferral <seconds>', 'how long a busy device may put the update off')
    .option(
      '--deadline <time|duration>',
      'complete the rollout then (RFC 3339, or from now: 30m, 7d), leaving out devices not offered it by then',
    )
    .option(
      '--wait',
      'follow the rollout like `rollout watch` until it ends, then print it (or its id with --quiet)',
    )
    .option('--interval <seconds>', 'with --wait: how often to look', '2')
    .action(async (opts: Record<string, string | string[] | boolean | undefined>, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const releaseId = await resolveRef(ctx, org, 'release', String(opts.release));
        const release = await ctx.client.request<{ productId: string }>(
          'GET',
          `/v1/orgs/${enc(org)}/releases/${enc(releaseId)}`,
        );
        const brandIds = await resolveEach(ctx, org, 'brand', opts.brand as string[] | undefined);
        const deviceIds = await resolveEach(ctx, org, 'device', opts.device as string[] | undefined, {
          productId: release.productId,
        });
        const deadline = opts.deadline === undefined ? undefined : deadlineFrom(String(opts.deadline));
        const number = (name: string) => {
          const value = opts[name];
          if (value === undefined) return undefined;
          const n = Number(value);
          if (!Number.isFinite(n)) throw new DomainError('validation-failed', `--${name} must be a number`);
          return n;
        };
        const selector = {
          ...(brandIds ? { brandIds } : {}),
          ...(opts.firmware ? { firmwareVersions: opts.firmware } : {}),
          ...(opts.tag ? { tags: opts.tag } : {}),
          ...(deviceIds ? { deviceIds } : {}),
        };
        const body = {
          releaseId,
          ...(opts.name ? { name: opts.name } : {}),
          selector,
          waves: String(opts.waves).split(',').map(Number),
          successThreshold: number('success'),
          failureThreshold: number('failure'),
          ...(opts.soak !== undefined ? { soakSeconds: number('soak') } : {}),
          ...(opts.pace !== undefined ? { pacePerMinute: number('pace') } : {}),
          ...(opts.window ? { window: opts.window } : {}),
          ...(opts.maxDeferral !== undefined ? { maxDeferralSeconds: number('maxDeferral') } : {}),
          ...(deadline ? { deadline } : {}),
        };
        let rollout = await ctx.client.request<RolloutProgress>(
          'POST',
          `/v1/orgs/${enc(org)}/rollouts`,
          body,
        );
        if (opts.wait) {
          rollout = await follow(ctx, org, rollout.id, Number(opts.interval));
          if (rollout.status === 'halted') process.exitCode = 1;
        }
        emit(ctx, rollout, () => printProgress(rollout));
      }),
    );

  rollouts
    .command('list')
    .description('rollouts, newest first')
    .option('--status <status>', 'running, paused, halted, cancelled or completed')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (opts: { status?: string; limit: string; cursor?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const page = await ctx.client.request<Page<Rollout>>(
          'GET',
          `/v1/orgs/${enc(org)}/rollouts${query(opts)}`,
        );
        emitPage(ctx, page, columns);
      }),
    );

  rollouts
    .command('get <rollout>')
    .description('a rollout with its progress per wave (id, name or latest)')
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'rollout', ref);
        const rollout = await get(ctx, org, id);
        emit(ctx, rollout, () => printProgress(rollout));
      }),
    );

  rollouts
    .command('watch <rollout>')
    .description(
      'follow a rollout until it completes, halts or is cancelled, or only offline devices are left: a progress bar on a terminal, one line per change otherwise',
    )
    .option('--interval <seconds>', 'how often to look', '2')
    .action(async (ref: string, opts: { interval: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'rollout', ref);
        const rollout = await follow(ctx, org, id, Number(opts.interval));
        emit(ctx, rollout, () => printProgress(rollout));
        if (rollout.status === 'halted') process.exitCode = 1;
      }),
    );

  rollouts
    .command('devices <rollout>')
    .description("the rollout's devices: wave, state and the reason a device gave")
    .option('--state <state>', 'only devices in this state (failed, rolled-back, pending, …)')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (ref: string, opts: { state?: string; limit: string; cursor?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'rollout', ref);
        const page = await ctx.client.request<
          Page<{
            deviceId: string;
            wave: number;
            state: string;
            reason: string | null;
            message: string | null;
            offers: number;
            updatedAt: string;
          }>
        >('GET', `/v1/orgs/${enc(org)}/rollouts/${enc(id)}/devices${query(opts)}`);
        emitPage(ctx, page, [
          ['device', (d) => d.deviceId],
          ['wave', (d) => d.wave + 1],
          ['state', (d) => d.state],
          ['reason', (d) => d.reason],
          ['message', (d) => d.message],
          ['offers', (d) => d.offers],
          ['updated', (d) => d.updatedAt],
        ]);
      }),
    );

  for (const action of ['pause', 'resume', 'cancel', 'complete'] as const)
    rollouts
      .command(`${action} <rollout>`)
      .description(
        action === 'pause'
          ? 'stop offering; devices already updating finish'
          : action === 'resume'
            ? 'continue a paused or halted rollout'
            : action === 'cancel'
              ? 'end the rollout; devices not yet offered keep their firmware'
              : 'end the rollout as done now: devices not yet offered it (offline ones, typically) are left out',
      )
      .action(async (ref: string, _opts: unknown, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const id = await resolveRef(ctx, org, 'rollout', ref);
          const rollout = await ctx.client.request<Rollout>(
            'POST',
            `/v1/orgs/${enc(org)}/rollouts/${enc(id)}/${action}`,
          );
          emit(ctx, rollout, () =>
            process.stdout.write(
              `rollout ${rollout.id}: ${rollout.status}${rollout.statusReason ? ` (${rollout.statusReason})` : ''}\n`,
            ),
          );
        }),
      );
}
