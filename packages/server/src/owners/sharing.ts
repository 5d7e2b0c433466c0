import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, DomainError, notFound } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import { normaliseEmail } from '../people/service.js';
import { isUniqueViolation } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import type { Attempts, Limit } from './attempts.js';
import type { DeviceRole } from './claims.js';

/** The roles an owner can give a household member: `user` sees and controls, `guest` only sees. */
export const memberRoles = ['user', 'guest'] as const;
export type MemberRole = (typeof memberRoles)[number];

/** An invitation link is valid this long, and once. */
export const INVITATION_DAYS = 7;
/** Invitations sent per owner and per invited address (each one is an e-mail to someone's inbox). */
export const INVITATION_LIMITS = {
  perOwner: { kind: 'share-invite-owner', max: 20, windowMs: 3_600_000 },
  perEmail: { kind: 'share-invite-email', max: 5, windowMs: 3_600_000 },
} satisfies Record<string, Limit>;

const SECRET = /^[A-Za-z0-9_-]{43}$/;
const hashInvitation = (token: string) => createHash('sha256').update(`share-invite:${token}`).digest('hex');
/** An invitation's public handle: a prefix of its hash, which tells nothing about the secret. */
const handleOf = (tokenHash: string) => `shi_${tokenHash.slice(0, 24)}`;

/** Where the link in the e-mail points: the secret after `#`, which browsers never send to a server. */
export const shareAcceptUrl = (base: string, token: string): string =>
  `${base.replace(/\/+$/, '')}/owner/shares/accept#${token}`;

export interface Share {
  ownerId: string;
  email: string;
  role: DeviceRole;
  since: string;
}

export interface PendingInvitation {
  id: string;
  email: string;
  role: MemberRole;
  createdAt: string;
  expiresAt: string;
}

/** What a person may do with a device (the check the owner API and the app API share). */
export interface DeviceAccess {
  orgId: string;
  role: DeviceRole;
  /** `owner` and `user` control the device; a `guest` only sees it. */
  control: boolean;
  /** Only the `owner` shares, transfers, releases, or switches it to local mode. */
  manage: boolean;
  /**
   * The start of the history this person may see (their claim or share): a buyer never sees the
   * seller's telemetry (docs/owners.md, "Transfer on resale").
   */
  historyFrom: string;
}

