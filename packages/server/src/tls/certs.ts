import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { derOf, EC_P256, loadX509, pem, serialNumber as serial, type X509 } from '../pki/x509.js';

const ALGORITHM = EC_P256;
const DAY = 24 * 60 * 60 * 1000;

export interface TlsMaterial {
  key: string;
  cert: string;
  /** The CA certificate that clients and devices trust, when brickless generated it. */
  caFile: string | null;
}

function writeSecret(file: string, content: string): void {
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/**
 * The server's TLS certificate: the configured files, or else a local CA and a server certificate
 * generated in `<dataDir>/tls` at the first start. The CA certificate (`ca.crt`) is what clients
 * and devices pin; its key never leaves the data dir (0600) and later signs device certificates.
 */
export async function ensureTls(options: {
  dataDir: string;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  hostnames: string[];
}): Promise<TlsMaterial> {
  if (options.certFile || options.keyFile) {
    if (!options.certFile || !options.keyFile)
      throw new Error('config: tls.certFile and tls.keyFile must be set together');
    return {
      cert: readFileSync(options.certFile, 'utf8'),
      key: readFileSync(options.keyFile, 'utf8'),
      caFile: null,
    };
  }
  const dir = join(options.dataDir, 'tls');
  const files = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
  };
  if (existsSync(files.cert) && existsSync(files.key) && existsSync(files.caCert)) {
    const cert = readFileSync(files.cert, 'utf8');
    // Node's own parser: the usual start (material in place) needs no certificate library.
    const parsed = new NodeX509(cert);
    if (new Date(parsed.validTo).getTime() - Date.now() > 30 * DAY) {
      return { cert, key: readFileSync(files.key, 'utf8'), caFile: files.caCert };
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const x509 = await loadX509();
  const now = Date.now();
  let caCert: X509.X509Certificate;
  let caKey: CryptoKey;
  if (existsSync(files.caCert) && existsSync(files.caKey)) {
    caCert = new x509.X509Certificate(readFileSync(files.caCert, 'utf8'));
    const der = derOf(readFileSync(files.caKey, 'utf8'));
    caKey = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
  } else {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=brickless local CA ${hostname()}`,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 10 * 365 * DAY),
      signingAlgorithm: ALGORITHM,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caKey = keys.privateKey;
    writeSecret(files.caKey, pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
    writeFileSync(files.caCert, caCert.toString('pem'));
  }
  const serverKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const names = [...new Set(['localhost', hostname(), ...options.hostnames])];
  const isIp = (n: string) => /^[\d.]+$/.test(n) || n.includes(':');
  const serverCert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hostname()}`,
    issuer: caCert.subject,
    notBefore: new Date(now - DAY),
    // 397 days: the longest lifetime browsers accept for a server certificate.
    notAfter: new Date(now + 397 * DAY),
    signingAlgorithm: ALGORITHM,
    publicKey: serverKeys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.filter((n) => !isIp(n)).map((value) => ({ type: 'dns' as const, value })),
        ...['127.0.0.1', '::1', ...names.filter(isIp)].map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  const key = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', serverKeys.privateKey));
  const cert = serverCert.toString('pem');
  writeSecret(files.key, key);
  writeFileSync(files.cert, cert);
  return { key, cert, caFile: files.caCert };
}
