import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const KEY_BYTES = 32;
const FORMAT = 'v1';

/**
 * Envelope encryption for secrets the service must keep in its database (an organisation's device
 * CA key, later the online TUF keys): AES-256-GCM under the node's master key, with the secret's
 * purpose as associated data, so a sealed value copied to another row or purpose does not open.
 * The database, its dumps and the escrow's data files then never hold a usable key; the master key
 * lives in one 0600 file (docs/operations.md, "Secrets").
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`master key must be ${KEY_BYTES} bytes`);
    this.#key = key;
  }

  static random(): SecretBox {
    return new SecretBox(randomBytes(KEY_BYTES));
  }

  seal(plaintext: string, purpose: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  open(sealed: string, purpose: string): string {
    const [format, iv, tag, body] = sealed.split('.');
    if (format !== FORMAT || !iv || !tag || body === undefined)
      throw new Error('sealed secret: unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new Error(
        `sealed secret (${purpose}) does not open with this master key: is secrets.masterKeyFile the one this database was written with?`,
      );
    }
  }
}

/**
 * Reads the master key file, or creates it (32 random bytes, base64, mode 0600) when it does not
 * exist yet. Every node that shares a database must use the same file.
 */
export function loadMasterKey(file: string): SecretBox {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES)
    throw new Error(`${file}: a master key is ${KEY_BYTES} bytes in base64; this file holds ${key.length}`);
  return new SecretBox(key);
}
