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
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import type { ChallengeStore } from './challenges.js';
import type { RelyingParty } from './relying-party.js';
import { emailKey, personActor } from './service.js';

export const REGISTER = 'passkey-register';
export const SIGN_IN = 'passkey-sign-in';
/** How long a ceremony may take, from options to answer. */
const CHALLENGE_TTL_MS = 5 * 60_000;
const RP_NAME = 'brickless';
export const TRANSPORTS: ReadonlySet<string> = new Set([
  'ble',
  'cable',
  'hybrid',
  'internal',
  'nfc',
  'smart-card',
  'usb',
]);

export interface PasskeyView {
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

const toView = (row: Database['passkeys']): PasskeyView => ({
  id: row.id,
  name: row.name,
  rpId: row.rp_id,
  transports: row.transports ? row.transports.split(',') : [],
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

const transportsOf = (row: Database['passkeys']): AuthenticatorTransportFuture[] =>
  (row.transports ? row.transports.split(',') : []) as AuthenticatorTransportFuture[];

const bytes = (base64url: string) => new Uint8Array(Buffer.from(base64url, 'base64url'));

/** The challenge the browser says it answered (clientDataJSON is checked by the library later). */
export function claimedChallenge(response: RegistrationResponseJSON): string {
  try {
    const client = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'));
    if (typeof client?.challenge === 'string') return client.challenge;
  } catch {}
  throw invalid('/response/response/clientDataJSON', 'is not WebAuthn client data');
}

/**
 * Passkeys (W3C WebAuthn Level 3 with @simplewebauthn/server): the sign-in that resists phishing
 * (issue 16 §3). A passkey is bound to the relying party id it was made for; the browser never
 * offers it to another site, so a look-alike domain gets nothing to replay.
 *
 * Passkey sign-in is outside the password throttle on purpose: a guesser who slows the password
 * down never locks the real person out. Failures are still limited per address.
 */
export class PasskeyService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #challenges: ChallengeStore;
  readonly #perAddress: RateLimiter;
  /** Sign-in options store a row before anyone is known: 30 at once per address, then one a second. */
  readonly #optionsPerAddress: RateLimiter;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; challenges: ChallengeStore }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#challenges = deps.challenges;
    this.#perAddress = new RateLimiter({ rate: 1 / 6, burst: 10, now: () => this.#clock.now().getTime() });
    this.#optionsPerAddress = new RateLimiter({ rate: 1, burst: 30, now: () => this.#clock.now().getTime() });
  }

  async list(personId: string): Promise<PasskeyView[]> {
    const rows = await this.#db
      .selectFrom('passkeys')
      .selectAll()
      .where('person_id', '=', personId)
      .orderBy('created_at')
      .execute();
    return rows.map(toView);
  }

  /** Options for `navigator.credentials.create()`; the challenge is stored for 5 minutes, once. */
  async registrationOptions(
    personId: string,
    rp: RelyingParty,
  ): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
    const person = await this.#db
      .selectFrom('people')
      .select(['id', 'email', 'display_name'])
      .where('id', '=', personId)
      .executeTakeFirstOrThrow();
    const own = await this.#db
      .selectFrom('passkeys')
      .selectAll()
      .where('person_id', '=', personId)
      .where('rp_id', '=', rp.rpID)
      .execute();
    const challengeId = await this.#challenges.create<Ceremony>(
      REGISTER,
      personId,
      { rpID: rp.rpID, origin: rp.origin },
      CHALLENGE_TTL_MS,
    );
    const options = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: rp.rpID,
      userName: person.email,
      userDisplayName: person.display_name,
      // The user handle is the person's id: stable, not personal data (WebAuthn §14.6.1).
      userID: new Uint8Array(Buffer.from(person.id, 'utf8')),
      challenge: bytes(challengeId),
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: own.map((p) => ({ id: p.credential_id, transports: transportsOf(p) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    return { challengeId, options };
  }

  /** Verifies the authenticator's answer and keeps the new passkey under the person's name. */
  async register(
    actor: string,
    personId: string,
    rp: RelyingParty,
    input: { name: string; response: RegistrationResponseJSON },
  ): Promise<PasskeyView> {
    const challenge = await this.#challenges.take<Ceremony>(REGISTER, claimedChallenge(input.response));
    if (!challenge || challenge.personId !== personId)
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
        // A passkey alone signs a person in: it must verify them (PIN, biometrics), not only touch.
        requireUserVerification: true,
      });
    } catch (error) {
      throw invalid('/response', `the passkey was not accepted: ${(error as Error).message}`);
    }
    if (!verified.verified) throw invalid('/response', 'the passkey was not accepted');
    const { credential } = verified.registrationInfo;
    const now = this.#clock.now();
    const row: Database['passkeys'] = {
      id: newId('pky', now),
      credential_id: credential.id,
      person_id: personId,
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
      const taken = await trx
        .selectFrom('passkeys')
        .select('id')
        .where('credential_id', '=', credential.id)
        .executeTakeFirst();
      if (taken) throw new DomainError('conflict', 'this passkey is registered already');
      await trx.insertInto('passkeys').values(row).execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor,
        action: 'person.passkey-add',
        targetType: 'person',
        targetId: personId,
        details: { passkey: row.id, name: row.name, rpId: row.rp_id },
      });
    });
    return toView(row);
  }

  /** Removes a passkey; never the person's last way to sign in. */
  async remove(actor: string, personId: string, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const own = await trx.selectFrom('passkeys').selectAll().where('person_id', '=', personId).execute();
      const passkey = own.find((p) => p.id === id);
      if (!passkey) throw notFound('passkey', id);
      const person = await trx
        .selectFrom('people')
        .select('password_hash')
        .where('id', '=', personId)
        .executeTakeFirstOrThrow();
      if (person.password_hash === null && own.length === 1)
        throw new DomainError(
          'conflict',
          'this passkey is your only way to sign in: set a password or add another passkey before removing it',
        );
      await trx.deleteFrom('passkeys').where('id', '=', id).execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor,
        action: 'person.passkey-remove',
        targetType: 'person',
        targetId: personId,
        details: { passkey: id, name: passkey.name, rpId: passkey.rp_id },
      });
    });
  }

  /**
   * Options for `navigator.credentials.get()`. With an e-mail address the person's passkeys for
   * this domain are listed (which tells the asker whether that address has passkeys here; the
   * console uses the discoverable form); without one the browser offers its discoverable ones.
   */
  async signInOptions(
    rp: RelyingParty,
    ip: string,
    email?: string,
  ): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    if (!this.#optionsPerAddress.take(ip))
      throw new DomainError(
        'rate-limited',
        'too many passkey sign-ins started from this address: wait a minute',
      );
    let personId: string | null = null;
    let allow: Database['passkeys'][] = [];
    if (email !== undefined) {
      const person = await this.#db
        .selectFrom('people')
        .select('id')
        .where('email', '=', emailKey(email))
        .executeTakeFirst();
      personId = person?.id ?? null;
      if (person)
        allow = await this.#db
          .selectFrom('passkeys')
          .selectAll()
          .where('person_id', '=', person.id)
          .where('rp_id', '=', rp.rpID)
          .execute();
    }
    const challengeId = await this.#challenges.create<Ceremony>(
      SIGN_IN,
      personId,
      { rpID: rp.rpID, origin: rp.origin },
      CHALLENGE_TTL_MS,
    );
    const options = await generateAuthenticationOptions({
      rpID: rp.rpID,
      challenge: bytes(challengeId),
      timeout: CHALLENGE_TTL_MS,
      userVerification: 'required',
      ...(allow.length > 0
        ? { allowCredentials: allow.map((p) => ({ id: p.credential_id, transports: transportsOf(p) })) }
        : {}),
    });
    return { challengeId, options };
  }

  /**
   * Checks a passkey assertion and answers the person it signs in. The challenge is claimed
   * first (a failed answer uses it up too); the signature counter must grow when the
   * authenticator keeps one (WebAuthn §6.1.1): a counter that goes back means a copy of the key
   * exists, and that sign-in is refused and audited as a cloned authenticator.
   */
  async signIn(
    rp: RelyingParty,
    ip: string,
    input: { challengeId: string; response: AuthenticationResponseJSON },
  ): Promise<string> {
    if (this.#perAddress.exhausted(ip))
      throw new DomainError('rate-limited', 'too many failed sign-ins from this address: wait a minute');
    const challenge = await this.#challenges.take<Ceremony>(SIGN_IN, input.challengeId);
    if (!challenge)
      return this.#fail(
        ip,
        null,
        'challenge',
        'the sign-in challenge is unknown, used or expired: start again',
      );
    const passkey = await this.#db
      .selectFrom('passkeys')
      .selectAll()
      .where('credential_id', '=', input.response.id)
      .executeTakeFirst();
    if (!passkey || passkey.rp_id !== rp.rpID)
      return this.#fail(ip, null, 'unknown-passkey', 'this passkey is not registered here');
    if (challenge.personId !== null && challenge.personId !== passkey.person_id)
      return this.#fail(ip, passkey.person_id, 'other-person', 'this passkey belongs to another account');
    const userHandle = input.response.response.userHandle;
    if (userHandle && Buffer.from(userHandle, 'base64url').toString('utf8') !== passkey.person_id)
      return this.#fail(ip, passkey.person_id, 'user-handle', 'the passkey names another account');
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
        passkey.person_id,
        'signature',
        `the passkey was not accepted: ${(error as Error).message}`,
      );
    }
    if (!verified.verified)
      return this.#fail(ip, passkey.person_id, 'signature', 'the passkey was not accepted');
    const presented = verified.authenticationInfo.newCounter;
    if ((presented > 0 || stored > 0) && presented <= stored) {
      this.#perAddress.take(ip);
      await inTransaction(this.#db, async (trx) => {
        await this.#audit.append(trx, PLATFORM_CHAIN, {
          actor: `sign-in:${ip}`,
          action: 'person.passkey-cloned',
          targetType: 'person',
          targetId: passkey.person_id,
          details: { factor: 'passkey', passkey: passkey.id, name: passkey.name, stored, presented },
        });
      });
      throw new DomainError(
        'unauthenticated',
        'this passkey’s signature counter went backwards, a sign of a cloned authenticator: it was refused; remove it and add a new one',
      );
    }
    // Guarded by the old counter: of two replays racing each other, one updates, the other fails.
    const updated = await this.#db
      .updateTable('passkeys')
      .set({ counter: presented, last_used_at: this.#clock.now().toISOString() })
      .where('id', '=', passkey.id)
      .where('counter', '=', stored)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1)
      return this.#fail(ip, passkey.person_id, 'race', 'this passkey was just used: start again');
    const person = await this.#db
      .selectFrom('people')
      .select(['email', 'disabled_at'])
      .where('id', '=', passkey.person_id)
      .executeTakeFirstOrThrow();
    if (person.disabled_at !== null)
      return this.#fail(ip, passkey.person_id, 'disabled', 'this account is disabled');
    return passkey.person_id;
  }

  /** Audits a failed passkey sign-in, counts it against the address, and refuses. */
  async #fail(ip: string, personId: string | null, reason: string, message: string): Promise<never> {
    this.#perAddress.take(ip);
    const email = personId
      ? ((await this.#db.selectFrom('people').select('email').where('id', '=', personId).executeTakeFirst())
          ?.email ?? null)
      : null;
    await inTransaction(this.#db, async (trx) => {
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `sign-in:${ip}`,
        action: 'person.sign-in-failed',
        targetType: 'person',
        targetId: personId ?? 'unknown',
        details: { factor: 'passkey', reason, email, person: email ? personActor(email) : null },
      });
    });
    throw new DomainError('unauthenticated', message);
  }
}
