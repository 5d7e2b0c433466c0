import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';
import { newId } from '../ids.js';
import type { Mailer } from '../mail/mailer.js';
import { normaliseEmail } from '../people/service.js';
import { isUniqueViolation } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import type { Attempts, Limit } from './attempts.js';

/** An owner's session cookie: its own name, never the staff one (`__Host-`: Secure, host-only, path /). */
export const OWNER_SESSION_COOKIE = '__Host-brickless-owner';

/** A sign-in link is valid this long, and once. */
export const LINK_MINUTES = 15;
/** Links asked for, per address and per e-mail address (each e-mail costs someone an inbox entry). */
export const LINK_LIMITS = {
  perAddress: { kind: 'link-ip', max: 10, windowMs: 3_600_000 },
  perEmail: { kind: 'link-email', max: 5, windowMs: 3_600_000 },
} satisfies Record<string, Limit>;

export interface OwnerSessionLimits {
  idleMinutes: number;
  absoluteHours: number;
}
/** Owners sign in on their own phones and computers: longer than staff sessions, still bounded. */
export const OWNER_SESSION_LIMITS: OwnerSessionLimits = { idleMinutes: 7 * 24 * 60, absoluteHours: 30 * 24 };

export interface Owner {
  id: string;
  email: string;
  createdAt: string;
  /** `en` or `de`: the language of the owner's notices and e-mails (issue 18 §3). */
  language: OwnerLanguage;
}

export const ownerLanguages = ['en', 'de'] as const;
export type OwnerLanguage = (typeof ownerLanguages)[number];
const asLanguage = (value: string | undefined): OwnerLanguage => (value === 'de' ? 'de' : 'en');

