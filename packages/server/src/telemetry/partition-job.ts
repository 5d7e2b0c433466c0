import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { JobScheduler } from '../cluster/leases.js';
import { every } from '../jobs.js';
import type { Database } from '../store/schema.js';
import { type MaintenanceResult, maintainPartitions } from './partitions.js';

/** How often the partition job runs: partitions exist a week ahead, so hourly is plenty. */
export const PARTITION_JOB_MS = 3_600_000;

/**
 * Runs the partition job now and every `everyMs` (PostgreSQL; nothing to do on SQLite): day
 * partitions a week ahead, rows out of the DEFAULT partition (telemetry/partitions.ts). Two nodes
 * running it at once is harmless: the one that loses the race to create a partition fails that
 * run (its transaction rolls back) and finds the partition there on the next. Returns a stop
 * function.
 */
export function startPartitionMaintenance(
  deps: { db: Kysely<Database>; clock: Clock },
  retentionDays: number,
  onError: (error: unknown) => void,
  onRun: (result: MaintenanceResult) => void = () => {},
  everyMs = PARTITION_JOB_MS,
  jobs?: JobScheduler,
): () => void {
  const run = async () => onRun(await maintainPartitions(deps.db, deps.clock.now().getTime(), retentionDays));
  // serve: on one node of a cluster at a time (a lease, decision 0029), first run at once.
  if (jobs) return jobs.every('telemetry-partitions', everyMs, run, onError);
  // The timer starts when the first run is over, so the two never race for the same partition.
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  run()
    .catch(onError)
    .finally(() => {
      if (!stopped) timer = every(everyMs, run, onError);
    });
  return () => {
    stopped = true;
    if (timer) clearInterval(timer);
  };
}
