import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { RateLimiter } from '../gateway/rate-limit.js';
import { newId } from '../ids.js';
import type { ChallengeStore } from '../people/challenges.js';
import { claimedChallenge, TRANSPORTS } from '../people/passkeys.js';
import type { RelyingParty } from '../people/relying-party.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

/**
 * Challenge purposes of their own: a challenge handed out for a staff ceremony is never taken
 * here, nor the reverse (ChallengeStore.take matches the purpose).
 */
export const OWNER_REGISTER = 'owner-passkey-register';
export const OWNER_SIGN_IN = 'owner-passkey-sign-in';
/** How long a ceremony may take, from options to answer. */
const CHALLENGE_TTL_MS = 5 * 60_000;
const RP_NAME = 'brickless';

export interface OwnerPasskeyView {
  id: string;
  name: string;
  /** The domain the passkey is bound to; it works only there. */
  rpId: string;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

interface Ceremony {
  rpID: string;
  origin: string;
}

type Row = Database['owner_passkeys'];

const toView = (row: Row): OwnerPasskeyView => ({
  id: row.id,
  name: row.name,
  rpId: row.rp_id,
  transports: row.transports ? row.transports.split(',') : [],
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

const transportsOf = (row: Row): AuthenticatorTransportFuture[] =>
  (row.transports ? row.transports.split(',') : []) as AuthenticatorTransportFuture[];

const bytes = (base64url: string) => new Uint8Array(Buffer.from(base64url, 'base64url'));

/**
 * Device owners' passkeys (issue 18 §1, "passkey or e-mail link sign-in"; W3C WebAuthn Level 3
 * with @simplewebauthn/server, the relying party of the staff passkeys). Kept in `owner_passkeys`,
 * apart from the staff's: the lookup by credential id never finds the other kind of account.
 *
 * Sign-in is discoverable only (WebAuthn §6.2.2, client-side discoverable credentials): no e-mail
 * address is asked for, so the options tell nobody whether an address has an account here.
 * An owner always keeps the e-mail link, so removing the last passkey is allowed.
 *
 * Audit details name passkeys by id and domain only: an owner's passkey names ("Ana's phone")
 * and e-mail address are personal data and stay out of the chain.
 */
export class OwnerPasskeyService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #challenges: ChallengeStore;
  readonly #failuresPerAddress: RateLimiter;
  /** Sign-in options store a row before anyone is known: 30 at once per address, then one a second. */
  readonly #optionsPerAddress: RateLimiter;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; challenges: ChallengeStore }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#challenges = deps.challenges;
    const now = () => this.#clock.now().getTime();
    this.#failuresPerAddress = new RateLimiter({ rate: 1 / 6, burst: 10, now });
    this.#optionsPerAddress = new RateLimiter({ rate: 1, burst: 30, now });
  }

  async list(ownerId: string): Promise<OwnerPasskeyView[]> {
    const rows = await this.#db
      .selectFrom('owner_passkeys')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toView);
  }

