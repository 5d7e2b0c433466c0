import { createHash, randomBytes } from 'node:crypto';

/**
 * Recovery codes: ten single-use codes of 60 random bits each, shown once and stored as SHA-256
 * (their entropy makes a slow hash unnecessary, as for API tokens). Formatted in groups a person
 * can read aloud and type: `xxxx-xxxx-xxxx` from an alphabet without look-alike characters.
 */
// 32 characters: each random byte picks one without bias (b & 31); no i, l, o, 1 to confuse.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz023456789';
export const RECOVERY_CODE_COUNT = 10;

export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  const codes: string[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = randomBytes(12);
    const chars = [...bytes].map((b) => ALPHABET[b & 31]).join('');
    codes.push(`${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`);
  }
  return codes;
}

/** Normalised (case, spaces, dashes) before hashing, so a code typed loosely still matches. */
export function hashRecoveryCode(code: string): string {
  const normalised = code.toLowerCase().replace(/[\s-]/g, '');
  return createHash('sha256').update(`recovery:${normalised}`).digest('hex');
}
