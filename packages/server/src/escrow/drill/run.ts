import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as age from 'age-encryption';
import pg from 'pg';
import { systemClock } from '../../clock.js';
import { endpointRecordBody, signEndpointRecord } from '../../continuity/endpoints.js';
import { type Dialect, redactUrl } from '../../store/db.js';
import { depositFromApp } from '../service.js';
import { loadDepositKey } from '../signing.js';
import { restoreEscrow } from '../successor.js';
import { startFleet } from './fleet.js';
import { ApiFailure, startInstance } from './instance.js';
import { newKey, publishRoot, shipRelease } from './maker.js';
import { seedRegistry } from './registry.js';

export interface DrillOptions {
  devices: number;
  source: Dialect;
  target: Dialect;
  /** A PostgreSQL server URL whose user may create databases (for either side on PostgreSQL). */
  postgres: string;
  /** Seconds to wait for devices to move, and for the update. */
  timeoutSeconds: number;
  onStep?: (step: string) => void;
  /** A large registry seeded into the maker's database before the deposit (the benchmark). */
  registry?: { devices: number; telemetryRows: number };
  /** Update only this many devices in the signed-update check (default: all). */
  updateSample?: number;
  /** Runs after the checklist, before anything is removed: the benchmark times reference tools here. */
  afterChecks?: (context: {
    sourceDatabase: string;
    targetDatabase: string;
    /** The successor's data dir (master key, artifacts). */
    targetDataDir: string;
    escrowDir: string;
    identity: string;
  }) => Promise<void>;
}

