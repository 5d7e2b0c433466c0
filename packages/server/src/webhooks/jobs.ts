import { every } from '../jobs.js';
import type { Services } from '../services.js';

/**
 * The webhook dispatcher `serve` runs: every `tickMs` (1 s by default) it reads new outbox events
 * into deliveries and sends those that are due. A run waits for the last one (jobs.ts), so a slow
 * receiver (10 s at most per attempt) delays the next run instead of stacking runs up.
 */
export function startWebhookJobs(
  services: Pick<Services, 'webhookDispatcher'>,
  onError: (error: unknown) => void,
  options: { tickMs?: number } = {},
): () => void {
  const timer = every(options.tickMs ?? 1000, () => services.webhookDispatcher.tick(), onError);
  return () => clearInterval(timer);
}
