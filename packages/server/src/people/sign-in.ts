import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';
import { RateLimiter } from '../gateway/rate-limit.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import type { FactorService } from './factors.js';
import { verifyDecoy, verifyPassword } from './passwords.js';
import { emailKey } from './service.js';
import type { SignInMethod } from './sessions.js';

/** Free password attempts per account before each failure doubles the wait. */
export const FREE_ATTEMPTS = 5;
/** The longest wait between password attempts for one account. */
export const MAX_THROTTLE_MS = 15 * 60_000;

export interface PasswordSignIn {
  email: string;
  password: string;
  /** The 6-digit code of the person's authenticator app, when TOTP is on. */
  code?: string;
  /** One recovery code instead of the TOTP code. */
  recoveryCode?: string;
}

const WRONG = 'the e-mail address or the password is wrong';
/** Addresses without an account whose failures are remembered (in memory, per node). */
const UNKNOWN_REMEMBERED = 10_000;

/** After FREE_ATTEMPTS failures each further one doubles the wait, up to MAX_THROTTLE_MS. */
function throttleAfter(failures: number, now: Date): string | null {
  if (failures < FREE_ATTEMPTS) return null;
  const wait = Math.min(MAX_THROTTLE_MS, 1000 * 2 ** (failures - FREE_ATTEMPTS));
  return new Date(now.getTime() + wait).toISOString();
}

const accountThrottled = (until: string) =>
  new DomainError(
    'rate-limited',
    `too many wrong passwords for this account: try again after ${until}, or sign in with a passkey`,
  );

/**
 * Password sign-in, the fallback to passkeys (issue 16 §3, §4). Brute force is impractical
 * (ETSI EN 303 645 5.1-5) without handing a guesser a lockout of the real person:
 * - per address, a token bucket of failures (10, then one every 6 s): an office behind one address
 *   signing in successfully is never slowed;
 * - per account, after 5 failures each further failure doubles the wait for the next password
 *   attempt, up to 15 minutes, never a permanent lock; passkeys and invitations are not affected,
 *   so the real person always has a way in that a guesser cannot block.
 * Unknown accounts cost the same argon2id work and get the same answer as a wrong password.
 */
export class PasswordSignInService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #factors: FactorService;
  readonly #perAddress: RateLimiter;
  readonly #unknown = new Map<string, { failures: number; throttledUntil: string | null }>();

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; factors: FactorService }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#factors = deps.factors;
    this.#perAddress = new RateLimiter({ rate: 1 / 6, burst: 10, now: () => this.#clock.now().getTime() });
  }

  async signIn(input: PasswordSignIn, ip: string): Promise<{ personId: string; method: SignInMethod }> {
    if (this.#perAddress.exhausted(ip))
      throw new DomainError('rate-limited', 'too many failed sign-ins from this address: wait a minute');
    const email = emailKey(input.email);
    const person = await this.#db
      .selectFrom('people')
      .selectAll()
      .where('email', '=', email)
      .executeTakeFirst();
    const now = this.#clock.now();
    if (!person || person.disabled_at !== null || person.password_hash === null) {
      // An address without an account is slowed down exactly like one with, or the slowing down
      // itself would tell a guesser which addresses have accounts.
      const throttled = this.#unknown.get(email)?.throttledUntil ?? null;
      if (throttled && new Date(throttled).getTime() > now.getTime()) throw accountThrottled(throttled);
      await verifyDecoy(input.password);
      await this.#failed(null, email, ip, 'unknown');
      throw new DomainError('unauthenticated', WRONG);
    }
    if (person.throttled_until && new Date(person.throttled_until).getTime() > now.getTime())
      throw accountThrottled(person.throttled_until);
    if (!(await verifyPassword(person.password_hash, input.password))) {
      await this.#failed(person, email, ip, 'password');
      throw new DomainError('unauthenticated', WRONG);
    }
    if (person.totp_confirmed_at === null) return { personId: person.id, method: 'password' };
    if (input.code !== undefined) {
      if (await this.#factors.checkTotp(person.id, input.code))
        return { personId: person.id, method: 'password+totp' };
      await this.#failed(person, email, ip, 'totp');
      throw new DomainError(
        'unauthenticated',
        'the code is wrong or was used already: wait for the next one',
      );
    }
    if (input.recoveryCode !== undefined) {
      if (await this.#factors.useRecoveryCode(person.id, input.recoveryCode))
        return { personId: person.id, method: 'recovery-code' };
      await this.#failed(person, email, ip, 'recovery-code');
      throw new DomainError('unauthenticated', 'the recovery code is wrong or was used already');
    }
    throw new DomainError(
      'unauthenticated',
      'this account needs the code from its authenticator app (or a recovery code)',
      [{ field: '/code', message: 'required: the 6-digit code from the authenticator app' }],
    );
  }

  async #failed(person: Database['people'] | null, email: string, ip: string, factor: string): Promise<void> {
    this.#perAddress.take(ip);
    const now = this.#clock.now();
    await inTransaction(this.#db, async (trx) => {
      let throttledUntil: string | null = null;
      if (!person) {
        const failures = (this.#unknown.get(email)?.failures ?? 0) + 1;
        throttledUntil = throttleAfter(failures, now);
        this.#unknown.delete(email);
        this.#unknown.set(email, { failures, throttledUntil });
        // Bounded: the oldest address is forgotten first (a Map iterates in insertion order).
        if (this.#unknown.size > UNKNOWN_REMEMBERED)
          this.#unknown.delete(this.#unknown.keys().next().value as string);
      } else {
        const failures = person.failed_attempts + 1;
        throttledUntil = throttleAfter(failures, now);
        await trx
          .updateTable('people')
          .set({ failed_attempts: failures, throttled_until: throttledUntil })
          .where('id', '=', person.id)
          .execute();
      }
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `sign-in:${ip}`,
        action: 'person.sign-in-failed',
        targetType: 'person',
        targetId: person?.id ?? email.slice(0, 254),
        details: { email: email.slice(0, 254), factor, throttledUntil },
      });
    });
  }
}
