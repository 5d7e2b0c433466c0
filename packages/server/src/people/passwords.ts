import { hash, verify } from '@node-rs/argon2';
import { invalid } from '../errors.js';

/**
 * Passwords are the fallback factor (issue 16 §3), hashed with argon2id at OWASP's recommended
 * minimum (19 MiB, 2 passes, 1 lane; RFC 9106 §4 names argon2id as the default).
 */
const ARGON2ID = 2;
const PARAMETERS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/**
 * NIST SP 800-63B §3.1.1.2: length over composition rules; refuse what is trivially guessable
 * (the e-mail address itself, a single repeated character).
 */
export function checkPasswordPolicy(password: string, email: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN)
    throw invalid(
      '/password',
      `must be at least ${PASSWORD_MIN} characters (a passphrase of a few words works well)`,
    );
  if (length > PASSWORD_MAX) throw invalid('/password', `must be at most ${PASSWORD_MAX} characters`);
  if (new Set(password).size < 4) throw invalid('/password', 'uses too few different characters');
  if (password.toLowerCase().includes(email.toLowerCase().split('@')[0] ?? '\u0000'))
    throw invalid('/password', 'must not contain the e-mail address');
}

export async function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMETERS);
}

/** Constant-time compare inside argon2; a malformed stored hash counts as a mismatch. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A fixed hash to verify against when the account does not exist, so timing does not tell. */
let decoy: Promise<string> | null = null;
export async function verifyDecoy(password: string): Promise<void> {
  decoy ??= hashPassword('decoy password that matches nothing');
  await verifyPassword(await decoy, password);
}
