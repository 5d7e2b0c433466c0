import { createHash, randomBytes, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

export type { X509 };

let loaded: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509, loaded on first use: it (with its ASN.1 schemas) is the heaviest import of a
 * start, and a start with its TLS material in place makes no certificate (issue 15).
 */
export function loadX509(): Promise<typeof X509> {
  loaded ??= (async () => {
    // It resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata API.
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  })();
  return loaded;
}

/** The signature algorithm of every certificate brickless makes: ECDSA P-256 with SHA-256. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** DER → PEM with 64-character lines (RFC 7468). */
export function pem(label: string, der: ArrayBuffer | Buffer): string {
  const base64 = Buffer.from(der as ArrayBuffer)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${base64.trimEnd()}\n-----END ${label}-----\n`;
}

/** PEM (one object) → DER. */
export const derOf = (pemText: string): Buffer =>
  Buffer.from(pemText.replace(/-----[^-]+-----|\s/g, ''), 'base64');

/** SHA-256 of a DER encoding, hex: how certificates are registered and compared. */
export const fingerprintOf = (der: Buffer | ArrayBuffer): string =>
  createHash('sha256')
    .update(Buffer.from(der as ArrayBuffer))
    .digest('hex');

/** 128 random bits as a positive INTEGER (RFC 5280 4.1.2.2: positive, at most 20 octets). */
export function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}
