import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Principal } from '../access/roles.js';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { notFound } from '../errors.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { explainRequirement, meets, type SignInPolicyService } from './policy.js';
import type { PeopleService } from './service.js';

/** How a session began; an organisation's sign-in policy reads it (issue 16 §3). */
export type SignInMethod = 'passkey' | 'password+totp' | 'password' | 'recovery-code' | 'oidc' | 'invitation';

export interface SessionLimits {
  /** A session unused this long ends (OWASP ASVS 3.3.2 asks for an idle timeout). */
  idleMinutes: number;
  /** And every session ends this long after sign-in, used or not. */
  absoluteHours: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMinutes: 30, absoluteHours: 12 };

/** `__Host-` cookies are Secure, host-only and path `/` by definition (RFC 6265bis §4.1.3.2). */
export const SESSION_COOKIE = '__Host-brickless-session';
export const CSRF_HEADER = 'x-csrf-token';

export interface SessionView {
  handle: string;
  method: SignInMethod;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
}

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const LAST_SEEN_GRANULARITY_MS = 60_000;

/**
 * Browser sessions: a 256-bit secret in an HttpOnly cookie, stored as SHA-256, with an idle and an
 * absolute timeout, a CSRF token bound to the session (synchronizer token, OWASP CSRF cheat sheet),
 * and an epoch per person so that "sign out everywhere" and factor changes end every session at once.
 */
