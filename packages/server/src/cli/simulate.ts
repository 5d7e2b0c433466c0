import { readFileSync } from 'node:fs';
import { BricklessDevice } from '@brickless/device';
import type { CapabilityModel, TelemetryField } from '@brickless/protocol';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import { parseDuration } from '../telemetry/routes.js';
import { enc, resolveOrg, withClient } from './context.js';
import { emit } from './output.js';

interface SimulateOpts {
  batch: string;
  url: string;
  devices?: string;
  interval: string;
  duration: string;
  rampPerSecond: string;
}

interface BatchLine {
  deviceId: string;
  productId: string;
  secret?: string;
  certificate?: string;
  privateKey?: string;
}

/** A plausible random value for a telemetry field, inside its schema's bounds. */
function sample(field: TelemetryField): number | boolean | string {
  const { type, minimum, maximum } = field.schema as { type: string; minimum?: number; maximum?: number };
  const lo = typeof minimum === 'number' ? minimum : 0;
  const hi = typeof maximum === 'number' ? maximum : lo + 100;
  if (type === 'boolean') return Math.random() < 0.5;
  if (type === 'string') return 'ok';
  const value = lo + Math.random() * (hi - lo);
  return type === 'integer' ? Math.round(value) : Math.round(value * 100) / 100;
}

export function simulateCommand(program: Command): void {
  program
    .command('simulate')
    .description(
      'run virtual devices from a provisioning batch: telemetry, state and commands over the real protocol',
    )
    .requiredOption('--batch <file>', 'JSONL from `brickless devices provision`')
    .requiredOption('--url <url>', 'the gateway, e.g. mqtts://localhost:8883')
    .option('--devices <n>', 'how many of the batch to run (default all)')
    .option('--interval <duration>', 'telemetry interval per device: 500ms, 10s, 1m', '10s')
    .option('--duration <duration>', 'how long to run', '60s')
    .option('--ramp-per-second <n>', 'connections opened per second', '200')
    .action(async (opts: SimulateOpts, command: Command) =>
      withClient(command, async (ctx) => {
        const lines = readFileSync(opts.batch, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as BatchLine)
          .slice(0, opts.devices ? Number(opts.devices) : undefined);
        if (lines.length === 0) throw new DomainError('validation-failed', `${opts.batch} holds no devices`);
        const unusable = lines.findIndex((l) => !l.secret && !(l.certificate && l.privateKey));
        if (unusable >= 0)
          throw new DomainError(
            'validation-failed',
            `${opts.batch} line ${unusable + 1}: no secret or certificate and key (factory lines must claim first)`,
          );
        const org = await resolveOrg(ctx);
        const models = new Map<string, CapabilityModel>();
        for (const productId of new Set(lines.map((l) => l.productId))) {
          const product = await ctx.client.request<{ capabilities: CapabilityModel }>(
            'GET',
            `/v1/orgs/${enc(org)}/products/${enc(productId)}`,
          );
          models.set(productId, product.capabilities);
        }
        // The devices trust the same CA as the CLI: --ca, or the data dir's.
        const ca = readFileSync(
          ctx.options.ca ?? process.env.BRICKLESS_CA ?? `${ctx.config.dataDir}/tls/ca.crt`,
          'utf8',
        );
        const interval = parseDuration(opts.interval);
        const duration = parseDuration(opts.duration);
        const stats = {
          devices: lines.length,
          connected: 0,
          failedToConnect: 0,
          readingsSent: 0,
          readingsDropped: 0,
          commandsAnswered: 0,
          serverErrors: 0,
        };
        const fleet: BricklessDevice[] = [];
        const timers: NodeJS.Timeout[] = [];
        const rampDelay = 1000 / Math.max(1, Number(opts.rampPerSecond));
        const started = Date.now();

        const progress = setInterval(() => {
          if (!ctx.json) {
            process.stderr.write(
              `simulate: ${stats.connected}/${stats.devices} connected, ${stats.readingsSent} readings sent, ${stats.serverErrors} server errors\n`,
            );
          }
        }, 5000);
        for (const line of lines) {
          const model = models.get(line.productId) as CapabilityModel;
          const device = new BricklessDevice({
            url: opts.url,
            ca,
            deviceId: line.deviceId,
            ...(line.certificate && line.privateKey
              ? { certificate: { cert: line.certificate, key: line.privateKey } }
              : { secret: line.secret as string }),
          });
          for (const name of Object.keys(model.commands)) {
            device.onCommand(name, () => {
              stats.commandsAnswered++;
              return { simulated: true };
            });
          }
          device.onDelta((state) => device.reportState(state));
          device.on('serverError', () => stats.serverErrors++);
          fleet.push(device);
          device.connect().then(
            () => {
              stats.connected++;
              const tick = () => {
                const values = Object.fromEntries(
                  Object.entries(model.telemetry).map(([name, field]) => [name, sample(field)]),
                );
                if (Object.keys(values).length === 0) return;
                void device.sendTelemetry(values).then(() => stats.readingsSent++);
              };
              tick();
              timers.push(setInterval(tick, interval));
            },
            (error: unknown) => {
              if (stats.failedToConnect++ === 0)
                process.stderr.write(`simulate: ${line.deviceId}: ${(error as Error).message}\n`);
              void device.close();
            },
          );
          await new Promise((r) => setTimeout(r, rampDelay));
        }
        await new Promise((r) => setTimeout(r, Math.max(0, duration - (Date.now() - started))));
        clearInterval(progress);
        for (const timer of timers) clearInterval(timer);
        for (const device of fleet) stats.readingsDropped += device.dropped;
        await Promise.all(fleet.map((d) => d.close()));
        const result = { ...stats, seconds: Math.round((Date.now() - started) / 100) / 10 };
        emit(ctx, result, () =>
          process.stdout.write(
            `simulated ${result.devices} devices for ${result.seconds} s: ${result.connected} connected, ${result.failedToConnect} refused, ` +
              `${result.readingsSent} readings sent, ${result.commandsAnswered} commands answered, ${result.serverErrors} server errors\n`,
          ),
        );
        if (stats.failedToConnect > 0) process.exitCode = 1;
      }),
    );
}
