import type { Services } from '../services.js';
import { ChallengeStore } from './challenges.js';

export interface PeoplePruned {
  sessions: number;
  challenges: number;
  invitations: number;
  /** Owners' ended sessions and sign-in links, and rate-limit counts older than a day. */
  owners: number;
  /** OAuth codes and tokens of the app API that ended a day ago. */
  appTokens: number;
}

/**
 * The retention pass over sign-in state (issue 16): sessions ended a day ago, sign-in challenges
 * (passkey and single sign-on) past their few minutes, invitations expired a month ago. None of
 * them can be used any more; deleting them keeps hashes of dead secrets out of the database.
 */
export async function prunePeople(
  services: Pick<Services, 'sessions' | 'invitations' | 'ownerSignIn' | 'appTokens' | 'store' | 'clock'>,
): Promise<PeoplePruned> {
  const challenges = new ChallengeStore({ db: services.store.db, clock: services.clock });
  return {
    sessions: await services.sessions.prune(),
    challenges: await challenges.prune(),
    invitations: await services.invitations.prune(),
    owners: await services.ownerSignIn.prune(),
    appTokens: await services.appTokens.prune(),
  };
}

/**
 * Runs `prunePeople` at the first poll and every `everyMs` (hourly by default) until the returned
 * function is called, on one node of a cluster at a time (a lease).
 */
export function startPeopleRetention(
  services: Pick<
    Services,
    'sessions' | 'invitations' | 'ownerSignIn' | 'appTokens' | 'store' | 'clock' | 'jobs'
  >,
  onError: (error: unknown) => void,
  everyMs = 3_600_000,
): () => void {
  return services.jobs.every('people-retention', everyMs, () => prunePeople(services), onError);
}