export class SessionService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #people: PeopleService;
  readonly #limits: SessionLimits;
  readonly #policies: SignInPolicyService;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    people: PeopleService;
    policies: SignInPolicyService;
    limits?: SessionLimits;
  }) {
    this.#policies = deps.policies;
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#people = deps.people;
    this.#limits = deps.limits ?? DEFAULT_SESSION_LIMITS;
  }

  get limits(): SessionLimits {
    return this.#limits;
  }

  /** Opens a session after a successful sign-in; audits it under the person's name. */
  async open(
    personId: string,
    method: SignInMethod,
    client: { ip?: string | null; userAgent?: string | null },
  ): Promise<{ secret: string; csrfToken: string; handle: string; expiresAt: string }> {
    const person = await this.#db
      .selectFrom('people')
      .selectAll()
      .where('id', '=', personId)
      .executeTakeFirstOrThrow();
    const now = this.#clock.now();
    const secret = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const handle = `ses_${randomBytes(8).toString('hex')}`;
    const expiresAt = new Date(now.getTime() + this.#limits.absoluteHours * 3_600_000).toISOString();
    await inTransaction(this.#db, async (trx) => {
      await trx
        .insertInto('sessions')
        .values({
          id_hash: hashSecret(secret),
          handle,
          person_id: personId,
          csrf_token: csrfToken,
          method,
          epoch: person.session_epoch,
          created_at: now.toISOString(),
          last_seen_at: now.toISOString(),
          expires_at: expiresAt,
          user_agent: client.userAgent?.slice(0, 200) ?? null,
          ip: client.ip ?? null,
          revoked_at: null,
        })
        .execute();
      await trx
        .updateTable('people')
        .set({ last_sign_in_at: now.toISOString(), failed_attempts: 0, throttled_until: null })
        .where('id', '=', personId)
        .execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `person:${person.email}`,
        action: 'person.sign-in',
        targetType: 'person',
        targetId: personId,
        details: { method, session: handle, ip: client.ip ?? null },
      });
    });
    return { secret, csrfToken, handle, expiresAt };
  }

  /**
   * The principal for a session cookie, or null when it is unknown, revoked, idle too long, past
   * its absolute end, or older than the person's last "sign out everywhere".
   */
  async authenticate(
    secret: string,
  ): Promise<{ principal: Principal; csrfToken: string; method: SignInMethod } | null> {
    if (!SECRET_PATTERN.test(secret)) return null;
    const row = await this.#db
      .selectFrom('sessions')
      .innerJoin('people', 'people.id', 'sessions.person_id')
      .select([
        'sessions.id_hash',
        'sessions.handle',
        'sessions.person_id',
        'sessions.csrf_token',
        'sessions.method',
        'sessions.epoch',
        'sessions.last_seen_at',
        'sessions.expires_at',
        'sessions.revoked_at',
        'people.session_epoch',
      ])
      .where('sessions.id_hash', '=', hashSecret(secret))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || row.epoch !== row.session_epoch) return null;
    const now = this.#clock.now().getTime();
    if (now >= new Date(row.expires_at).getTime()) return null;
    const lastSeen = new Date(row.last_seen_at).getTime();
    if (now - lastSeen >= this.#limits.idleMinutes * 60_000) return null;
    if (now - lastSeen > LAST_SEEN_GRANULARITY_MS)
      await this.#db
        .updateTable('sessions')
        .set({ last_seen_at: new Date(now).toISOString() })
        .where('id_hash', '=', row.id_hash)
        .execute();
    const person = await this.#people.principal(row.person_id, { sessionId: row.handle });
    if (!person) return null;
    const method = row.method as SignInMethod;
    return { principal: await this.#applyPolicies(person, method), csrfToken: row.csrf_token, method };
  }

  /**
   * Takes out the organisations whose sign-in policy this session's method does not meet. A
   * platform admin acts in every organisation, so every organisation's policy applies to them.
   */
  async #applyPolicies(principal: Principal, method: SignInMethod): Promise<Principal> {
    const required = principal.platformAdmin
      ? await this.#policies.strict()
      : await this.#policies.requirements([...principal.memberships.keys()]);
    const memberships = new Map(principal.memberships);
    const restricted = new Map<string, string>();
    for (const [orgId, requirement] of required) {
      if (meets(requirement, method)) continue;
      memberships.delete(orgId);
      restricted.set(orgId, explainRequirement(requirement));
    }
    return restricted.size === 0 ? principal : { ...principal, memberships, restricted };
  }

  static csrfMatches(expected: string, presented: string | undefined): boolean {
    if (typeof presented !== 'string') return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(presented);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async list(personId: string, currentHandle: string | null): Promise<SessionView[]> {
    const now = this.#clock.now().toISOString();
    const person = await this.#db
      .selectFrom('people')
      .select('session_epoch')
      .where('id', '=', personId)
      .executeTakeFirst();
    const rows = await this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('person_id', '=', personId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .execute();
    return rows
      .filter((r) => r.epoch === person?.session_epoch)
      .map((r) => ({
        handle: r.handle,
        method: r.method as SignInMethod,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        expiresAt: r.expires_at,
        userAgent: r.user_agent,
        ip: r.ip,
        current: r.handle === currentHandle,
      }));
  }

  /** Ends one session of the person (sign out, or a session they do not recognise). */
  async revoke(actor: string, personId: string, handle: string): Promise<void> {
    const result = await inTransaction(this.#db, async (trx) => {
      const updated = await trx
        .updateTable('sessions')
        .set({ revoked_at: this.#clock.now().toISOString() })
        .where('person_id', '=', personId)
        .where('handle', '=', handle)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return false;
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor,
        action: 'person.sign-out',
        targetType: 'person',
        targetId: personId,
        details: { session: handle },
      });
      return true;
    });
    if (!result) throw notFound('session', handle);
  }

  /** Ends every session of the person at once (ETSI EN 303 645 5.1; also after a factor change). */
  async revokeAll(actor: string, personId: string, reason: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const person = await trx
        .selectFrom('people')
        .select('session_epoch')
        .where('id', '=', personId)
        .executeTakeFirstOrThrow();
      await trx
        .updateTable('people')
        .set({ session_epoch: person.session_epoch + 1 })
        .where('id', '=', personId)
        .execute();
      await trx
        .updateTable('sessions')
        .set({ revoked_at: this.#clock.now().toISOString() })
        .where('person_id', '=', personId)
        .where('revoked_at', 'is', null)
        .execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor,
        action: 'person.sign-out-everywhere',
        targetType: 'person',
        targetId: personId,
        details: { reason },
      });
    });
  }

  /**
   * Ends every session of the person except `keepHandle` (the one making a factor change): a
   * changed password, TOTP or passkey means an older session may be an attacker's (OWASP ASVS
   * 3.3.3). Audited with the reason and how many ended; returns that number.
   */
  async revokeOthers(actor: string, personId: string, keepHandle: string, reason: string): Promise<number> {
    return inTransaction(this.#db, async (trx) => {
      const updated = await trx
        .updateTable('sessions')
        .set({ revoked_at: this.#clock.now().toISOString() })
        .where('person_id', '=', personId)
        .where('handle', '!=', keepHandle)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      const ended = Number(updated.numUpdatedRows);
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor,
        action: 'person.sign-out-others',
        targetType: 'person',
        targetId: personId,
        details: { reason, kept: keepHandle, ended },
      });
      return ended;
    });
  }

  /** Deletes sessions that ended more than a day ago (the jobs' retention pass). */
  async prune(): Promise<number> {
    const cutoff = new Date(this.#clock.now().getTime() - 86_400_000).toISOString();
    const result = await this.#db.deleteFrom('sessions').where('expires_at', '<', cutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
