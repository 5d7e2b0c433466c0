import type { Clock } from '../clock.js';
import type { Store } from '../store/db.js';
import type { JobLeases } from './leases.js';
import { aliveNodes, type NodeRegistry, type NodeRegistryDeps } from './nodes.js';
import { reapDeadNodes, reapOrphans } from './reaper.js';

/** How often the orphan sweep runs (reaper.ts says why it is rare). */
const ORPHAN_SWEEP_MS = 5 * 60_000;

export interface ClusterDeps {
  node: NodeRegistry;
  jobs: JobLeases;
  store: Store;
  clock: Clock;
  /** The gateway's side of presence across nodes (gateway/mqtt.ts). */
  gateway: { dropTakenOver(): Promise<number>; reassertPresence(): void };
  logger: NodeRegistryDeps['logger'];
}

/**
 * This node in a cluster (issue 19 §2, §3; docs/architecture.md, "Jobs and presence in a
 * cluster"): its heartbeat in `nodes`, the check at every beat for sessions that moved to another
 * node, and the lease-held presence jobs that clear dead nodes' devices. On one SQLite node the
 * same code runs and simply finds no other node.
 */
export class Cluster {
  readonly node: NodeRegistry;
  readonly jobs: JobLeases;
  readonly #deps: ClusterDeps;
  #stops: (() => void)[] = [];

  constructor(deps: ClusterDeps) {
    this.#deps = deps;
    this.node = deps.node;
    this.jobs = deps.jobs;
    // Only when another node is alive: alone, no one can have taken a device over, and a single
    // SQLite node with a large fleet is spared reading every connected device every heartbeat.
    deps.node.onBeat(async () => {
      const others = (await aliveNodes(deps.store.db, deps.store.dialect, deps.node.timings.expiryMs)).filter(
        (n) => n.id !== deps.node.id,
      );
      if (others.length > 0) await deps.gateway.dropTakenOver();
    });
    deps.node.onRevived(async () => deps.gateway.reassertPresence());
  }

  /** Registers this node and starts its heartbeat and the presence jobs; before the gateway listens. */
  async start(options: { address?: string } = {}): Promise<void> {
    if (this.node.started) return;
    const { store, clock, logger } = this.#deps;
    await this.node.start(options.address);
    const { heartbeatMs, expiryMs } = this.node.timings;
    const reaperDeps = { db: store.db, dialect: store.dialect, clock };
    this.#stops = [
      this.jobs.every(
        'presence-reaper',
        heartbeatMs,
        async () => {
          const reaped = await reapDeadNodes(reaperDeps, expiryMs);
          if (reaped.nodes.length > 0)
            logger.warn(
              { nodes: reaped.nodes, devices: reaped.devices },
              'nodes stopped beating: their devices are marked offline',
            );
        },
        (error) => logger.warn({ err: error }, 'presence reaper failed'),
      ),
      this.jobs.every(
        'presence-orphans',
        ORPHAN_SWEEP_MS,
        async () => {
          const devices = await reapOrphans(reaperDeps);
          if (devices > 0) logger.info({ devices }, 'devices of unknown nodes marked offline');
        },
        (error) => logger.warn({ err: error }, 'presence orphan sweep failed'),
      ),
    ];
  }

  /** A clean stop, after the gateway has closed (its devices are written offline): the row goes. */
  async stop(): Promise<void> {
    for (const stop of this.#stops) stop();
    this.#stops = [];
    try {
      await this.node.stop();
    } catch (error) {
      // The others' reaper removes the row after the expiry instead.
      this.#deps.logger.warn({ err: error, node: this.node.id }, 'node row not removed at stop');
    }
  }

  /** Stops beating and polling without any cleanup, as a node killed with -9 would (tests). */
  halt(): void {
    for (const stop of this.#stops) stop();
    this.#stops = [];
    this.node.halt();
  }
}
