import { checkEndOfSupportAhead } from '../owner-notices/producers.js';
import type { Services } from '../services.js';
import { checkReadiness, checkReportDeadlines, checkSigningExpiry } from './producers.js';

/**
 * The notification jobs `serve` runs (docs/notifications.md): the notifier every `notifyMs`
 * (fan-out into inboxes, then e-mail), and the time-based checks every `checkMs` (report clocks,
 * TUF expiry, takeover readiness warnings). Every step is idempotent (dedupe keys, one notice per
 * person and event, claimed e-mails), and each job still runs on one node of a cluster at a time
 * (a lease): N nodes racing through one fan-out only cost N times the work. Returns a stop function.
 */
export function startNotificationJobs(
  services: Services,
  log: { info: (message: string) => void; error: (error: unknown, job: string) => void },
  options: { notifyMs?: number; checkMs?: number; endOfSupportLeadDays?: readonly number[] } = {},
): () => void {
  if (!services.mailer.configured)
    log.info(
      'notifications: e-mail is off (set mail.smtpUrl and mail.from to send it); notices still reach each person’s inbox',
    );
  const stops = [
    services.jobs.every(
      'notifier',
      options.notifyMs ?? 30_000,
      () => services.notifier.run(),
      (error) => log.error(error, 'notifier'),
    ),
    services.jobs.every(
      'notification-checks',
      options.checkMs ?? 15 * 60_000,
      () => checkTimeBased(services),
      (error) => log.error(error, 'notification-checks'),
    ),
    // Owners' end of support ahead (issue 18 §3): daily, and at start; idempotent per device and lead.
    services.jobs.every(
      'owner-end-of-support',
      24 * 3_600_000,
      () => checkEndOfSupportAhead(services, options.endOfSupportLeadDays),
      (error) => log.error(error, 'owner-end-of-support'),
    ),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}

/** The time-based producers, one after the other; returns how many events each recorded. */
export async function checkTimeBased(
  services: Services,
): Promise<{ reportDeadlines: number; signing: number; readiness: number }> {
  return {
    reportDeadlines: await checkReportDeadlines(services),
    signing: await checkSigningExpiry(services),
    readiness: await checkReadiness(services),
  };
}
