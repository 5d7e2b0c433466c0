import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError, invalid } from '../errors.js';
import type { SecretBox } from '../secrets/master-key.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { matchTotp, newTotpSecret, otpauthUri } from './totp.js';

const TOTP_PURPOSE = 'person-totp';

/**
 * A person's own sign-in factors besides passkeys: password, TOTP and recovery codes. Every
 * change is audited under the person and ends their other sessions (a changed factor means an
 * old session may be an attacker's).
 */
export class FactorService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #secrets: SecretBox;
  readonly #issuer: string;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    secrets: SecretBox;
    issuer?: string;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#secrets = deps.secrets;
    this.#issuer = deps.issuer ?? 'brickless';
  }

  async #person(trx: Executor, personId: string) {
    return trx.selectFrom('people').selectAll().where('id', '=', personId).executeTakeFirstOrThrow();
  }

  async #log(
    trx: Executor,
    actor: string,
    personId: string,
    action: string,
    details: Record<string, unknown> = {},
  ) {
    await this.#audit.append(trx, PLATFORM_CHAIN, {
      actor,
      action,
      targetType: 'person',
      targetId: personId,
      details,
    });
  }

  /** Sets or changes the password; a change needs the current one (unless there is none yet). */
  async setPassword(
    actor: string,
    personId: string,
    input: { current?: string; password: string },
  ): Promise<'password set' | 'password changed'> {
    const person = await this.#person(this.#db, personId);
    if (person.password_hash !== null) {
      if (!input.current || !(await verifyPassword(person.password_hash, input.current)))
        throw invalid('/current', 'is not your current password');
    }
    checkPasswordPolicy(input.password, person.email);
    const hash = await hashPassword(input.password);
    await inTransaction(this.#db, async (trx) => {
      await trx.updateTable('people').set({ password_hash: hash }).where('id', '=', personId).execute();
      await this.#log(
        trx,
        actor,
        personId,
        person.password_hash ? 'person.password-change' : 'person.password-set',
      );
    });
    return person.password_hash ? 'password changed' : 'password set';
  }

  /** Starts TOTP enrolment: a new secret, shown once, effective after `confirmTotp`. */
  async startTotp(actor: string, personId: string): Promise<{ secret: string; otpauthUri: string }> {
    const person = await this.#person(this.#db, personId);
    if (person.totp_confirmed_at !== null)
      throw new DomainError('conflict', 'TOTP is already on: turn it off first to enrol a new authenticator');
    const secret = newTotpSecret();
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('people')
        .set({ totp_sealed: this.#secrets.seal(secret, TOTP_PURPOSE), totp_last_step: null })
        .where('id', '=', personId)
        .execute();
      await this.#log(trx, actor, personId, 'person.totp-start');
    });
    return { secret, otpauthUri: otpauthUri(secret, person.email, this.#issuer) };
  }

  /** Confirms enrolment with a first code; returns fresh recovery codes (shown once). */
  async confirmTotp(actor: string, personId: string, code: string): Promise<{ recoveryCodes: string[] }> {
    const person = await this.#person(this.#db, personId);
    if (!person.totp_sealed || person.totp_confirmed_at !== null)
      throw new DomainError('conflict', 'start TOTP enrolment first (POST /v1/me/totp)');
    const step = matchTotp(
      this.#secrets.open(person.totp_sealed, TOTP_PURPOSE),
      code,
      this.#clock.now().getTime(),
    );
    if (step === null) throw invalid('/code', 'does not match: check the authenticator app and the clock');
    return inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('people')
        .set({ totp_confirmed_at: this.#clock.now().toISOString(), totp_last_step: Number(step) })
        .where('id', '=', personId)
        .execute();
      await this.#log(trx, actor, personId, 'person.totp-on');
      return { recoveryCodes: await this.#replaceRecoveryCodes(trx, personId) };
    });
  }

  async disableTotp(actor: string, personId: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('people')
        .set({ totp_sealed: null, totp_confirmed_at: null, totp_last_step: null })
        .where('id', '=', personId)
        .execute();
      await this.#log(trx, actor, personId, 'person.totp-off');
    });
  }

  /**
   * Checks a TOTP code at sign-in: true once per time step (RFC 6238 §5.2: never accept the same
   * code twice), false otherwise. The step is recorded in the same statement that checks it.
   */
  async checkTotp(personId: string, code: string): Promise<boolean> {
    const person = await this.#person(this.#db, personId);
    if (!person.totp_sealed || person.totp_confirmed_at === null) return false;
    const step = matchTotp(
      this.#secrets.open(person.totp_sealed, TOTP_PURPOSE),
      code,
      this.#clock.now().getTime(),
    );
    if (step === null) return false;
    const last = person.totp_last_step === null ? null : BigInt(person.totp_last_step);
    if (last !== null && step <= last) return false;
    let q = this.#db
      .updateTable('people')
      .set({ totp_last_step: Number(step) })
      .where('id', '=', personId);
    q = last === null ? q.where('totp_last_step', 'is', null) : q.where('totp_last_step', '=', Number(last));
    const updated = await q.executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  /** Uses up one recovery code; true when it was valid and unused. */
  async useRecoveryCode(personId: string, code: string): Promise<boolean> {
    const updated = await this.#db
      .updateTable('recovery_codes')
      .set({ used_at: this.#clock.now().toISOString() })
      .where('person_id', '=', personId)
      .where('code_hash', '=', hashRecoveryCode(code))
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  async regenerateRecoveryCodes(actor: string, personId: string): Promise<string[]> {
    return inTransaction(this.#db, async (trx) => {
      const codes = await this.#replaceRecoveryCodes(trx, personId);
      await this.#log(trx, actor, personId, 'person.recovery-codes');
      return codes;
    });
  }

  async #replaceRecoveryCodes(trx: Executor, personId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    const now = this.#clock.now().toISOString();
    await trx.deleteFrom('recovery_codes').where('person_id', '=', personId).execute();
    await trx
      .insertInto('recovery_codes')
      .values(
        codes.map((code) => ({
          person_id: personId,
          code_hash: hashRecoveryCode(code),
          created_at: now,
          used_at: null,
        })),
      )
      .execute();
    return codes;
  }
}
