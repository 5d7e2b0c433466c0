import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { invalid } from '../errors.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import type { SignInMethod } from './sessions.js';

/**
 * What an organisation requires of a session before its people may act in it (issue 16 §3):
 * `any` factor, a `second-factor` (TOTP, a recovery code, a passkey or the organisation's single
 * sign-on), or a `passkey` (phishing-resistant, NIST SP 800-63B AAL3-style).
 */
export const signInRequirements = ['any', 'second-factor', 'passkey'] as const;
export type SignInRequirement = (typeof signInRequirements)[number];

const STRONG: Record<SignInRequirement, readonly SignInMethod[]> = {
  any: ['passkey', 'password+totp', 'password', 'recovery-code', 'oidc', 'invitation'],
  'second-factor': ['passkey', 'password+totp', 'recovery-code', 'oidc'],
  passkey: ['passkey'],
};

export function meets(requirement: SignInRequirement, method: SignInMethod): boolean {
  return STRONG[requirement].includes(method);
}

export function explainRequirement(requirement: SignInRequirement): string {
  return requirement === 'passkey'
    ? 'this organisation requires sign-in with a passkey: add one under your account, then sign in with it'
    : 'this organisation requires a second factor: turn on TOTP or add a passkey, then sign in again';
}

export class SignInPolicyService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async requirements(orgIds: readonly string[]): Promise<Map<string, SignInRequirement>> {
    if (orgIds.length === 0) return new Map();
    const rows = await this.#db
      .selectFrom('org_sign_in')
      .select(['org_id', 'require'])
      .where('org_id', 'in', [...orgIds])
      .execute();
    return new Map(rows.map((r) => [r.org_id, r.require as SignInRequirement]));
  }

  /** Every organisation that requires more than any sign-in (for a platform admin's session). */
  async strict(): Promise<Map<string, SignInRequirement>> {
    const rows = await this.#db
      .selectFrom('org_sign_in')
      .select(['org_id', 'require'])
      .where('require', '!=', 'any')
      .execute();
    return new Map(rows.map((r) => [r.org_id, r.require as SignInRequirement]));
  }

  async get(orgId: string): Promise<{ require: SignInRequirement }> {
    const found = await this.requirements([orgId]);
    return { require: found.get(orgId) ?? 'any' };
  }

  async set(actor: string, orgId: string, require: string): Promise<{ require: SignInRequirement }> {
    if (!(signInRequirements as readonly string[]).includes(require))
      throw invalid('/require', 'must be any, second-factor or passkey');
    const now = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      const existing = await trx
        .selectFrom('org_sign_in')
        .select('org_id')
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      if (existing)
        await trx
          .updateTable('org_sign_in')
          .set({ require, updated_at: now })
          .where('org_id', '=', orgId)
          .execute();
      else
        await trx
          .insertInto('org_sign_in')
          .values({
            org_id: orgId,
            require,
            oidc_issuer: null,
            oidc_client_id: null,
            oidc_client_secret_sealed: null,
            oidc_groups_claim: null,
            oidc_group_roles: null,
            oidc_scopes: null,
            updated_at: now,
          })
          .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'organization.sign-in-policy',
        targetType: 'organization',
        targetId: orgId,
        details: { require },
      });
    });
    return { require: require as SignInRequirement };
  }
}