export interface Feature {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillReport {
  devices: number;
  source: Dialect;
  target: Dialect;
  deposit: { seconds: number; rows: number; megabytes: number };
  /** From the start of the restore until the successor listens. */
  restoreSeconds: number;
  /** From the handover until the first, and 99 %, of the devices online then connected to the successor. */
  firstReconnectSeconds: number | null;
  reconnect99Seconds: number | null;
  /** From the start of the restore until the successor served 99 % of the devices (the 5-minute target). */
  served99FromRestoreSeconds: number | null;
  /** Devices off during the handover, booted after the old server was gone: how long until all were back. */
  late: { devices: number; backSeconds: number | null };
  reconnected: number;
  reconnectedShare: number;
  devicesLost: number;
  rowsLost: number;
  features: Feature[];
  ok: boolean;
}

const seconds = (ms: number) => Math.round(ms / 10) / 100;

async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A fresh database of the dialect: a file in `dir`, or a new PostgreSQL database dropped afterwards. */
async function freshDatabase(dialect: Dialect, dir: string, postgres: string) {
  if (dialect === 'sqlite') return { url: join(dir, 'brickless.db'), drop: async () => {} };
  const name = `brickless_drill_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgres, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch (error) {
    throw new Error(
      `the drill needs PostgreSQL at ${redactUrl(postgres)} (--postgres): ${(error as Error).message}`,
    );
  } finally {
    await admin.end().catch(() => {});
  }
  const url = new URL(postgres);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const cleanup = new pg.Client({ connectionString: postgres });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/**
 * The takeover drill (docs/continuity.md): a maker's server with N devices on the real SDK, a
 * deposit while it runs, a restore into a fresh server on other ports and the other dialect, the
 * handover signed with the escrow key, every device reconnecting, and then the features a
 * successor must have: telemetry, state, a command, and a signed update with the successor's own
 * keys; and the old server no longer controlling the moved devices.
 */
export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const step = options.onStep ?? (() => {});
  const work = mkdtempSync(join(tmpdir(), 'brickless-drill-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    // The maker's side.
    step('starting the maker server');
    const sourceDb = await freshDatabase(options.source, join(work, 'maker'), options.postgres);
    cleanups.push(sourceDb.drop);
    mkdirSync(join(work, 'maker'), { recursive: true });
    const maker = await startInstance({ dataDir: join(work, 'maker'), database: sourceDb.url });
    cleanups.unshift(() => maker.close());
    const org = await maker.call<{ id: string }>('POST', '/v1/orgs', { slug: 'maker', name: 'Maker GmbH' });
    const product = await maker.call<{ id: string }>('POST', '/v1/orgs/maker/products', {
      modelNumber: 'PLUG-1',
      name: 'Smart Plug',
      hardwareRevision: 'A',
      supportEnds: '2031-12-31',
      capabilities: {
        telemetry: { power: { schema: { type: 'number', minimum: 0 }, unit: 'W' } },
        state: { on: { schema: { type: 'boolean' }, writable: true } },
        commands: { ping: { description: 'answer' } },
      },
    });
    const makerRoot = newKey('maker-root');
    const makerTargets = newKey('maker-targets');
    const escrowKey = newKey('escrow');
    const root1 = await publishRoot(maker, 'maker', {
      version: 1,
      rootKeys: [makerRoot],
      escrowKeys: [escrowKey],
      targets: makerTargets,
      signers: [makerRoot],
    });
    await shipRelease(maker, 'maker', product.id, '1.0.0', makerTargets);
    const credentials: { deviceId: string; secret: string }[] = [];
    for (let i = 0; i < options.devices; i += 1000) {
      const batch = await maker.call<{ devices: { deviceId: string; secret: string }[] }>(
        'POST',
        '/v1/orgs/maker/provisioning',
        {
          productId: product.id,
          serials: Array.from(
            { length: Math.min(1000, options.devices - i) },
            (_, k) => `DRILL-${String(i + k).padStart(6, '0')}`,
          ),
          credential: 'secret',
          firmwareVersion: '1.0.0',
        },
      );
      credentials.push(...batch.devices);
    }
    // Seeded before devices connect: a long synchronous SQLite insert would stall their keepalives.
    if (options.registry) {
      step(`seeding ${options.registry.devices} more devices and ${options.registry.telemetryRows} readings`);
      await seedRegistry(
        maker.app.services.store,
        org.id,
        product.id,
        options.registry.devices,
        options.registry.telemetryRows,
      );
    }
    step(`connecting ${options.devices} devices`);
    const fleet = await startFleet({
      credentials,
      mqttUrl: maker.mqttUrl,
      httpUrl: maker.httpUrl,
      ca: maker.ca,
      root: root1,
      productId: product.id,
      dir: join(work, 'devices'),
    });
    // Devices stop before the servers (cleanups run first to last).
    cleanups.unshift(() => fleet.close());
    await fleet.sendTelemetry(fleet.devices, { power: 10 });
    await fleet.reportState(fleet.devices.slice(0, 10), { on: false });

    // The deposit, from the running server, while devices are connected.
    step('depositing');
    const identity = await age.generateX25519Identity();
    const recipient = await age.identityToRecipient(identity);
    const escrowDir = join(work, 'escrow');
    const makerConfig = {
      dataDir: join(work, 'maker'),
      database: sourceDb.url,
      secrets: { masterKeyFile: join(work, 'maker', 'master.key') },
    } as Parameters<typeof depositFromApp>[1];
    const depositStart = Date.now();
    const manifest = await depositFromApp(maker.app, makerConfig, escrowDir, [recipient], 'system:drill');
    const depositSeconds = seconds(Date.now() - depositStart);

    // The successor: only the escrow directory and the agent's identity.
    step(`restoring into ${options.target} on other ports`);
    const restoreStart = Date.now();
    const successorDir = join(work, 'successor');
    mkdirSync(successorDir, { recursive: true });
    const targetDb = await freshDatabase(options.target, successorDir, options.postgres);
    cleanups.push(targetDb.drop);
    // The agent trusts the maker's deposit key from the escrow agreement, and restores through
    // the same checks as verify.
    const restored = await restoreEscrow({
      bundle: escrowDir,
      identity,
      trust: { depositKey: loadDepositKey(join(work, 'maker'), { create: false }).publicKey },
      database: targetDb.url,
      artifactDir: join(successorDir, 'artifacts'),
      masterKeyFile: join(successorDir, 'master.key'),
    });
    const successor = await startInstance({ dataDir: successorDir, database: targetDb.url });
    cleanups.unshift(() => successor.close());
    const restoreSeconds = seconds(Date.now() - restoreStart);
    const rowsLost = Object.entries(manifest.tables).reduce(
      (lost, [table, entry]) => lost + Math.max(0, entry.rows - (restored.rows[table] ?? 0)),
      0,
    );

    // Some devices are off during the handover: they come back after the old server is gone.
    const lateCount = options.devices >= 2 ? Math.max(1, Math.floor(options.devices / 10)) : 0;
    const late = fleet.devices.slice(options.devices - lateCount);
    const online = fleet.devices.slice(0, options.devices - lateCount);
    await fleet.stop(late);

    // The handover: the escrow agent signs where the devices go, the old server pushes it.
    step(`handing over (${online.length} devices online, ${late.length} off)`);
    const record = signEndpointRecord(
      endpointRecordBody({
        org: org.id,
        version: 1,
        issued: systemClock.now().toISOString(),
        mode: 'cloud',
        mqtt: successor.mqttUrl,
        http: successor.httpUrl,
        ca: successor.ca,
      }),
      [escrowKey],
    );
    await successor.call('POST', `/v1/orgs/${org.id}/endpoint-records`, record);
    const handoverAt = Date.now();
    await maker.call('POST', `/v1/orgs/${org.id}/endpoint-records`, record);
    const timeout = options.timeoutSeconds * 1000;
    await until(() => online.every((d) => d.arrivedAt !== null), timeout);
    const arrivals = online
      .map((d) => d.arrivedAt)
      .filter((t): t is number => t !== null)
      .sort((a, b) => a - b);
    const need99 = Math.ceil(online.length * 0.99);
    const at99 = arrivals.length >= need99 ? (arrivals[need99 - 1] as number) : null;

    // The features a successor needs.
    step('checking features on the successor');
    const features: Feature[] = [];
    const check = async (name: string, work: () => Promise<string>) => {
      step(`  ${name}`);
      try {
        features.push({ name, ok: true, detail: await work() });
      } catch (error) {
        features.push({ name, ok: false, detail: (error as Error).message });
      }
    };
    const first = fleet.devices[0];
    if (!first) throw new Error('the drill needs at least one device');
    await check('data restored', async () => {
      if (rowsLost > 0) throw new Error(`${rowsLost} rows lost`);
      const broken = restored.chains.filter((c) => !c.ok);
      if (broken.length > 0) throw new Error(`audit chains broken: ${broken.map((c) => c.chain).join(', ')}`);
      return `${manifest.stats.rows} rows, ${restored.chains.length} audit chains verify, ${restored.sealedSecretsOpened} sealed keys open`;
    });
    await check('old server lets go', async () => {
      try {
        await maker.call('POST', `/v1/orgs/${org.id}/devices/${first.id}/commands`, { name: 'ping' });
      } catch (error) {
        if (error instanceof ApiFailure && error.code === 'device-moved')
          return 'the old server refuses commands to moved devices (409 device-moved)';
        throw error;
      }
      throw new Error('the old server still accepted a command for a moved device');
    });
    // The maker's server goes away for good; late devices find the record at the well-known path.
    step(`old server gone; ${late.length} late devices boot`);
    await maker.close();
    const lateStart = Date.now();
    const recordUrl = `${successor.httpUrl}/public/orgs/maker/endpoint.json`;
    await fleet.restart(late, [recordUrl]);
    await until(() => late.every((d) => d.arrivedAt !== null), timeout);
    const lateBack = late.map((d) => d.arrivedAt).filter((t): t is number => t !== null);
    // Devices report `arrived` as they connect; the successor records each report (with its audit
    // entry) as it comes, so the count may trail the connections by a little.
    let status = { devices: { arrived: 0 } };
    await until(
      async () => {
        status = await successor.call<{ devices: { arrived: number } }>('GET', `/v1/orgs/${org.id}/handover`);
        return status.devices.arrived >= options.devices;
      },
      timeout,
      1_000,
    );
    await check('late devices found the record', async () => {
      if (lateBack.length !== late.length)
        throw new Error(`${lateBack.length} of ${late.length} late devices arrived`);
      return `${late.length} devices that were off fetched the signed record from the well-known path and moved`;
    });
    await check('devices moved', async () => {
      if (status.devices.arrived !== options.devices)
        throw new Error(`${status.devices.arrived} of ${options.devices} reported arrived`);
      return `${status.devices.arrived} of ${options.devices} reported arrived to the successor`;
    });
    await check('telemetry', async () => {
      const since = Date.now();
      await fleet.sendTelemetry(fleet.devices, { power: 42 });
      const stored = async () =>
        Number(
          (
            await successor.app.services.store.db
              .selectFrom('telemetry')
              .select((eb) => eb.fn.countAll<number | string>().as('n'))
              .where('ts', '>=', since - 1000)
              .where('num_value', '=', 42)
              .executeTakeFirstOrThrow()
          ).n,
        );
      if (!(await until(async () => (await stored()) >= options.devices, 30_000)))
        throw new Error(`${await stored()} of ${options.devices} readings stored`);
      return `${options.devices} readings stored by the successor`;
    });
    await check('state', async () => {
      await successor
        .call('PATCH', `/v1/orgs/${org.id}/devices/${first.id}/state`, { version: 0, desired: { on: true } })
        .catch(async (error) => {
          // The maker may have changed desired state before: base the change on the current version.
          const twin = await successor.call<{ desiredVersion: number }>(
            'GET',
            `/v1/orgs/${org.id}/devices/${first.id}/state`,
          );
          if (!(error instanceof ApiFailure)) throw error;
          await successor.call('PATCH', `/v1/orgs/${org.id}/devices/${first.id}/state`, {
            version: twin.desiredVersion,
            desired: { on: true },
          });
        });
      if (!(await until(() => first.deltas.some((d) => d.on === true), 15_000)))
        throw new Error('the device got no delta');
      return 'desired state reached the device as a delta';
    });
    await check('command', async () => {
      const command = await successor.call<{ id: string }>(
        'POST',
        `/v1/orgs/${org.id}/devices/${first.id}/commands`,
        { name: 'ping' },
      );
      let state = '';
      const done = await until(async () => {
        state = (
          await successor.call<{ status: string }>(
            'GET',
            `/v1/orgs/${org.id}/devices/${first.id}/commands/${command.id}`,
          )
        ).status;
        return state === 'succeeded';
      }, 15_000);
      if (!done) throw new Error(`command ${state}`);
      return 'ping answered through the successor';
    });
    await check('signed update with the successor keys', async () => {
      // The successor rotates the targets key with the escrow key (a root key), then ships 1.1.0.
      const successorTargets = newKey('successor-targets');
      await publishRoot(successor, org.id, {
        version: 2,
        rootKeys: [],
        escrowKeys: [escrowKey],
        targets: successorTargets,
        signers: [escrowKey],
      });
      const release = await shipRelease(successor, org.id, product.id, '1.1.0', successorTargets);
      const sample = fleet.devices.slice(0, Math.min(options.updateSample ?? options.devices, 10_000));
      await successor.call('POST', `/v1/orgs/${org.id}/rollouts`, {
        releaseId: release,
        selector: { deviceIds: sample.map((d) => d.id) },
        waves: [100],
      });
      let updatedCount = 0;
      const updated = async () => {
        const versions = await fleet.versions(sample);
        updatedCount = [...versions.values()].filter((v) => v === '1.1.0').length;
        return updatedCount;
      };
      const done = await until(
        async () => {
          await successor.app.services.rolloutEngine.tick();
          return (await updated()) === sample.length;
        },
        timeout,
        500,
      );
      if (!done) throw new Error(`${updatedCount} of ${sample.length} devices run 1.1.0`);
      return `${sample.length} devices verified (TUF, root 2 signed by the escrow key) and run 1.1.0 from the successor`;
    });

    await options.afterChecks?.({
      sourceDatabase: sourceDb.url,
      targetDatabase: targetDb.url,
      targetDataDir: successorDir,
      escrowDir,
      identity,
    });
    const reconnected = arrivals.length + lateBack.length;
    const devicesLost = options.devices - reconnected;
    const lateSeconds = lateBack.length ? seconds(Math.max(...lateBack) - lateStart) : null;
    return {
      devices: options.devices,
      source: options.source,
      target: options.target,
      deposit: {
        seconds: depositSeconds,
        rows: manifest.stats.rows,
        megabytes: Math.round((manifest.stats.newBytes / 1048576) * 10) / 10,
      },
      restoreSeconds,
      firstReconnectSeconds: arrivals[0] ? seconds(arrivals[0] - handoverAt) : null,
      reconnect99Seconds: at99 ? seconds(at99 - handoverAt) : null,
      served99FromRestoreSeconds: at99 ? seconds(at99 - restoreStart) : null,
      late: { devices: late.length, backSeconds: lateSeconds },
      reconnected,
      reconnectedShare: Math.round((reconnected / options.devices) * 10000) / 10000,
      devicesLost,
      rowsLost,
      features,
      ok: devicesLost === 0 && rowsLost === 0 && features.every((f) => f.ok),
    };
  } finally {
    step('stopping');
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}