export interface OwnerSession {
  ownerId: string;
  handle: string;
  csrfToken: string;
  /** When the session was opened: deleting the account needs a fresh one (rights/service.ts). */
  createdAt: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const hashLink = (token: string) => sha256(`owner-link:${token}`);
const hashSession = (secret: string) => sha256(secret);
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const LAST_SEEN_GRANULARITY_MS = 60_000;

/** Where the link in the e-mail points: the secret after `#`, which browsers never send to a server. */
export const ownerSignInUrl = (base: string, token: string): string =>
  `${base.replace(/\/+$/, '')}/owner/sign-in#${token}`;

/**
 * Owner accounts and their sign-in by e-mail link (issue 18 §1): no password. A link is a 256-bit
 * secret, stored as a hash, valid for 15 minutes and once; its first use makes the account.
 */
export class OwnerSignInService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #mailer: Mailer;
  readonly #publicUrl: string | null;
  readonly #attempts: Attempts;
  readonly limits: OwnerSessionLimits;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    mailer: Mailer;
    publicUrl: string | null;
    attempts: Attempts;
    limits?: OwnerSessionLimits;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#mailer = deps.mailer;
    this.#publicUrl = deps.publicUrl;
    this.#attempts = deps.attempts;
    this.limits = deps.limits ?? OWNER_SESSION_LIMITS;
  }

  /**
   * Sends a sign-in link to the address. The answer is the same whether an account exists or not.
   * The link names `http.publicUrl`, never the request's Host header: a forged Host would otherwise
   * send the owner's secret to another site.
   */
  async requestLink(emailInput: string, ip: string): Promise<{ expiresAt: string }> {
    const email = normaliseEmail(emailInput);
    if (!this.#mailer.configured)
      throw new DomainError(
        'mail-not-configured',
        'owner sign-in sends an e-mail: set mail.smtpUrl and mail.from',
      );
    if (!this.#publicUrl)
      throw new DomainError(
        'mail-not-configured',
        'owner sign-in links need the address owners reach this server at: set http.publicUrl',
      );
    await this.#attempts.check(LINK_LIMITS.perAddress, ip, 'sign-in links from this address');
    await this.#attempts.check(LINK_LIMITS.perEmail, email, 'sign-in links for this e-mail address');
    const now = this.#clock.now();
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + LINK_MINUTES * 60_000).toISOString();
    await inTransaction(this.#db, async (trx) => {
      await this.#attempts.record(LINK_LIMITS.perAddress, ip, trx);
      await this.#attempts.record(LINK_LIMITS.perEmail, email, trx);
      await trx
        .insertInto('owner_sign_in_links')
        .values({
          token_hash: hashLink(token),
          email,
          created_at: now.toISOString(),
          expires_at: expiresAt,
          used_at: null,
        })
        .execute();
    });
    const url = ownerSignInUrl(this.#publicUrl, token);
    await this.#mailer.send({
      to: email,
      subject: 'Your sign-in link',
      text:
        `Open this link to sign in and see your devices:\n\n${url}\n\n` +
        `It works once, for ${LINK_MINUTES} minutes. If you did not ask for it, ignore this message.\n`,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    return { expiresAt };
  }

  /** Uses a link once: makes the account on first use, opens a session. Unknown, used and expired alike fail. */
  async complete(
    token: string,
    /** The language a new account starts with (the browser's Accept-Language at sign-up). */
    language: OwnerLanguage = 'en',
  ): Promise<{ owner: Owner; secret: string; csrfToken: string; expiresAt: string }> {
    const refused = new DomainError(
      'unauthenticated',
      'this sign-in link is unknown, used or expired: ask for a new one',
    );
    if (!SECRET.test(token)) throw refused;
    try {
      return await this.#completeOnce(token, refused, language);
    } catch (error) {
      // Two first sign-ins of one new address at the same moment (two links, two tabs): the
      // second insert of the owner collides on the unique e-mail and its transaction, the link's
      // use included, rolls back. Once more it finds the account the first one made.
      if (!isUniqueViolation(error)) throw error;
      return this.#completeOnce(token, refused, language);
    }
  }

  async #completeOnce(
    token: string,
    refused: DomainError,
    language: OwnerLanguage,
  ): Promise<{ owner: Owner; secret: string; csrfToken: string; expiresAt: string }> {
    const now = this.#clock.now();
    const at = now.toISOString();
    return inTransaction(this.#db, async (trx) => {
      // Marking the link used and checking it are one statement: two racing uses cannot both win.
      const used = await trx
        .updateTable('owner_sign_in_links')
        .set({ used_at: at })
        .where('token_hash', '=', hashLink(token))
        .where('used_at', 'is', null)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) throw refused;
      const link = await trx
        .selectFrom('owner_sign_in_links')
        .select('email')
        .where('token_hash', '=', hashLink(token))
        .executeTakeFirstOrThrow();
      let row = await trx.selectFrom('owners').selectAll().where('email', '=', link.email).executeTakeFirst();
      if (!row) {
        row = { id: newId('own', now), email: link.email, created_at: at, last_sign_in_at: null, language };
        await trx.insertInto('owners').values(row).execute();
        // The audit names the owner by id only: an e-mail address is personal data kept elsewhere.
        await this.#audit.append(trx, PLATFORM_CHAIN, {
          actor: `owner:${row.id}`,
          action: 'owner.create',
          targetType: 'owner',
          targetId: row.id,
          details: {},
        });
      }
      const session = await this.#openSession(trx, row.id, now);
      return {
        owner: {
          id: row.id,
          email: row.email,
          createdAt: row.created_at,
          language: asLanguage(row.language),
        },
        ...session,
      };
    });
  }

  /**
   * Opens an owner session after another way of signing in proved who they are (a passkey,
   * owners/passkeys.ts): the same cookie and limits as the e-mail link.
   */
  async openSession(
    ownerId: string,
  ): Promise<{ owner: Owner; secret: string; csrfToken: string; expiresAt: string }> {
    const now = this.#clock.now();
    return inTransaction(this.#db, async (trx) => {
      const row = await trx
        .selectFrom('owners')
        .selectAll()
        .where('id', '=', ownerId)
        .executeTakeFirstOrThrow();
      const session = await this.#openSession(trx, row.id, now);
      return {
        owner: {
          id: row.id,
          email: row.email,
          createdAt: row.created_at,
          language: asLanguage(row.language),
        },
        ...session,
      };
    });
  }

  async #openSession(
    trx: Kysely<Database>,
    ownerId: string,
    now: Date,
  ): Promise<{ secret: string; csrfToken: string; expiresAt: string }> {
    const at = now.toISOString();
    await trx.updateTable('owners').set({ last_sign_in_at: at }).where('id', '=', ownerId).execute();
    const secret = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.limits.absoluteHours * 3_600_000).toISOString();
    await trx
      .insertInto('owner_sessions')
      .values({
        id_hash: hashSession(secret),
        handle: `oss_${randomBytes(8).toString('hex')}`,
        owner_id: ownerId,
        csrf_token: csrfToken,
        created_at: at,
        last_seen_at: at,
        expires_at: expiresAt,
        revoked_at: null,
      })
      .execute();
    return { secret, csrfToken, expiresAt };
  }

  /** The owner of a session cookie, or null when it is unknown, revoked, idle too long or past its end. */
  async authenticate(secret: string): Promise<OwnerSession | null> {
    if (!SECRET.test(secret)) return null;
    const row = await this.#db
      .selectFrom('owner_sessions')
      .selectAll()
      .where('id_hash', '=', hashSession(secret))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null) return null;
    const now = this.#clock.now().getTime();
    if (now >= new Date(row.expires_at).getTime()) return null;
    const lastSeen = new Date(row.last_seen_at).getTime();
    if (now - lastSeen >= this.limits.idleMinutes * 60_000) return null;
    if (now - lastSeen > LAST_SEEN_GRANULARITY_MS)
      await this.#db
        .updateTable('owner_sessions')
        .set({ last_seen_at: new Date(now).toISOString() })
        .where('id_hash', '=', row.id_hash)
        .execute();
    return {
      ownerId: row.owner_id,
      handle: row.handle,
      csrfToken: row.csrf_token,
      createdAt: row.created_at,
    };
  }

  async signOut(handle: string): Promise<void> {
    await this.#db
      .updateTable('owner_sessions')
      .set({ revoked_at: this.#clock.now().toISOString() })
      .where('handle', '=', handle)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async get(ownerId: string): Promise<Owner> {
    const row = await this.#db
      .selectFrom('owners')
      .selectAll()
      .where('id', '=', ownerId)
      .executeTakeFirstOrThrow();
    return { id: row.id, email: row.email, createdAt: row.created_at, language: asLanguage(row.language) };
  }

  /** The owner chooses the language of their notices; the ones already written stay as they are. */
  async setLanguage(ownerId: string, language: OwnerLanguage): Promise<Owner> {
    await inTransaction(this.#db, async (trx) => {
      await trx.updateTable('owners').set({ language }).where('id', '=', ownerId).execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `owner:${ownerId}`,
        action: 'owner.language',
        targetType: 'owner',
        targetId: ownerId,
        details: { language },
      });
    });
    return this.get(ownerId);
  }

  static csrfMatches(expected: string, presented: string | undefined): boolean {
    if (typeof presented !== 'string') return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(presented);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Deletes sessions and links that ended more than a day ago, and old rate-limit counts. */
  async prune(): Promise<number> {
    const cutoff = new Date(this.#clock.now().getTime() - 86_400_000).toISOString();
    const sessions = await this.#db
      .deleteFrom('owner_sessions')
      .where('expires_at', '<', cutoff)
      .executeTakeFirst();
    const links = await this.#db
      .deleteFrom('owner_sign_in_links')
      .where('expires_at', '<', cutoff)
      .executeTakeFirst();
    return Number(sessions.numDeletedRows) + Number(links.numDeletedRows) + (await this.#attempts.prune());
  }
}
