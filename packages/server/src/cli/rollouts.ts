import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import type { Page } from '../store/pagination.js';
import type { Rollout, RolloutProgress } from '../updates/rollouts.js';
import { type CommandContext, collect, enc, query, resolveOrg, withClient } from './context.js';
import { emit, emitPage, printRecord, printTable } from './output.js';

const columns: [string, (r: Rollout) => unknown][] = [
  ['id', (r) => r.id],
  ['name', (r) => r.name],
  ['kind', (r) => r.kind],
  ['status', (r) => r.status],
  ['wave', (r) => `${r.currentWave + 1}/${r.waves.length}`],
  ['created', (r) => r.createdAt],
];

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
  });
  const inFlight = (s: Partial<Record<string, number>>) =>
    (s.offered ?? 0) +
    (s.deferred ?? 0) +
    (s.downloading ?? 0) +
    (s.verifying ?? 0) +
    (s.installing ?? 0) +
    (s.rebooting ?? 0);
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

export function rolloutCommands(program: Command): void {
  const rollouts = program.command('rollout').description('staged rollouts of signed releases');

  rollouts
    .command('create')
    .description("roll a signed release out to its product's devices, wave by wave")
    .requiredOption('--release <releaseId>', 'the release')
    .option('--name <name>', 'a name for people')
    .option('--waves <percents>', 'cumulative percentages', '1,10,50,100')
    .option('--brand <brandId>', 'only devices of this brand; repeat', collect)
    .option('--firmware <version>', 'only devices running this version; repeat', collect)
    .option('--tag <tag>', 'only devices with this tag; repeat', collect)
    .option('--device <deviceId>', 'exactly these devices; repeat', collect)
    .option('--success <share>', 'share of a wave that must succeed to advance', '0.95')
    .option('--failure <share>', 'share of failures that halts the rollout', '0.05')
    .option('--soak <seconds>', 'watch each successful wave this long (security releases: 0)')
    .option('--pace <perMinute>', 'at most this many offers per minute')
    .option('--window <window>', 'offer only then, e.g. "Mon-Fri 02:00-05:00 Europe/Berlin"')
    .option('--max-deferral <seconds>', 'how long a busy device may put the update off')
    .action(async (opts: Record<string, string | string[] | undefined>, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const number = (name: string) => {
          const value = opts[name];
          if (value === undefined) return undefined;
          const n = Number(value);
          if (!Number.isFinite(n)) throw new DomainError('validation-failed', `--${name} must be a number`);
          return n;
        };
        const selector = {
          ...(opts.brand ? { brandIds: opts.brand } : {}),
          ...(opts.firmware ? { firmwareVersions: opts.firmware } : {}),
          ...(opts.tag ? { tags: opts.tag } : {}),
          ...(opts.device ? { deviceIds: opts.device } : {}),
        };
        const body = {
          releaseId: opts.release,
          ...(opts.name ? { name: opts.name } : {}),
          selector,
          waves: String(opts.waves).split(',').map(Number),
          successThreshold: number('success'),
          failureThreshold: number('failure'),
          ...(opts.soak !== undefined ? { soakSeconds: number('soak') } : {}),
          ...(opts.pace !== undefined ? { pacePerMinute: number('pace') } : {}),
          ...(opts.window ? { window: opts.window } : {}),
          ...(opts.maxDeferral !== undefined ? { maxDeferralSeconds: number('maxDeferral') } : {}),
        };
        const rollout = await ctx.client.request<RolloutProgress>(
          'POST',
          `/v1/orgs/${enc(org)}/rollouts`,
          body,
        );
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
    .command('get <rolloutId>')
    .description('a rollout with its progress per wave')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const rollout = await get(ctx, org, id);
        emit(ctx, rollout, () => printProgress(rollout));
      }),
    );

  rollouts
    .command('watch <rolloutId>')
    .description('follow a rollout with a progress bar until it completes, halts or is cancelled')
    .option('--interval <seconds>', 'how often to look', '2')
    .action(async (id: string, opts: { interval: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const bar = ctx.json
          ? null
          : new SingleBar({
              format: 'wave {wave} [{bar}] {value}/{total} succeeded, {failed} failed, {status}',
              stream: process.stderr,
            });
        let rollout = await get(ctx, org, id);
        const total = () => Object.values(rollout.totals).reduce((a, b) => a + (b ?? 0), 0);
        const values = () => ({
          wave: `${rollout.currentWave + 1}/${rollout.waves.length}`,
          failed: (rollout.totals.failed ?? 0) + (rollout.totals['rolled-back'] ?? 0),
          status: rollout.status,
        });
        bar?.start(total(), rollout.totals.succeeded ?? 0, values());
        while (rollout.status === 'running' || rollout.status === 'paused') {
          await new Promise((r) => setTimeout(r, Number(opts.interval) * 1000));
          rollout = await get(ctx, org, id);
          bar?.setTotal(total());
          bar?.update(rollout.totals.succeeded ?? 0, values());
        }
        bar?.stop();
        emit(ctx, rollout, () => printProgress(rollout));
        if (rollout.status === 'halted') process.exitCode = 1;
      }),
    );

  rollouts
    .command('devices <rolloutId>')
    .description("the rollout's devices: wave, state and the reason a device gave")
    .option('--state <state>', 'only devices in this state (failed, rolled-back, pending, …)')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (id: string, opts: { state?: string; limit: string; cursor?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const page = await ctx.client.request<
          Page<{
            deviceId: string;
            wave: number;
            state: string;
            reason: string | null;
            offers: number;
            updatedAt: string;
          }>
        >('GET', `/v1/orgs/${enc(org)}/rollouts/${enc(id)}/devices${query(opts)}`);
        emitPage(ctx, page, [
          ['device', (d) => d.deviceId],
          ['wave', (d) => d.wave + 1],
          ['state', (d) => d.state],
          ['reason', (d) => d.reason],
          ['offers', (d) => d.offers],
          ['updated', (d) => d.updatedAt],
        ]);
      }),
    );

  for (const action of ['pause', 'resume', 'cancel'] as const)
    rollouts
      .command(`${action} <rolloutId>`)
      .description(
        action === 'pause'
          ? 'stop offering; devices already updating finish'
          : action === 'resume'
            ? 'continue a paused or halted rollout'
            : 'end the rollout; devices not yet offered keep their firmware',
      )
      .action(async (id: string, _opts: unknown, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const rollout = await ctx.client.request<Rollout>(
            'POST',
            `/v1/orgs/${enc(org)}/rollouts/${enc(id)}/${action}`,
          );
          emit(ctx, rollout, () => process.stdout.write(`rollout ${rollout.id}: ${rollout.status}\n`));
        }),
      );
}
