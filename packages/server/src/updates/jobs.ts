import { every } from '../jobs.js';
import type { Services } from '../services.js';

/**
 * The update jobs `serve` runs: the rollout engine every `tickMs` (offers, waves, halts), and the
 * re-signing of snapshot and timestamp metadata every `resignMs`. Each run waits for the last one,
 * so a slow database never stacks them up. Returns a function that stops both.
 */
export function startUpdateJobs(
  services: Pick<Services, 'rolloutEngine' | 'updateRepository'>,
  onError: (job: string, error: unknown) => void,
  options: { tickMs?: number; resignMs?: number } = {},
): () => void {
  const timers: NodeJS.Timeout[] = [];
  const schedule = (job: string, ms: number, work: () => Promise<unknown>) =>
    timers.push(every(ms, work, (error) => onError(job, error)));
  schedule('rollouts', options.tickMs ?? 2000, () => services.rolloutEngine.tick());
  schedule('tuf-resign', options.resignMs ?? 600_000, () =>
    services.updateRepository.refreshOnlineMetadata(),
  );
  // Right away too: a server that was down for a day must not serve an expired timestamp for long.
  services.updateRepository.refreshOnlineMetadata().catch((error: unknown) => onError('tuf-resign', error));
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
