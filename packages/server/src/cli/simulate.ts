import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BricklessDevice } from '@brickless/device';
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
  updatesRoot?: string;
  httpUrl?: string;
  firmware: string;
  securityVersion: string;
  failInstall: string;
  failHealth: string;
  busy: string;
  updatesDir?: string;
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
    .option(
      '--updates-root <file>',
      "take part in rollouts: the organisation's TUF root (brickless updates root export)",
    )
    .option('--http-url <url>', 'the HTTPS API for update downloads, e.g. https://localhost:8443')
    .option('--firmware <version>', 'the firmware the virtual devices start with', '1.0.0')
    .option('--security-version <n>', 'their security version (anti-rollback floor)', '1')
    .option('--fail-install <share>', 'share of installs that fail, to exercise the automatic halt', '0')
    .option('--fail-health <share>', 'share of health checks that fail after the reboot (rolled back)', '0')
    .option('--busy <share>', 'share of devices busy when an update is offered (they defer once)', '0')
    .option(
      '--updates-dir <dir>',
      'where the virtual devices keep their slots (default: a temporary directory)',
    )
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
        const hardware = new Map<string, string>();
        // One bounded connection pool for every virtual device's downloads: thousands of devices
        // in one process must not open thousands of HTTPS connections (and file descriptors) at once.
        const httpAgent = new Agent({ keepAlive: true, maxTotalSockets: 256 });
        for (const productId of new Set(lines.map((l) => l.productId))) {
          const product = await ctx.client.request<{
            capabilities: CapabilityModel;
            hardwareRevision: string;
          }>('GET', `/v1/orgs/${enc(org)}/products/${enc(productId)}`);
          models.set(productId, product.capabilities);
          hardware.set(productId, product.hardwareRevision);
        }
        // The devices trust the same CA as the CLI: --ca, or the data dir's.
        const ca = readFileSync(
          ctx.options.ca ?? process.env.BRICKLESS_CA ?? `${ctx.config.dataDir}/tls/ca.crt`,
          'utf8',
        );
        if (opts.updatesRoot && !opts.httpUrl)
          throw new DomainError(
            'validation-failed',
            '--updates-root needs --http-url (where images are downloaded)',
          );
        const trustedRoot = opts.updatesRoot ? readFileSync(opts.updatesRoot, 'utf8') : null;
        // The device SDK (MQTT client, tuf-js) is loaded here, not with every CLI command (issue 15).
        const { BricklessDevice } = await import('@brickless/device');
        const share = (name: string, value: string) => {
          const n = Number(value);
          if (!(n >= 0 && n <= 1))
            throw new DomainError('validation-failed', `--${name} must be a share from 0 to 1`);
          return n;
        };
        const failInstall = share('fail-install', opts.failInstall);
        const failHealth = share('fail-health', opts.failHealth);
        const busyShare = share('busy', opts.busy);
        const updatesDir = trustedRoot
          ? (opts.updatesDir ?? mkdtempSync(join(tmpdir(), 'brickless-simulate-')))
          : null;
        const interval = parseDuration(opts.interval);
        const duration = parseDuration(opts.duration);
        const stats = {
          devices: lines.length,
          /** Devices that connected during the run, at the first attempt or after retries. */
          connected: 0,
          connectedAfterRetry: 0,
          /** Devices that never connected: refused every time, or unreachable. */
          failedToConnect: 0,
          /** Connection attempts the server refused or that failed (a rate limit, a wrong secret). */
          refusedAttempts: 0,
          readingsSent: 0,
          readingsDropped: 0,
          commandsAnswered: 0,
          serverErrors: 0,
          updatesSucceeded: 0,
          updatesFailed: 0,
          updatesRolledBack: 0,
          updatesDeferred: 0,
        };
        const fleet: BricklessDevice[] = [];
        const timers: NodeJS.Timeout[] = [];
        const rampDelay = 1000 / Math.max(1, Number(opts.rampPerSecond));
        const started = Date.now();
        /** Set when the run ends: the closes that follow are not refusals. */
        let finished = false;

        const progress = setInterval(() => {
          if (!ctx.json) {
            process.stderr.write(
              `simulate: ${stats.connected}/${stats.devices} connected, ${stats.readingsSent} readings sent, ${stats.serverErrors} server errors` +
                (trustedRoot
                  ? `, ${stats.updatesSucceeded} updated, ${stats.updatesFailed + stats.updatesRolledBack} failed`
                  : '') +
                '\n',
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
            ...(trustedRoot && updatesDir && opts.httpUrl
              ? {
                  updates: {
                    httpUrl: opts.httpUrl,
                    dir: join(updatesDir, line.deviceId),
                    trustedRoot,
                    productId: line.productId,
                    hardware: hardware.get(line.productId) ?? '',
                    version: opts.firmware,
                    securityVersion: Number(opts.securityVersion),
                    deferRetryMs: 1000,
                    httpAgent,
                    isBusy: (() => {
                      let busy = Math.random() < busyShare;
                      return () => {
                        const now = busy;
                        busy = false; // busy once: the next try goes ahead
                        return now;
                      };
                    })(),
                    install: async () => {
                      if (Math.random() < failInstall) throw new Error('simulated install failure');
                    },
                    healthCheck: async () => Math.random() >= failHealth,
                  },
                }
              : {}),
          });
          device.on('update', (status) => {
            if (status.step === 'succeeded') stats.updatesSucceeded++;
            else if (status.step === 'failed') stats.updatesFailed++;
            else if (status.step === 'rolled-back') stats.updatesRolledBack++;
            else if (status.step === 'deferred') stats.updatesDeferred++;
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
          // A refused attempt is not a refused device: the SDK retries with backoff (a gateway
          // over its connect rate answers "server unavailable" and takes the device a moment
          // later), so a device counts as failed only if it never got in during the run.
          let failures = 0;
          let connected = false;
          device.on('disconnected', () => {
            if (connected || finished) return;
            failures++;
            if (stats.refusedAttempts++ === 0)
              process.stderr.write(`simulate: ${line.deviceId}: connection refused or failed; retrying\n`);
          });
          device.on('connected', () => {
            // A device that got in only as the run ended starts no telemetry timer: nothing would
            // clear it, and the process would never exit (seen on a loaded machine).
            if (connected || finished) return;
            connected = true;
            stats.connected++;
            if (failures > 0) stats.connectedAfterRetry++;
            const tick = () => {
              const values = Object.fromEntries(
                Object.entries(model.telemetry).map(([name, field]) => [name, sample(field)]),
              );
              if (Object.keys(values).length === 0) return;
              void device.sendTelemetry(values).then(() => stats.readingsSent++);
            };
            tick();
            timers.push(setInterval(tick, interval));
          });
          device.connect().catch(() => {}); // counted above; the SDK keeps retrying
          await new Promise((r) => setTimeout(r, rampDelay));
        }
        await new Promise((r) => setTimeout(r, Math.max(0, duration - (Date.now() - started))));
        clearInterval(progress);
        finished = true;
        for (const timer of timers) clearInterval(timer);
        for (const device of fleet) stats.readingsDropped += device.dropped;
        stats.failedToConnect = stats.devices - stats.connected;
        await Promise.all(fleet.map((d) => d.close()));
        httpAgent.destroy();
        if (updatesDir && !opts.updatesDir) rmSync(updatesDir, { recursive: true, force: true });
        const result = { ...stats, seconds: Math.round((Date.now() - started) / 100) / 10 };
        emit(ctx, result, () =>
          process.stdout.write(
            `simulated ${result.devices} devices for ${result.seconds} s: ${result.connected} connected` +
              (result.connectedAfterRetry ? ` (${result.connectedAfterRetry} after a retry)` : '') +
              `, ${result.failedToConnect} never connected, ${result.refusedAttempts} refused attempts, ` +
              `${result.readingsSent} readings sent, ${result.commandsAnswered} commands answered, ${result.serverErrors} server errors` +
              (trustedRoot
                ? `; updates: ${result.updatesSucceeded} succeeded, ${result.updatesFailed} failed, ${result.updatesRolledBack} rolled back, ${result.updatesDeferred} deferred`
                : '') +
              '\n',
          ),
        );
        if (stats.failedToConnect > 0) process.exitCode = 1;
      }),
    );
}