/** The device's live row and the person's relation to it, or null (unknown, deleted, not theirs). */
export async function deviceAccess(
  db: Executor,
  ownerId: string,
  deviceId: string,
): Promise<DeviceAccess | null> {
  const row = await db
    .selectFrom('device_owners')
    .innerJoin('devices', 'devices.id', 'device_owners.device_id')
    .select(['devices.org_id', 'device_owners.role', 'device_owners.created_at'])
    .where('device_owners.owner_id', '=', ownerId)
    .where('device_owners.device_id', '=', deviceId)
    .where('devices.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  const role = row.role as DeviceRole;
  return {
    orgId: row.org_id,
    role,
    control: role !== 'guest',
    manage: role === 'owner',
    historyFrom: row.created_at,
  };
}

/**
 * The device, when this person is its owner: another person's device is 404, and a household
 * member who tries an owner's action gets 403 that says who can.
 */
export async function requireDeviceOwner(db: Executor, ownerId: string, deviceId: string, what: string) {
  const access = await deviceAccess(db, ownerId, deviceId);
  if (!access) throw notFound('device', deviceId);
  if (!access.manage)
    throw new DomainError(
      'forbidden',
      `only the device's owner can ${what}; you use it as ${access.role === 'user' ? 'a user' : 'a guest'}`,
    );
  return access;
}

/**
 * Sharing a device with household members (issue 18 §1): the owner invites an e-mail address as
 * `user` or `guest`, the invited person accepts the link signed in with that address, and the
 * owner changes or removes shares; a member can leave. One owner per device.
 */
export class SharingService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #mailer: Mailer;
  readonly #publicUrl: string | null;
  readonly #attempts: Attempts;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    mailer: Mailer;
    publicUrl: string | null;
    attempts: Attempts;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#mailer = deps.mailer;
    this.#publicUrl = deps.publicUrl;
    this.#attempts = deps.attempts;
  }

  /** Sends an invitation link; an earlier open invitation of the address to the device ends. */
  async invite(
    ownerId: string,
    deviceId: string,
    emailInput: string,
    role: MemberRole,
  ): Promise<PendingInvitation> {
    const email = normaliseEmail(emailInput);
    if (!this.#mailer.configured || !this.#publicUrl)
      throw new DomainError(
        'mail-not-configured',
        'sharing sends an e-mail: set mail.smtpUrl, mail.from and http.publicUrl',
      );
    const access = await requireDeviceOwner(this.#db, ownerId, deviceId, 'share it');
    const member = await this.#db
      .selectFrom('owners')
      .innerJoin('device_owners', 'device_owners.owner_id', 'owners.id')
      .select(['owners.id', 'device_owners.role'])
      .where('owners.email', '=', email)
      .where('device_owners.device_id', '=', deviceId)
      .executeTakeFirst();
    if (member)
      throw conflict(
        member.id === ownerId
          ? 'you own this device already'
          : `this address uses the device already (as ${member.role}): change the share's role instead`,
      );
    await this.#attempts.check(INVITATION_LIMITS.perOwner, ownerId, 'invitations from this account');
    await this.#attempts.check(INVITATION_LIMITS.perEmail, email, 'invitations to this e-mail address');
    const now = this.#clock.now();
    const token = randomBytes(32).toString('base64url');
    const tokenHash = hashInvitation(token);
    const expiresAt = new Date(now.getTime() + INVITATION_DAYS * 86_400_000).toISOString();
    await inTransaction(this.#db, async (trx) => {
      await this.#attempts.record(INVITATION_LIMITS.perOwner, ownerId, trx);
      await this.#attempts.record(INVITATION_LIMITS.perEmail, email, trx);
      await trx
        .deleteFrom('device_share_invitations')
        .where('device_id', '=', deviceId)
        .where('email', '=', email)
        .where('used_at', 'is', null)
        .execute();
      await trx
        .insertInto('device_share_invitations')
        .values({
          token_hash: tokenHash,
          device_id: deviceId,
          invited_by: ownerId,
          email,
          role,
          created_at: now.toISOString(),
          expires_at: expiresAt,
          used_at: null,
        })
        .execute();
      // Ids only: the invited address is personal data, kept in the invitation, not the audit log.
      await this.#audit.append(trx, access.orgId, {
        actor: `owner:${ownerId}`,
        action: 'device.share-invite',
        targetType: 'device',
        targetId: deviceId,
        details: { invitation: handleOf(tokenHash), role },
      });
    });
    const url = shareAcceptUrl(this.#publicUrl, token);
    await this.#mailer.send({
      to: email,
      subject: 'A device was shared with you',
      text:
        `You were invited to use a device ${role === 'user' ? 'and control it' : 'and see it (as a guest)'}.\n\n` +
        `Open this link and sign in with this e-mail address to accept:\n\n${url}\n\n` +
        `It works once, for ${INVITATION_DAYS} days. If you do not know why you got this, ignore it.\n`,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    return { id: handleOf(tokenHash), email, role, createdAt: now.toISOString(), expiresAt };
  }

  /**
   * Accepts an invitation as the signed-in owner account, which must be the invited address (a
   * forwarded link does not let someone else in). Unknown, used and expired links get one answer.
   */
  async accept(ownerId: string, token: string): Promise<{ deviceId: string; role: MemberRole }> {
    const refused = new DomainError(
      'validation-failed',
      '/token: this invitation is unknown, used or expired: ask the owner for a new one',
      [{ field: '/token', message: 'unknown, used or expired' }],
    );
    if (!SECRET.test(token)) throw refused;
    const at = this.#clock.now().toISOString();
    try {
      return await inTransaction(this.#db, async (trx) => {
        const invitation = await trx
          .selectFrom('device_share_invitations')
          .innerJoin('devices', 'devices.id', 'device_share_invitations.device_id')
          .select([
            'device_share_invitations.device_id',
            'device_share_invitations.email',
            'device_share_invitations.role',
            'device_share_invitations.invited_by',
            'devices.org_id',
          ])
          .where('device_share_invitations.token_hash', '=', hashInvitation(token))
          .where('device_share_invitations.used_at', 'is', null)
          .where('device_share_invitations.expires_at', '>', at)
          .where('devices.deleted_at', 'is', null)
          .executeTakeFirst();
        if (!invitation) throw refused;
        const account = await trx
          .selectFrom('owners')
          .select('email')
          .where('id', '=', ownerId)
          .executeTakeFirstOrThrow();
        if (account.email !== invitation.email)
          throw new DomainError(
            'forbidden',
            'this invitation is for another e-mail address: sign in with the address it was sent to',
          );
        // The inviter must still own the device: a released or transferred device's invitations end.
        const inviter = await deviceAccess(trx, invitation.invited_by, invitation.device_id);
        if (!inviter?.manage) throw refused;
        if (await deviceAccess(trx, ownerId, invitation.device_id))
          throw conflict('you use this device already');
        const used = await trx
          .updateTable('device_share_invitations')
          .set({ used_at: at })
          .where('token_hash', '=', hashInvitation(token))
          .where('used_at', 'is', null)
          .executeTakeFirst();
        if (Number(used.numUpdatedRows) !== 1) throw refused;
        await trx
          .insertInto('device_owners')
          .values({
            device_id: invitation.device_id,
            owner_id: ownerId,
            role: invitation.role,
            created_at: at,
          })
          .execute();
        await this.#audit.append(trx, invitation.org_id, {
          actor: `owner:${ownerId}`,
          action: 'device.share',
          targetType: 'device',
          targetId: invitation.device_id,
          details: { owner: ownerId, role: invitation.role, invitedBy: invitation.invited_by },
        });
        return { deviceId: invitation.device_id, role: invitation.role as MemberRole };
      });
    } catch (error) {
      // Two accepts of one link at once: the second insert collides and rolls back; one answer.
      if (isUniqueViolation(error)) throw conflict('you use this device already');
      throw error;
    }
  }

  /** Who uses the device, and the open invitations: for its owner only. */
  async list(
    ownerId: string,
    deviceId: string,
  ): Promise<{ members: Share[]; invitations: PendingInvitation[] }> {
    await requireDeviceOwner(this.#db, ownerId, deviceId, 'see who it is shared with');
    const members = await this.#db
      .selectFrom('device_owners')
      .innerJoin('owners', 'owners.id', 'device_owners.owner_id')
      .select(['owners.id', 'owners.email', 'device_owners.role', 'device_owners.created_at'])
      .where('device_owners.device_id', '=', deviceId)
      .orderBy('device_owners.created_at')
      .orderBy('owners.id')
      .execute();
    const invitations = await this.#db
      .selectFrom('device_share_invitations')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', this.#clock.now().toISOString())
      .orderBy('created_at')
      .execute();
    return {
      members: members.map((m) => ({
        ownerId: m.id,
        email: m.email,
        role: m.role as DeviceRole,
        since: m.created_at,
      })),
      invitations: invitations.map((i) => ({
        id: handleOf(i.token_hash),
        email: i.email,
        role: i.role as MemberRole,
        createdAt: i.created_at,
        expiresAt: i.expires_at,
      })),
    };
  }

  /** The owner withdraws an open invitation. */
  async revokeInvitation(ownerId: string, deviceId: string, invitationId: string): Promise<void> {
    const access = await requireDeviceOwner(this.#db, ownerId, deviceId, 'withdraw invitations');
    const prefix = /^shi_([0-9a-f]{24})$/.exec(invitationId)?.[1];
    await inTransaction(this.#db, async (trx) => {
      const found = prefix
        ? await trx
            .selectFrom('device_share_invitations')
            .select('token_hash')
            .where('device_id', '=', deviceId)
            .where('used_at', 'is', null)
            .where('token_hash', 'like', `${prefix}%`)
            .executeTakeFirst()
        : undefined;
      if (!found) throw notFound('invitation', invitationId);
      await trx.deleteFrom('device_share_invitations').where('token_hash', '=', found.token_hash).execute();
      await this.#audit.append(trx, access.orgId, {
        actor: `owner:${ownerId}`,
        action: 'device.share-invite-revoke',
        targetType: 'device',
        targetId: deviceId,
        details: { invitation: invitationId },
      });
    });
  }

  /** The owner changes a member's role (`user` ⇄ `guest`). */
  async changeRole(ownerId: string, deviceId: string, memberId: string, role: MemberRole): Promise<Share> {
    const access = await requireDeviceOwner(this.#db, ownerId, deviceId, 'change shares');
    if (memberId === ownerId)
      throw conflict('the owner stays the owner: transfer the device to hand it to someone else');
    await inTransaction(this.#db, async (trx) => {
      const changed = await trx
        .updateTable('device_owners')
        .set({ role })
        .where('device_id', '=', deviceId)
        .where('owner_id', '=', memberId)
        .where('role', 'in', [...memberRoles])
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) !== 1) throw notFound('share', memberId);
      await this.#audit.append(trx, access.orgId, {
        actor: `owner:${ownerId}`,
        action: 'device.share-role',
        targetType: 'device',
        targetId: deviceId,
        details: { owner: memberId, role },
      });
    });
    const share = (await this.list(ownerId, deviceId)).members.find((m) => m.ownerId === memberId);
    if (!share) throw notFound('share', memberId);
    return share;
  }

  /**
   * Ends a share: the owner removes a member, or a member removes themself (leaves). The owner
   * cannot remove themself here: they release or transfer the device.
   */
  async remove(ownerId: string, deviceId: string, memberId: string): Promise<void> {
    const access = await deviceAccess(this.#db, ownerId, deviceId);
    if (!access) throw notFound('device', deviceId);
    const leaving = memberId === ownerId;
    if (leaving && access.manage)
      throw conflict('the owner does not leave their device: release it or transfer it');
    if (!leaving && !access.manage)
      throw new DomainError('forbidden', "only the device's owner removes other people's shares");
    await inTransaction(this.#db, async (trx) => {
      const removed = await trx
        .deleteFrom('device_owners')
        .where('device_id', '=', deviceId)
        .where('owner_id', '=', memberId)
        .where('role', 'in', [...memberRoles])
        .executeTakeFirst();
      if (Number(removed.numDeletedRows) !== 1) throw notFound('share', memberId);
      await this.#audit.append(trx, access.orgId, {
        actor: `owner:${ownerId}`,
        action: leaving ? 'device.share-leave' : 'device.share-remove',
        targetType: 'device',
        targetId: deviceId,
        details: { owner: memberId },
      });
    });
  }
}

/** Ends every share and open invitation of a device (release and transfer), in the caller's transaction. */
export async function endShares(trx: Executor, deviceId: string): Promise<number> {
  await trx.deleteFrom('device_share_invitations').where('device_id', '=', deviceId).execute();
  const removed = await trx
    .deleteFrom('device_owners')
    .where('device_id', '=', deviceId)
    .where('role', 'in', [...memberRoles])
    .executeTakeFirst();
  return Number(removed.numDeletedRows);
}
