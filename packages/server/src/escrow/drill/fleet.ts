import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FleetCall, FleetEvent, FleetReply, FleetRequest, WorkerOptions } from './fleet-protocol.js';

/** What the drill knows of one simulated device; the device itself runs in a fleet process. */
export interface DrillDevice {
  id: string;
  /** When the device connected to the server an endpoint record sent it to (ms since the epoch). */
  arrivedAt: number | null;
  /** Desired state deltas it received. */
  deltas: Record<string, unknown>[];
  commands: number;
}

/** What every fleet process gets (fleet-protocol.ts), with the defaults left open. */
export interface FleetOptions extends Omit<WorkerOptions, 'concurrency' | 'moveSpreadMs'> {
  /** Connections each process opens at once at start. */
  concurrency?: number;
  /** Devices per process (each connection holds a descriptor; the open-file limit is per process). */
  perProcess?: number;
}

export interface Fleet {
  devices: DrillDevice[];
  sendTelemetry(devices: DrillDevice[], values: Record<string, number>): Promise<void>;
  reportState(devices: DrillDevice[], state: Record<string, unknown>): Promise<void>;
  /** Powers devices off (their SDK closes). */
  stop(devices: DrillDevice[]): Promise<void>;
  /** Boots devices again from their saved settings, as after a power cut; `recordUrls` as built in. */
  restart(devices: DrillDevice[], recordUrls: string[]): Promise<void>;
  /** The firmware version each device runs now. */
  versions(devices: DrillDevice[]): Promise<Map<string, string | null>>;
  close(): Promise<void>;
}

/** The worker beside this file: the TypeScript source under tsx (tests, bench), the build otherwise. */
function workerPath(): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), here.endsWith('.ts') ? 'fleet-worker.ts' : 'fleet-worker.js');
}

class FleetProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  #next = 0;
  #exited: Error | null = null;

  constructor(onEvent: (event: FleetEvent) => void) {
    // execArgv is inherited, so a drill running under tsx runs its workers under tsx too.
    this.#child = fork(workerPath(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message: FleetEvent | FleetReply) => {
      if ('event' in message) return onEvent(message);
      const waiter = this.#pending.get(message.reply);
      this.#pending.delete(message.reply);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(`fleet process: ${message.error}`));
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = new Error(`a fleet process ended (${signal ?? `exit code ${code}`})`);
      for (const waiter of this.#pending.values()) waiter.reject(this.#exited);
      this.#pending.clear();
    });
  }

  call<T = unknown>(request: FleetCall): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.send({ ...request, id } as FleetRequest);
    });
  }

  async end(): Promise<void> {
    if (this.#exited) return;
    await this.call({ op: 'close' }).catch(() => {});
    const exited = once(this.#child, 'exit');
    this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * N devices running the real SDK in child processes, each device with its own credential, TUF
 * root, A/B slots and settings file, over MQTT/TLS and HTTPS. They take part in handovers and
 * updates exactly as a device in the field does.
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const devices: DrillDevice[] = options.credentials.map(({ deviceId }) => ({
    id: deviceId,
    arrivedAt: null,
    deltas: [],
    commands: 0,
  }));
  const byId = new Map(devices.map((d) => [d.id, d]));
  const onEvent = (event: FleetEvent) => {
    const device = byId.get(event.device);
    if (!device) return;
    if (event.event === 'arrived') device.arrivedAt = event.at;
    else if (event.event === 'delta') device.deltas.push(event.state);
    else device.commands++;
  };
  const perProcess = options.perProcess ?? 2_500;
  const count = Math.max(1, Math.ceil(devices.length / perProcess));
  const processes: FleetProcess[] = [];
  const home = new Map<string, FleetProcess>();
  const base: Omit<WorkerOptions, 'credentials'> = {
    mqttUrl: options.mqttUrl,
    httpUrl: options.httpUrl,
    ca: options.ca,
    root: options.root,
    productId: options.productId,
    dir: options.dir,
    concurrency: options.concurrency ?? 50,
    // Arrivals spread over about 12 ms per device (100 a second), whatever the number of processes.
    moveSpreadMs: Math.max(500, devices.length * 12),
  };
  try {
    await Promise.all(
      Array.from({ length: count }, (_, index) => {
        const share = options.credentials.filter((_c, i) => i % count === index);
        const child = new FleetProcess(onEvent);
        processes.push(child);
        for (const { deviceId } of share) home.set(deviceId, child);
        return child.call({ op: 'start', options: { ...base, credentials: share } });
      }),
    );
  } catch (error) {
    await Promise.all(processes.map((p) => p.end()));
    throw error;
  }
  // One request per process, with that process's devices.
  const fan = async <T>(list: DrillDevice[], request: (ids: string[]) => FleetCall): Promise<T[]> => {
    const groups = new Map<FleetProcess, string[]>();
    for (const d of list) {
      const child = home.get(d.id) as FleetProcess;
      const ids = groups.get(child);
      if (ids) ids.push(d.id);
      else groups.set(child, [d.id]);
    }
    return Promise.all([...groups].map(([child, ids]) => child.call<T>(request(ids))));
  };
  return {
    devices,
    sendTelemetry: async (list, values) => {
      await fan(list, (ids) => ({ op: 'telemetry', ids, values }));
    },
    reportState: async (list, state) => {
      await fan(list, (ids) => ({ op: 'state', ids, state }));
    },
    stop: async (list) => {
      await fan(list, (ids) => ({ op: 'stop', ids }));
    },
    restart: async (list, recordUrls) => {
      await fan(list, (ids) => ({ op: 'restart', ids, recordUrls }));
    },
    versions: async (list) => {
      const parts = await fan<Record<string, string | null>>(list, (ids) => ({ op: 'versions', ids }));
      return new Map(parts.flatMap((part) => Object.entries(part)));
    },
    close: async () => {
      await Promise.all(processes.map((p) => p.end()));
    },
  };
}
