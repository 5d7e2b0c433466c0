import { every } from '../jobs.js';
import { checkEndOfSupportAhead } from '../owner-notices/producers.js';
import type { Services } from '../services.js';
import { checkReadiness, checkReportDeadlines, checkSigningExpiry } from './producers.js';

/**
 * The notification jobs `serve` runs (docs/notifications.md): the notifier every `notifyMs`
 * (fan-out into inboxes, then e-mail), and the time-based checks every `checkMs` (report clocks,
 * TUF expiry, takeover readiness warnings). Several nodes may run them: every step is idempotent
 * (dedupe keys, one notice per person and event, claimed e-mails). Returns a stop function.
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
  const timers = [
    every(
      options.notifyMs ?? 30_000,
      () => services.notifier.run(),
      (error) => log.error(error, 'notifier'),
    ),
    every(
      options.checkMs ?? 15 * 60_000,
      () => checkTimeBased(services),
      (error) => log.error(error, 'notification-checks'),
    ),
    // Owners' end of support ahead (issue 18 §3): daily, and at start; idempotent per device and lead.
    every(
      24 * 3_600_000,
      () => checkEndOfSupportAhead(services, options.endOfSupportLeadDays),
      (error) => log.error(error, 'owner-end-of-support'),
    ),
  ];
  checkTimeBased(services).catch((error: unknown) => log.error(error, 'notification-checks'));
  checkEndOfSupportAhead(services, options.endOfSupportLeadDays).catch((error: unknown) =>
    log.error(error, 'owner-end-of-support'),
  );
  return () => {
    for (const timer of timers) clearInterval(timer);
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
