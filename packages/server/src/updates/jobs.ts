import type { Services } from '../services.js';

/**
 * The update jobs `serve` runs: the rollout engine every `tickMs` (offers, waves, halts), and the
 * re-signing of snapshot and timestamp metadata every `resignMs`. Each run waits for the last one,
 * so a slow database never stacks them up. Both run on one node of a cluster at a time (a lease:
 * two engines would offer and advance waves twice; two signers would race for the next metadata
 * version). Returns a function that stops both.
 */
export function startUpdateJobs(
  services: Pick<Services, 'rolloutEngine' | 'updateRepository' | 'jobs'>,
  onError: (job: string, error: unknown) => void,
  options: { tickMs?: number; resignMs?: number } = {},
): () => void {
  const stops: (() => void)[] = [];
  const schedule = (job: string, ms: number, work: () => Promise<unknown>) =>
    stops.push(services.jobs.every(job, ms, work, (error) => onError(job, error)));
  schedule('rollouts', options.tickMs ?? 2000, () => services.rolloutEngine.tick());
  schedule('tuf-resign', options.resignMs ?? 600_000, () =>
    services.updateRepository.refreshOnlineMetadata(),
  );
  // A server that was down for a day must not serve an expired timestamp for long: the first poll
  // (seconds after start) finds the job due unless another node re-signed within the period.
  return () => {
    for (const stop of stops) stop();
  };
}
