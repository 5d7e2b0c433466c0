import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';
import { newId } from '../ids.js';
import type { SecretBox } from '../secrets/master-key.js';
import { isUniqueViolation } from '../store/db.js';
import type { Database } from '../store/schema.js';
import type { Executor } from '../store/transaction.js';
import { derOf, EC_P256, fingerprintOf, loadX509, pem, serialNumber, type X509 } from './x509.js';

const CA_ALGORITHM = EC_P256;
const DAY = 86_400_000;
/**
 * RFC 5280 4.1.2.5: 99991231235959Z means "no well-defined expiration date". A device identity
 * must outlive any support period (IEEE 802.1AR IDevIDs do the same); the credential registry, not
 * the expiry, decides whether a certificate is still accepted, so revocation stays immediate.
 */
const NO_EXPIRY = new Date('9999-12-31T23:59:59Z');

/** The URI a device certificate carries in its subjectAltName (docs/protocol.md, "Certificates"). */
export const deviceUri = (deviceId: string) => `urn:brickless:device:${deviceId}`;

export interface DeviceCa {
  id: string;
  orgId: string;
  certificate: string;
  fingerprint: string;
  notAfter: string;
  createdAt: string;
}

export interface IssuedCertificate {
  certificate: string;
  fingerprint: string;
  notAfter: string;
}

const badCsr = (message: string) =>
  new DomainError('validation-failed', `/csr: ${message}`, [{ field: '/csr', message }]);

/**
 * Parses a PKCS#10 request and checks its self-signature (proof that the device holds the key).
 * Only keys a small device can use and that are still strong are accepted.
 */
export async function publicKeyFromCsr(csrPem: string): Promise<X509.PublicKey> {
  const x509 = await loadX509();
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw badCsr('not a PEM or DER PKCS#10 certificate signing request');
  }
  const algorithm = csr.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  const strong =
    (algorithm.name === 'ECDSA' && ['P-256', 'P-384'].includes(algorithm.namedCurve ?? '')) ||
    (algorithm.name.startsWith('RSA') && (algorithm.modulusLength ?? 0) >= 2048) ||
    algorithm.name === 'Ed25519';
  if (!strong) throw badCsr('key must be ECDSA P-256 or P-384, Ed25519, or RSA of at least 2048 bits');
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw badCsr('its signature does not verify: the request was altered or not signed by its key');
  return csr.publicKey;
}

/**
 * The organisation's device CA: created at the first certificate it has to sign, its key sealed
 * with the master key in the database. It signs device client certificates that bind the device id
 * (subject CN and a `urn:brickless:device:` URI) for mutual TLS.
 */
export class DeviceCaService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #secrets: SecretBox;
  /** Parsed CA certificates by organisation: every certificate handshake checks against one. */
  readonly #trust = new Map<string, NodeX509>();

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; secrets: SecretBox }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#secrets = deps.secrets;
  }

  async get(orgId: string, db: Executor = this.#db): Promise<DeviceCa | null> {
    const row = await db.selectFrom('device_cas').selectAll().where('org_id', '=', orgId).executeTakeFirst();
    return row
      ? {
          id: row.id,
          orgId: row.org_id,
          certificate: row.cert_pem,
          fingerprint: row.fingerprint,
          notAfter: row.not_after,
          createdAt: row.created_at,
        }
      : null;
  }

  /** The organisation's CA certificate as Node parses it, for verifying presented certificates. */
  async trustAnchor(orgId: string): Promise<NodeX509 | null> {
    const cached = this.#trust.get(orgId);
    if (cached) return cached;
    const ca = await this.get(orgId);
    if (!ca) return null;
    const parsed = new NodeX509(ca.certificate);
    this.#trust.set(orgId, parsed);
    return parsed;
  }

  /** Returns the organisation's CA, creating it first when it has none. */
  async ensure(actor: string, orgId: string): Promise<DeviceCa> {
    const existing = await this.get(orgId);
    if (existing) return existing;
    const org = await this.#db
      .selectFrom('organizations')
      .select(['slug', 'name'])
      .where('id', '=', orgId)
      .executeTakeFirstOrThrow();
    const x509 = await loadX509();
    const now = this.#clock.now();
    const keys = (await webcrypto.subtle.generateKey(CA_ALGORITHM, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: [{ CN: [`brickless device CA ${org.slug}`] }, { O: [org.name.slice(0, 64)] }],
      notBefore: new Date(now.getTime() - DAY),
      notAfter: NO_EXPIRY,
      signingAlgorithm: CA_ALGORITHM,
      keys,
      extensions: [
        // pathLen 0: this CA signs device certificates only, never another CA.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const id = newId('dca', now);
    const keyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    try {
      await this.#db.transaction().execute(async (trx) => {
        await trx
          .insertInto('device_cas')
          .values({
            id,
            org_id: orgId,
            cert_pem: cert.toString('pem'),
            key_sealed: this.#secrets.seal(keyPem, `device-ca:${orgId}`),
            fingerprint: fingerprintOf(cert.rawData),
            not_after: NO_EXPIRY.toISOString(),
            created_at: now.toISOString(),
          })
          .execute();
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'device-ca.create',
          targetType: 'device-ca',
          targetId: id,
          details: { fingerprint: fingerprintOf(cert.rawData) },
        });
      });
    } catch (error) {
      // Two first certificates at once: the other request created the CA; use it.
      if (!isUniqueViolation(error)) throw error;
    }
    return (await this.get(orgId)) as DeviceCa;
  }

  /** Signs a client certificate for the device with the organisation's CA. */
  async sign(
    actor: string,
    orgId: string,
    deviceId: string,
    publicKey: X509.PublicKey | CryptoKey,
  ): Promise<IssuedCertificate> {
    const ca = await this.ensure(actor, orgId);
    const row = await this.#db
      .selectFrom('device_cas')
      .select('key_sealed')
      .where('id', '=', ca.id)
      .executeTakeFirstOrThrow();
    const der = derOf(this.#secrets.open(row.key_sealed, `device-ca:${orgId}`));
    const signingKey = await webcrypto.subtle.importKey('pkcs8', der, CA_ALGORITHM, false, ['sign']);
    const x509 = await loadX509();
    const caCert = new x509.X509Certificate(ca.certificate);
    const now = this.#clock.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: [{ CN: [deviceId] }],
      issuer: caCert.subject,
      notBefore: new Date(now.getTime() - 5 * 60_000), // a device clock a little behind still accepts it
      notAfter: NO_EXPIRY,
      signingAlgorithm: CA_ALGORITHM,
      publicKey,
      signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: deviceUri(deviceId) }]),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      ],
    });
    return {
      certificate: cert.toString('pem'),
      fingerprint: fingerprintOf(cert.rawData),
      notAfter: NO_EXPIRY.toISOString(),
    };
  }
}

/** A fresh P-256 key pair for a device whose key is made off the device (factory line, simulator). */
export async function generateDeviceKey(): Promise<{ publicKey: CryptoKey; privateKeyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  return {
    publicKey: keys.publicKey,
    privateKeyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

export { fingerprintOf, pem };
