import { readFileSync, writeFileSync } from 'node:fs';

/**
 * What a successor needs that the database does not hold in the clear, sealed to the escrow
 * agent's age key(s): the master key (which opens the online TUF keys and device CA keys sealed
 * in the database), the server's TLS material, and the effective configuration.
 */
export interface EscrowSecrets {
  format: 'brickless-escrow-secrets/1';
  /** The master key file's content (base64 of 32 bytes). */
  masterKey: string;
  /** Files of `<dataDir>/tls` by name (ca.crt, ca.key, server.crt, server.key), when present. */
  tls: Record<string, string>;
  /** The configuration the depositing server ran with. */
  config: unknown;
}

const RECIPIENT = /^age1[0-9a-z]{20,}$/;

/** age (and its post-quantum and curve libraries), loaded when a deposit is sealed or opened, not at every start (issue 15). */
const loadAge = () => import('age-encryption');

export function checkRecipient(recipient: string): string {
  const value = recipient.trim();
  if (!RECIPIENT.test(value))
    throw new Error(`escrow: ${JSON.stringify(recipient)} is not an age public key (age1…)`);
  return value;
}

export async function encryptSecrets(secrets: EscrowSecrets, recipients: string[]): Promise<Uint8Array> {
  if (recipients.length === 0) throw new Error('escrow: at least one --recipient (age public key) is needed');
  const age = await loadAge();
  const encrypter = new age.Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(checkRecipient(recipient));
  return encrypter.encrypt(JSON.stringify(secrets));
}

export async function decryptSecrets(sealed: Uint8Array, identity: string): Promise<EscrowSecrets> {
  const age = await loadAge();
  const decrypter = new age.Decrypter();
  decrypter.addIdentity(identity);
  let text: string;
  try {
    text = await decrypter.decrypt(sealed, 'text');
  } catch (error) {
    throw new Error(`escrow: secrets.age does not open with this identity (${(error as Error).message})`);
  }
  const parsed = JSON.parse(text) as EscrowSecrets;
  if (parsed.format !== 'brickless-escrow-secrets/1' || typeof parsed.masterKey !== 'string')
    throw new Error('escrow: secrets.age holds no brickless secrets');
  return parsed;
}

/** Reads an age identity file (the `age-keygen` format: comment lines and one AGE-SECRET-KEY-1 line). */
export function readIdentityFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`escrow: cannot read identity ${path}: ${(error as Error).message}`);
  }
  const key = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (!key) throw new Error(`escrow: ${path} holds no age identity (AGE-SECRET-KEY-1…)`);
  return key;
}

/** Makes an escrow agent key pair; writes the identity file (0600, never overwritten). */
export async function generateAgentKey(path: string): Promise<string> {
  const age = await loadAge();
  const identity = await age.generateX25519Identity();
  const recipient = await age.identityToRecipient(identity);
  writeFileSync(path, `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  return recipient;
}
