import { createHash, randomBytes } from 'node:crypto';

/**
 * Claim codes for a device's label or QR code (issue 18 §1): 16 characters of Crockford's base32
 * (no I, L, O or U, so nothing reads as another character), shown as 4 groups of 4:
 * 16 × 5 = 80 bits from the system's CSPRNG. At the claim limit (10 wrong codes an hour per owner
 * and per address) guessing one given code is hopeless, and even a million claimed devices leave
 * 2^80 / 2^20 = 2^60 guesses per hit. Stored only as SHA-256 of the normalised code.
 */
export const CLAIM_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const CLAIM_CODE_BITS = 80;

export function newClaimCode(): string {
  const bytes = randomBytes(CLAIM_CODE_BITS / 8);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = (CLAIM_CODE_ALPHABET[Number(bits & 31n)] ?? '0') + out;
    bits >>= 5n;
  }
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}-${out.slice(12)}`;
}

/**
 * The code as typed, made canonical: case, spaces and hyphens do not matter, and the letters
 * Crockford's base32 maps (O to 0, I and L to 1) read as the digits they look like. Null when
 * what is left is not 16 characters of the alphabet.
 */
export function normaliseClaimCode(typed: string): string | null {
  const text = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{16}$/.test(text) ? text : null;
}

export const hashClaimCode = (normalised: string): string =>
  createHash('sha256').update(`claim-code:${normalised}`).digest('hex');
