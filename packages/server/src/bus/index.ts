import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../http/metrics.js';
import { type Bus, type BusObserver, InProcessBus } from './bus.js';
import type { BusSettings } from './url.js';

export type { Bus, BusEvent, BusEvents, BusObserver } from './bus.js';
export { InProcessBus } from './bus.js';
export type { BusSettings } from './url.js';

/**
 * The observer app.ts gives its bus: metrics always, log lines through `log` (the HTTP logger,
 * which exists only once the app is built; until then nothing is logged). A dropped message is
 * logged at most every 10 s with how many were suppressed, so a flood cannot flood the log too.
 */
export function busObserver(metrics: Metrics, log: () => FastifyBaseLogger | null): BusObserver {
  let lastDropLog = 0;
  let suppressed = 0;
  return {
    dropped(event, reason, detail) {
      metrics.busDropped.inc({ event, reason });
      if (Date.now() - lastDropLog < 10_000) {
        suppressed += 1;
        return;
      }
      lastDropLog = Date.now();
      log()?.warn({ event, reason, detail, suppressed }, 'bus message dropped');
      suppressed = 0;
    },
    handlerFailed(event, error) {
      log()?.error({ err: error, event }, 'bus subscriber failed');
    },
    connection(up, detail) {
      metrics.busUp.set(up ? 1 : 0);
      if (up) log()?.info({ detail }, 'bus connected');
      else log()?.warn({ detail }, 'bus connection lost; reconnecting');
    },
    carried(event, direction) {
      metrics.busMessages.inc({ event, direction });
    },
  };
}

/** The in-process bus without `settings.url`, else a NATS connection (decision 0028). */
export async function openBus(
  settings: BusSettings | undefined,
  options: { observer: BusObserver; claim: (change: string) => boolean; nodeName: string },
): Promise<Bus> {
  if (!settings?.url) return new InProcessBus(options.observer);
  // Loaded only when asked for: a single node never loads the NATS client.
  const { NatsBus } = await import('./nats.js');
  return NatsBus.connect({ settings: { ...settings, url: settings.url }, ...options });
}
