import type { Services } from '../services.js';

/**
 * The webhook dispatcher `serve` runs: every `tickMs` (1 s by default) it reads new outbox events
 * into deliveries and sends those that are due. A run waits for the last one (jobs.ts), so a slow
 * receiver (10 s at most per attempt) delays the next run instead of stacking runs up. One node of
 * a cluster dispatches at a time (a lease): two would read the same outbox events into deliveries.
 */
export function startWebhookJobs(
  services: Pick<Services, 'webhookDispatcher' | 'jobs'>,
  onError: (error: unknown) => void,
  options: { tickMs?: number } = {},
): () => void {
  return services.jobs.every(
    'webhooks',
    options.tickMs ?? 1000,
    () => services.webhookDispatcher.tick(),
    onError,
  );
}
