import type { Kysely } from 'kysely';
import type { OrgRole, Principal } from '../access/roles.js';
import { isOrgRole } from '../access/roles.js';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';

/** A person as the API shows them: never a hash, a secret or a factor's material. */
export interface Person {
  id: string;
  email: string;
  displayName: string;
  platformAdmin: boolean;
  createdAt: string;
  lastSignInAt: string | null;
  disabledAt: string | null;
  factors: { password: boolean; totp: boolean; passkeys: number; recoveryCodesLeft: number };
}

export interface Member extends Person {
  roles: OrgRole[];
}

/** RFC 5321 caps a path at 254; one `@`, something either side, no spaces (the input layer refuses control characters). */
const EMAIL = /^[^\s@]{1,64}@[^\s@.][^\s@]{0,188}$/;

/**
 * The form an e-mail address is stored and looked up in: Unicode NFKC (so look-alike compatibility
 * forms such as the Kelvin sign or full-width letters fold into the letters they stand for, UTS #15),
 * trimmed, lower case. Every lookup by e-mail goes through it, so no spelling reaches another account.
 */
export function emailKey(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

/** Invisible and control characters (Unicode C*: controls, format marks such as zero-width and bidi overrides) and separators. */
const HIDDEN = /[\p{C}\p{Z}]/u;

export function normaliseEmail(email: string): string {
  const clean = emailKey(email);
  if (!EMAIL.test(clean) || clean.length > 254) throw invalid('/email', 'is not an e-mail address');
  if (HIDDEN.test(clean))
    throw invalid('/email', 'contains an invisible or control character: type the address again');
  return clean;
}

export function parseRoles(list: readonly string[]): OrgRole[] {
  const roles = [...new Set(list)].sort();
  if (roles.length === 0) throw invalid('/roles', 'name at least one role');
  for (const role of roles)
    if (!isOrgRole(role))
      throw invalid(
        '/roles',
        `unknown role ${JSON.stringify(role)}: admin, operator, release-manager, security or auditor`,
      );
  return roles as OrgRole[];
}

export const rolesFromColumn = (text: string): OrgRole[] => text.split(',').filter(isOrgRole);

/** How the audit log names a person. */
export const personActor = (email: string): string => `person:${email}`;

/**
 * People of the maker (and later of a successor), their roles per organisation (issue 16 §1).
 * Every change is audited in the organisation's chain (or the platform's) with the acting person.
 */
export class PeopleService {
  readonly #db: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; bus: Bus }) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  get db(): Kysely<Database> {
    return this.#db;
  }

  async count(): Promise<number> {
    const row = await this.#db
      .selectFrom('people')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Creates a person inside the caller's transaction (invitation acceptance, SSO first sign-in). */
  async create(
    trx: Executor,
    actor: string,
    input: { email: string; displayName: string; platformAdmin: boolean; passwordHash?: string | null },
  ): Promise<string> {
    const email = normaliseEmail(input.email);
    const existing = await trx
      .selectFrom('people')
      .select('id')
      .where('email', '=', email)
      .executeTakeFirst();
    if (existing)
      throw new DomainError('conflict', `a person with the e-mail ${email} exists already: sign in`);
    const now = this.#clock.now();
    const id = newId('prs', now);
    await trx
      .insertInto('people')
      .values({
        id,
        email,
        display_name: input.displayName,
        platform_admin: input.platformAdmin ? 1 : 0,
        password_hash: input.passwordHash ?? null,
        totp_sealed: null,
        totp_confirmed_at: null,
        totp_last_step: null,
        failed_attempts: 0,
        throttled_until: null,
        session_epoch: 0,
        created_at: now.toISOString(),
        created_by: actor,
        last_sign_in_at: null,
        disabled_at: null,
      })
      .execute();
    await this.#audit.append(trx, PLATFORM_CHAIN, {
      actor,
      action: 'person.create',
      targetType: 'person',
      targetId: id,
      details: { email, platformAdmin: input.platformAdmin },
    });
    return id;
  }

  /** Adds the person to the organisation with these roles, or widens the roles they hold. */
  async grant(
    trx: Executor,
    actor: string,
    personId: string,
    orgId: string,
    roles: OrgRole[],
  ): Promise<void> {
    const now = this.#clock.now().toISOString();
    const current = await trx
      .selectFrom('memberships')
      .select('roles')
      .where('person_id', '=', personId)
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    const merged = parseRoles([...(current ? rolesFromColumn(current.roles) : []), ...roles]);
    if (current)
      await trx
        .updateTable('memberships')
        .set({ roles: merged.join(','), updated_at: now })
        .where('person_id', '=', personId)
        .where('org_id', '=', orgId)
        .execute();
    else
      await trx
        .insertInto('memberships')
        .values({
          person_id: personId,
          org_id: orgId,
          roles: merged.join(','),
          created_at: now,
          updated_at: now,
        })
        .execute();
    await this.#audit.append(trx, orgId, {
      actor,
      action: 'person.roles',
      targetType: 'person',
      targetId: personId,
      details: { roles: merged, previous: current ? rolesFromColumn(current.roles) : [] },
    });
  }

  async get(id: string): Promise<Person> {
    const row = await this.#db.selectFrom('people').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('person', id);
    return this.#toPerson(row);
  }

  async findByEmail(email: string): Promise<Database['people'] | undefined> {
    return this.#db.selectFrom('people').selectAll().where('email', '=', emailKey(email)).executeTakeFirst();
  }

  /** A person of the organisation by id or e-mail address (what people type). */
  async resolveMember(orgId: string, ref: string): Promise<Member> {
    const members = await this.listMembers(orgId);
    const lower = emailKey(ref);
    const found = members.find((m) => m.id === ref || m.email === lower);
    if (!found) throw notFound('person', ref);
    return found;
  }

  async listMembers(orgId: string): Promise<Member[]> {
    const rows = await this.#db
      .selectFrom('memberships')
      .innerJoin('people', 'people.id', 'memberships.person_id')
      .selectAll('people')
      .select('memberships.roles')
      .where('memberships.org_id', '=', orgId)
      .orderBy('people.email')
      .execute();
    return Promise.all(
      rows.map(async (row) => ({ ...(await this.#toPerson(row)), roles: rolesFromColumn(row.roles) })),
    );
  }

  async listAll(): Promise<Person[]> {
    const rows = await this.#db.selectFrom('people').selectAll().orderBy('email').execute();
    return Promise.all(rows.map((row) => this.#toPerson(row)));
  }

  /** Replaces the person's roles in the organisation. An organisation never loses its last admin. */
  async setRoles(actor: string, orgId: string, ref: string, roles: string[]): Promise<Member> {
    const parsed = parseRoles(roles);
    const member = await this.resolveMember(orgId, ref);
    const revoked = await inTransaction(this.#db, async (trx) => {
      if (member.roles.includes('admin') && !parsed.includes('admin'))
        await this.#keepAnAdmin(trx, orgId, member.id);
      await trx
        .updateTable('memberships')
        .set({ roles: parsed.join(','), updated_at: this.#clock.now().toISOString() })
        .where('person_id', '=', member.id)
        .where('org_id', '=', orgId)
        .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'person.roles',
        targetType: 'person',
        targetId: member.id,
        details: { email: member.email, roles: parsed, previous: member.roles },
      });
      return this.#revokeTokens(trx, actor, orgId, member.id, parsed, 'the person lost the role');
    });
    this.#announce(revoked);
    return { ...member, roles: parsed };
  }

  /** Removes the person from the organisation; their tokens there stop working at once. */
  async remove(actor: string, orgId: string, ref: string): Promise<Member> {
    const member = await this.resolveMember(orgId, ref);
    const revoked = await inTransaction(this.#db, async (trx) => {
      if (member.roles.includes('admin')) await this.#keepAnAdmin(trx, orgId, member.id);
      await trx
        .deleteFrom('memberships')
        .where('person_id', '=', member.id)
        .where('org_id', '=', orgId)
        .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'person.remove',
        targetType: 'person',
        targetId: member.id,
        details: { email: member.email, roles: member.roles },
      });
      return this.#revokeTokens(trx, actor, orgId, member.id, [], 'the person left the organisation');
    });
    this.#announce(revoked);
    return member;
  }

  /**
   * The principal of a signed-in person: their memberships now (a role taken away works at once),
   * named as the audit log names them.
   */
  async principal(
    personId: string,
    extra: { sessionId?: string | null; tokenId?: string | null } = {},
  ): Promise<Principal | null> {
    const person = await this.#db
      .selectFrom('people')
      .selectAll()
      .where('id', '=', personId)
      .executeTakeFirst();
    if (!person || person.disabled_at !== null) return null;
    const rows = await this.#db
      .selectFrom('memberships')
      .selectAll()
      .where('person_id', '=', personId)
      .execute();
    return {
      actor: personActor(person.email),
      tokenId: extra.tokenId ?? null,
      personId,
      platformAdmin: person.platform_admin === 1,
      memberships: new Map(rows.map((r) => [r.org_id, rolesFromColumn(r.roles)])),
      sessionId: extra.sessionId ?? null,
    };
  }

  /**
   * Revokes the person's tokens in the organisation whose role they no longer hold, for good: a
   * token must not come back to life when the role is given back, and a live MQTT session opened
   * with it must end now. Each is audited as `token.revoke`, which other nodes act on as well.
   */
  async #revokeTokens(
    trx: Executor,
    actor: string,
    orgId: string,
    personId: string,
    kept: readonly OrgRole[],
    reason: string,
  ): Promise<{ tokenId: string; change: string }[]> {
    const live = await trx
      .selectFrom('api_tokens')
      .select(['id', 'role', 'name'])
      .where('person_id', '=', personId)
      .where('org_id', '=', orgId)
      .where('revoked_at', 'is', null)
      .execute();
    const ending = live.filter((t) => !(kept as readonly string[]).includes(t.role));
    if (ending.length === 0) return [];
    const ids = ending.map((t) => t.id);
    await trx
      .updateTable('api_tokens')
      .set({ revoked_at: this.#clock.now().toISOString() })
      .where('id', 'in', ids)
      .execute();
    const entries = await this.#audit.appendMany(
      trx,
      orgId,
      ending.map((t) => ({
        actor,
        action: 'token.revoke',
        targetType: 'token',
        targetId: t.id,
        details: { role: t.role, name: t.name, reason },
      })),
    );
    return entries.map((entry) => ({ tokenId: entry.targetId, change: entry.id }));
  }

  /** Live sessions opened with the revoked tokens end on every node, as for a revoke (access/tokens.ts). */
  #announce(revoked: { tokenId: string; change: string }[]): void {
    for (const { tokenId, change } of revoked) this.#bus.publish('token.revoked', { tokenId, change });
  }

  async #keepAnAdmin(trx: Executor, orgId: string, leaving: string): Promise<void> {
    const admins = await trx
      .selectFrom('memberships')
      .select(['person_id', 'roles'])
      .where('org_id', '=', orgId)
      .where('person_id', '!=', leaving)
      .execute();
    if (!admins.some((a) => rolesFromColumn(a.roles).includes('admin')))
      throw new DomainError(
        'conflict',
        'this is the last admin of the organisation: make someone else admin first',
      );
  }

  async #toPerson(row: Database['people']): Promise<Person> {
    const [passkeys, codes] = await Promise.all([
      this.#db
        .selectFrom('passkeys')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('person_id', '=', row.id)
        .executeTakeFirstOrThrow(),
      this.#db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('person_id', '=', row.id)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow(),
    ]);
    return {
      id: row.id,
      email: row.email,
      displayName: row.display_name,
      platformAdmin: row.platform_admin === 1,
      createdAt: row.created_at,
      lastSignInAt: row.last_sign_in_at,
      disabledAt: row.disabled_at,
      factors: {
        password: row.password_hash !== null,
        totp: row.totp_confirmed_at !== null,
        passkeys: Number(passkeys.n),
        recoveryCodesLeft: Number(codes.n),
      },
    };
  }
}