  /** Options for `navigator.credentials.create()`; the challenge is stored for 5 minutes, once. */
  async registrationOptions(
    ownerId: string,
    rp: RelyingParty,
  ): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
    const owner = await this.#db
      .selectFrom('owners')
      .select(['id', 'email'])
      .where('id', '=', ownerId)
      .executeTakeFirstOrThrow();
    const own = await this.#db
      .selectFrom('owner_passkeys')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('rp_id', '=', rp.rpID)
      .execute();
    const challengeId = await this.#challenges.create<Ceremony>(
      OWNER_REGISTER,
      ownerId,
      { rpID: rp.rpID, origin: rp.origin },
      CHALLENGE_TTL_MS,
    );
    const options = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: rp.rpID,
      // What the browser shows beside the passkey: the address the owner signs in with.
      userName: owner.email,
      userDisplayName: owner.email,
      // The user handle is the owner's id: stable, not personal data (WebAuthn §14.6.1).
      userID: new Uint8Array(Buffer.from(owner.id, 'utf8')),
      challenge: bytes(challengeId),
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: own.map((p) => ({ id: p.credential_id, transports: transportsOf(p) })),
      // Discoverable, so that sign-in needs no e-mail address (WebAuthn §5.4.6).
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    return { challengeId, options };
  }

  /** Verifies the authenticator's answer and keeps the new passkey under the owner's account. */
  async register(
    ownerId: string,
    rp: RelyingParty,
    input: { name: string; response: RegistrationResponseJSON },
  ): Promise<OwnerPasskeyView> {
    const challenge = await this.#challenges.take<Ceremony>(OWNER_REGISTER, claimedChallenge(input.response));
    if (!challenge || challenge.personId !== ownerId)
      throw new DomainError(
        'validation-failed',
        'the registration challenge is unknown, used or expired: ask for new options and try again',
      );
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response: input.response,
        expectedChallenge: challenge.id,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpID,
        // A passkey alone signs an owner in: it must verify them (PIN, biometrics), not only touch.
        requireUserVerification: true,
      });
    } catch (error) {
      throw invalid('/response', `the passkey was not accepted: ${(error as Error).message}`);
    }
    if (!verified.verified) throw invalid('/response', 'the passkey was not accepted');
    const { credential } = verified.registrationInfo;
    const now = this.#clock.now();
    const row: Row = {
      id: newId('opk', now),
      credential_id: credential.id,
      owner_id: ownerId,
      public_key: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports:
        (input.response.response.transports ?? []).filter((t) => TRANSPORTS.has(t)).join(',') || null,
      rp_id: rp.rpID,
      name: input.name,
      created_at: now.toISOString(),
      last_used_at: null,
    };
    await inTransaction(this.#db, async (trx) => {
      // One authenticator can hold a staff and an owner passkey; one credential id is one of them.
      const taken =
        (await trx
          .selectFrom('owner_passkeys')
          .select('id')
          .where('credential_id', '=', credential.id)
          .executeTakeFirst()) ??
        (await trx
          .selectFrom('passkeys')
          .select('id')
          .where('credential_id', '=', credential.id)
          .executeTakeFirst());
      if (taken) throw new DomainError('conflict', 'this passkey is registered already');
      await trx.insertInto('owner_passkeys').values(row).execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `owner:${ownerId}`,
        action: 'owner.passkey.add',
        targetType: 'owner',
        targetId: ownerId,
        details: { passkey: row.id, rpId: row.rp_id },
      });
    });
    return toView(row);
  }

  async rename(ownerId: string, id: string, name: string): Promise<OwnerPasskeyView> {
    return inTransaction(this.#db, async (trx) => {
      const row = await trx
        .selectFrom('owner_passkeys')
        .selectAll()
        .where('id', '=', id)
        .where('owner_id', '=', ownerId)
        .executeTakeFirst();
      if (!row) throw notFound('passkey', id);
      await trx.updateTable('owner_passkeys').set({ name }).where('id', '=', id).execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `owner:${ownerId}`,
        action: 'owner.passkey.rename',
        targetType: 'owner',
        targetId: ownerId,
        details: { passkey: id },
      });
      return toView({ ...row, name });
    });
  }

  /** Removes a passkey; the last one too, since the e-mail link always remains. */
  async remove(ownerId: string, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const deleted = await trx
        .deleteFrom('owner_passkeys')
        .where('id', '=', id)
        .where('owner_id', '=', ownerId)
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) throw notFound('passkey', id);
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `owner:${ownerId}`,
        action: 'owner.passkey.remove',
        targetType: 'owner',
        targetId: ownerId,
        details: { passkey: id },
      });
    });
  }

  /** Options for `navigator.credentials.get()` without allowCredentials: the browser offers its own. */
  async signInOptions(
    rp: RelyingParty,
    ip: string,
  ): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    if (!this.#optionsPerAddress.take(ip))
      throw new DomainError(
        'rate-limited',
        'too many passkey sign-ins started from this address: wait a minute',
      );
    const challengeId = await this.#challenges.create<Ceremony>(
      OWNER_SIGN_IN,
      null,
      { rpID: rp.rpID, origin: rp.origin },
      CHALLENGE_TTL_MS,
    );
    const options = await generateAuthenticationOptions({
      rpID: rp.rpID,
      challenge: bytes(challengeId),
      timeout: CHALLENGE_TTL_MS,
      userVerification: 'required',
    });
    return { challengeId, options };
  }

  /**
   * Checks a passkey assertion and answers the owner it signs in. The challenge is claimed first
   * (a failed answer uses it up too); the signature counter must grow when the authenticator
   * keeps one (WebAuthn §6.1.1): a counter that goes back means a copy of the key exists, and
   * that sign-in is refused and audited as a cloned authenticator.
   */
  async signIn(
    rp: RelyingParty,
    ip: string,
    input: { challengeId: string; response: AuthenticationResponseJSON },
  ): Promise<string> {
    if (this.#failuresPerAddress.exhausted(ip))
      throw new DomainError('rate-limited', 'too many failed sign-ins from this address: wait a minute');
    const challenge = await this.#challenges.take<Ceremony>(OWNER_SIGN_IN, input.challengeId);
    if (!challenge)
      return this.#fail(
        ip,
        null,
        'challenge',
        'the sign-in challenge is unknown, used or expired: start again',
      );
    // Only the owners' table: a staff passkey is "not registered here" (issue 18 §1: separate accounts).
    const passkey = await this.#db
      .selectFrom('owner_passkeys')
      .selectAll()
      .where('credential_id', '=', input.response.id)
      .executeTakeFirst();
    if (!passkey || passkey.rp_id !== rp.rpID)
      return this.#fail(
        ip,
        null,
        'unknown-passkey',
        'this passkey is not registered here for a device owner',
      );
    const userHandle = input.response.response.userHandle;
    if (userHandle && Buffer.from(userHandle, 'base64url').toString('utf8') !== passkey.owner_id)
      return this.#fail(ip, passkey.owner_id, 'user-handle', 'the passkey names another account');
    const stored = Number(passkey.counter);
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response: input.response,
        expectedChallenge: challenge.id,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpID,
        // The counter is compared below, where a step back is audited as a clone.
        credential: {
          id: passkey.credential_id,
          publicKey: bytes(passkey.public_key),
          counter: 0,
          transports: transportsOf(passkey),
        },
        requireUserVerification: true,
      });
    } catch (error) {
      return this.#fail(
        ip,
        passkey.owner_id,
        'signature',
        `the passkey was not accepted: ${(error as Error).message}`,
      );
    }
    if (!verified.verified)
      return this.#fail(ip, passkey.owner_id, 'signature', 'the passkey was not accepted');
    const presented = verified.authenticationInfo.newCounter;
    if ((presented > 0 || stored > 0) && presented <= stored) {
      this.#failuresPerAddress.take(ip);
      await inTransaction(this.#db, async (trx) => {
        await this.#audit.append(trx, PLATFORM_CHAIN, {
          actor: `sign-in:${ip}`,
          action: 'owner.passkey.cloned',
          targetType: 'owner',
          targetId: passkey.owner_id,
          details: { passkey: passkey.id, stored, presented },
        });
      });
      throw new DomainError(
        'unauthenticated',
        'this passkey’s signature counter went backwards, a sign of a cloned authenticator: it was refused; sign in with an e-mail link, remove it and add a new one',
      );
    }
    const at = this.#clock.now().toISOString();
    return inTransaction(this.#db, async (trx) => {
      // Guarded by the old counter: of two replays racing each other, one updates, the other fails.
      const updated = await trx
        .updateTable('owner_passkeys')
        .set({ counter: presented, last_used_at: at })
        .where('id', '=', passkey.id)
        .where('counter', '=', stored)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1)
        throw new DomainError('unauthenticated', 'this passkey was just used: start again');
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `owner:${passkey.owner_id}`,
        action: 'owner.passkey.sign-in',
        targetType: 'owner',
        targetId: passkey.owner_id,
        details: { passkey: passkey.id },
      });
      return passkey.owner_id;
    });
  }

  /** Audits a failed passkey sign-in, counts it against the address, and refuses. */
  async #fail(ip: string, ownerId: string | null, reason: string, message: string): Promise<never> {
    this.#failuresPerAddress.take(ip);
    await inTransaction(this.#db, async (trx) => {
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `sign-in:${ip}`,
        action: 'owner.passkey.sign-in-failed',
        targetType: 'owner',
        targetId: ownerId ?? 'unknown',
        details: { reason },
      });
    });
    throw new DomainError('unauthenticated', message);
  }
}
