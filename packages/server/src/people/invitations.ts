import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { OrgRole } from '../access/roles.js';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import { normaliseEmail, type PeopleService, parseRoles, rolesFromColumn } from './service.js';

export interface Invitation {
  id: string;
  orgId: string | null;
  email: string | null;
  roles: OrgRole[];
  platformAdmin: boolean;
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  acceptedAt: string | null;
  acceptedBy: string | null;
  revokedAt: string | null;
}

export const INVITATION_DAYS_DEFAULT = 7;
/** How long an expired invitation stays listed before the retention job deletes it. */
export const INVITATION_KEEP_DAYS = 30;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const hashToken = (token: string) => createHash('sha256').update(`invitation:${token}`).digest('hex');

/** Where a person opens an invitation: the console's page, the secret after `#` (never sent in logs). */
export const invitationUrl = (base: string, token: string): string =>
  `${base.replace(/\/+$/, '')}/invitation#${token}`;

/**
 * One-time invitations (issue 16 §2) and the setup link that creates the first administrator: a
 * 256-bit secret shown once, stored as a hash, valid once and until it expires.
 */
export class InvitationService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #people: PeopleService;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; people: PeopleService }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#people = deps.people;
  }

  async create(
    actor: string,
    input: {
      orgId: string | null;
      email: string | null;
      roles: string[];
      platformAdmin?: boolean;
      expiresInDays?: number;
    },
  ): Promise<{ token: string; invitation: Invitation }> {
    const platformAdmin = input.platformAdmin ?? false;
    if (!platformAdmin && input.orgId === null) throw invalid('/org', 'an invitation names an organisation');
    const roles = platformAdmin ? [] : parseRoles(input.roles);
    const email = input.email === null ? null : normaliseEmail(input.email);
    const days = input.expiresInDays ?? INVITATION_DAYS_DEFAULT;
    if (!Number.isInteger(days) || days < 1 || days > 30)
      throw invalid('/expiresInDays', 'must be 1 to 30 days');
    const now = this.#clock.now();
    const token = randomBytes(32).toString('base64url');
    const invitation: Invitation = {
      id: newId('inv', now),
      orgId: input.orgId,
      email,
      roles,
      platformAdmin,
      createdAt: now.toISOString(),
      createdBy: actor,
      expiresAt: new Date(now.getTime() + days * 86_400_000).toISOString(),
      acceptedAt: null,
      acceptedBy: null,
      revokedAt: null,
    };
    await inTransaction(this.#db, async (trx) => {
      await trx
        .insertInto('invitations')
        .values(toRow(invitation, hashToken(token)))
        .execute();
      await this.#audit.append(trx, invitation.orgId ?? PLATFORM_CHAIN, {
        actor,
        action: 'invitation.create',
        targetType: 'invitation',
        targetId: invitation.id,
        details: { email, roles, platformAdmin, expiresAt: invitation.expiresAt },
      });
    });
    return { token, invitation };
  }

  /**
   * The first administrator's setup link (issue 16 §2): while nobody has an account, every start
   * makes a fresh link (valid a day) and ends the older ones, so a link printed in an old log is
   * worthless. Null once a person exists.
   */
  async setupLink(): Promise<string | null> {
    if ((await this.#people.count()) > 0) return null;
    const now = this.#clock.now().toISOString();
    await this.#db
      .updateTable('invitations')
      .set({ revoked_at: now })
      .where('platform_admin', '=', 1)
      .where('org_id', 'is', null)
      .where('email', 'is', null)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .execute();
    const { token } = await this.create('system:first-start', {
      orgId: null,
      email: null,
      roles: [],
      platformAdmin: true,
      // A day is long enough to finish the first hour, short enough that a leaked log goes stale.
      expiresInDays: 1,
    });
    return token;
  }

  /**
   * The successor's setup link after an escrow restore (issue 16 §7): the maker's people came
   * along, but their passkeys are bound to the maker's domain and their passwords are theirs, so
   * the successor makes its own platform administrator with this one-time link (valid 7 days).
   */
  async successorLink(actor: string): Promise<string> {
    const { token } = await this.create(actor, {
      orgId: null,
      email: null,
      roles: [],
      platformAdmin: true,
      expiresInDays: 7,
    });
    return token;
  }

  async list(orgId: string | null): Promise<Invitation[]> {
    let q = this.#db.selectFrom('invitations').selectAll();
    q = orgId === null ? q.where('org_id', 'is', null) : q.where('org_id', '=', orgId);
    return (await q.orderBy('id', 'desc').execute()).map(fromRow);
  }

  async revoke(actor: string, orgId: string | null, id: string): Promise<Invitation> {
    return inTransaction(this.#db, async (trx) => {
      let q = trx.selectFrom('invitations').selectAll().where('id', '=', id);
      q = orgId === null ? q.where('org_id', 'is', null) : q.where('org_id', '=', orgId);
      const row = await q.executeTakeFirst();
      if (!row) throw notFound('invitation', id);
      if (row.accepted_at || row.revoked_at)
        throw new DomainError('conflict', `invitation ${id} was already used or revoked`);
      const now = this.#clock.now().toISOString();
      await trx.updateTable('invitations').set({ revoked_at: now }).where('id', '=', id).execute();
      await this.#audit.append(trx, orgId ?? PLATFORM_CHAIN, {
        actor,
        action: 'invitation.revoke',
        targetType: 'invitation',
        targetId: id,
        details: { email: row.email },
      });
      return fromRow({ ...row, revoked_at: now });
    });
  }

  /** What an invitation offers, for the page that accepts it; unknown, used and expired alike are not found. */
  async peek(token: string): Promise<Invitation & { orgSlug: string | null; orgName: string | null }> {
    const row = await this.#usable(token);
    const org = row.org_id
      ? await this.#db
          .selectFrom('organizations')
          .select(['slug', 'name'])
          .where('id', '=', row.org_id)
          .executeTakeFirst()
      : undefined;
    return { ...fromRow(row), orgSlug: org?.slug ?? null, orgName: org?.name ?? null };
  }

  /**
   * Accepts an invitation: a new person (with a password, or none when they will add a passkey in
   * the session that follows), or, for an e-mail that already has an account, that person signed in.
   */
  async accept(
    token: string,
    input: { email?: string; displayName?: string; password?: string },
    signedIn: { personId: string } | null,
  ): Promise<{ personId: string; created: boolean }> {
    const row = await this.#usable(token);
    const email = row.email ?? (input.email ? normaliseEmail(input.email) : null);
    if (!email) throw invalid('/email', 'this link has no e-mail address: give yours');
    const existing = await this.#people.findByEmail(email);
    if (existing && signedIn?.personId !== existing.id)
      throw new DomainError('conflict', `${email} has an account already: sign in, then open the link again`);
    let passwordHash: string | null = null;
    if (!existing && input.password !== undefined) {
      checkPasswordPolicy(input.password, email);
      passwordHash = await hashPassword(input.password);
    }
    const displayName = (input.displayName ?? '').trim() || email.split('@')[0] || email;
    return inTransaction(this.#db, async (trx) => {
      // Single use even when two requests race: only one update finds it unaccepted.
      const claimed = await trx
        .updateTable('invitations')
        .set({ accepted_at: this.#clock.now().toISOString(), accepted_by: email })
        .where('id', '=', row.id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw notFound('invitation', 'link');
      const actor = `person:${email}`;
      const personId = existing
        ? existing.id
        : await this.#people.create(trx, actor, {
            email,
            displayName,
            platformAdmin: row.platform_admin === 1,
            passwordHash,
          });
      if (existing && row.platform_admin === 1)
        await trx.updateTable('people').set({ platform_admin: 1 }).where('id', '=', existing.id).execute();
      if (row.org_id) await this.#people.grant(trx, actor, personId, row.org_id, rolesFromColumn(row.roles));
      await this.#audit.append(trx, row.org_id ?? PLATFORM_CHAIN, {
        actor,
        action: 'invitation.accept',
        targetType: 'invitation',
        targetId: row.id,
        details: { personId, roles: rolesFromColumn(row.roles), platformAdmin: row.platform_admin === 1 },
      });
      return { personId, created: !existing };
    });
  }

  /**
   * Deletes invitations that expired (used or not) more than `keepDays` ago: their links are dead
   * and their history stays in the audit log. Returns how many.
   */
  async prune(keepDays = INVITATION_KEEP_DAYS): Promise<number> {
    const cutoff = new Date(this.#clock.now().getTime() - keepDays * 86_400_000).toISOString();
    const result = await this.#db
      .deleteFrom('invitations')
      .where('expires_at', '<', cutoff)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async #usable(token: string): Promise<Database['invitations']> {
    const row = TOKEN_PATTERN.test(token)
      ? await this.#db
          .selectFrom('invitations')
          .selectAll()
          .where('token_hash', '=', hashToken(token))
          .executeTakeFirst()
      : undefined;
    const now = this.#clock.now().toISOString();
    if (!row || row.accepted_at || row.revoked_at || row.expires_at <= now)
      throw new DomainError('not-found', 'this invitation is unknown, used or expired: ask for a new one');
    return row;
  }
}

function toRow(i: Invitation, tokenHash: string): Database['invitations'] {
  return {
    id: i.id,
    token_hash: tokenHash,
    org_id: i.orgId,
    email: i.email,
    roles: i.roles.join(','),
    platform_admin: i.platformAdmin ? 1 : 0,
    created_at: i.createdAt,
    created_by: i.createdBy,
    expires_at: i.expiresAt,
    accepted_at: i.acceptedAt,
    accepted_by: i.acceptedBy,
    revoked_at: i.revokedAt,
  };
}

function fromRow(row: Database['invitations']): Invitation {
  return {
    id: row.id,
    orgId: row.org_id,
    email: row.email,
    roles: rolesFromColumn(row.roles),
    platformAdmin: row.platform_admin === 1,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    acceptedAt: row.accepted_at,
    acceptedBy: row.accepted_by,
    revokedAt: row.revoked_at,
  };
}
