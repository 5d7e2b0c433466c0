import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { type EventEmitter, once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import mqtt, { type MqttClient } from 'mqtt';
import { pem } from '../pki/device-ca.js';
import { SecretBox } from '../secrets/master-key.js';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { connectMqtt, startTlsGateway } from '../test-support/mqtt.js';
import { needsPart } from '../test-support/parts.js';

const run = promisify(execFile);
const next = (client: MqttClient, event: string) => once(client as unknown as EventEmitter, event);
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function csrFor(cn: string): Promise<{ csr: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: EC,
  });
  return {
    csr: csr.toString('pem'),
    key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

for (const dialect of testDialects) {
  describe(`device X.509 certificates and mutual TLS (${dialect})`, () => {
    let t: TestApp;
    let port: number;
    let ca: string;
    let caFile: string;
    let productId: string;
    const clients: MqttClient[] = [];

    const connect = async (opts: { clientId: string; key: string; cert: string; password?: string }) => {
      t.clock.advance(10_000);
      return connectMqtt(
        `mqtts://127.0.0.1:${port}`,
        {
          ca,
          ...opts,
        },
        clients,
      );
    };
    const newDevice = async (serial: string): Promise<string> => {
      const device = await t.call('POST', '/v1/orgs/acme/devices', { body: { productId, serial } });
      assert.equal(device.status, 201, device.raw);
      return device.body.id;
    };

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'CAM',
          name: 'Camera',
          hardwareRevision: 'A',
          supportEnds: '2035-01-01',
          capabilities: { telemetry: { temp: { schema: { type: 'number' } } } },
        },
      });
      productId = product.body.id;
      ({ port, ca, caFile } = await startTlsGateway(t));
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await t.close();
    });

    it('issues a certificate with a key made here, binding the device id, and the device connects with it alone', async () => {
      const id = await newDevice('C-1');
      const issued = await t.call('POST', `/v1/orgs/acme/devices/${id}/credentials`, {
        body: { kind: 'certificate' },
      });
      assert.equal(issued.status, 201, issued.raw);
      assert.equal(issued.headers['cache-control'], 'no-store');
      assert.equal(issued.body.credential.kind, 'certificate');
      assert.match(issued.body.credential.fingerprint, /^[0-9a-f]{64}$/);
      assert.match(issued.body.privateKey, /BEGIN PRIVATE KEY/);
      const cert = new x509.X509Certificate(issued.body.certificate);
      assert.equal(cert.subject, `CN=${id}`);
      const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
      assert.deepEqual(san?.names.toJSON(), [{ type: 'url', value: `urn:brickless:device:${id}` }]);
      assert.ok(
        await cert.verify({ publicKey: new x509.X509Certificate(issued.body.caCertificate).publicKey }),
      );

      const caRecord = await t.call('GET', '/v1/orgs/acme/device-ca');
      assert.equal(caRecord.status, 200);
      assert.equal(caRecord.body.certificate, issued.body.caCertificate);

      const client = await connect({
        clientId: id,
        key: issued.body.privateKey,
        cert: issued.body.certificate,
      });
      await client.publishAsync(
        `brickless/v1/${id}/telemetry`,
        JSON.stringify({ readings: [{ time: 1, values: { temp: 21.5 } }] }),
        {
          qos: 1,
        },
      );
      const stored = await t.call(
        'GET',
        `/v1/orgs/acme/devices/${id}/telemetry?field=temp&from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00Z`,
      );
      assert.deepEqual(stored.body.points, [{ time: '1970-01-01T00:00:00.001Z', value: 21.5 }]);
      client.end(true);
    });

    it("signs the device's own CSR (the key never leaves the device) and refuses a tampered or weak one", async () => {
      const id = await newDevice('C-2');
      const { csr, key } = await csrFor('anything');
      const issued = await t.call('POST', `/v1/orgs/acme/devices/${id}/credentials`, {
        body: { kind: 'certificate', csr },
      });
      assert.equal(issued.status, 201, issued.raw);
      assert.equal(issued.body.privateKey, undefined);
      // The CSR's subject is ignored: the certificate names the device the API call was for.
      assert.equal(new x509.X509Certificate(issued.body.certificate).subject, `CN=${id}`);
      const client = await connect({ clientId: id, key, cert: issued.body.certificate });
      client.end(true);

      const body = csr.split('\n');
      body[3] = (body[3] ?? '').replace(/[A-Za-z]/, (c) => (c === 'A' ? 'B' : 'A'));
      for (const bad of [
        body.join('\n'),
        'not a csr',
        '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
      ]) {
        const refused = await t.call('POST', `/v1/orgs/acme/devices/${id}/credentials`, {
          body: { csr: bad },
        });
        assert.equal(refused.status, 400, refused.raw);
        assert.equal(refused.body.errors[0].field, '/csr');
      }
      // The live certificate is untouched by the refused requests.
      const list = await t.call('GET', `/v1/orgs/acme/devices/${id}/credentials`);
      assert.equal(list.body.items.filter((c: { revokedAt: string | null }) => !c.revokedAt).length, 1);
    });

    it('refuses a foreign certificate, a wrong client id, and a revoked or rotated certificate', async () => {
      const id = await newDevice('C-3');
      const issued = await t.call('POST', `/v1/orgs/acme/devices/${id}/credentials`, {
        body: { kind: 'certificate' },
      });
      const own = { key: issued.body.privateKey as string, cert: issued.body.certificate as string };

      // Self-made certificate naming the device: right name, wrong issuer.
      const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
      const forged = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '01',
        name: `CN=${id}`,
        notBefore: new Date('2026-01-01'),
        notAfter: new Date('2030-01-01'),
        signingAlgorithm: EC,
        keys,
        extensions: [
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:brickless:device:${id}` }]),
        ],
      });
      const forgedKey = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
      await assert.rejects(
        connect({ clientId: id, key: forgedKey, cert: forged.toString('pem') }),
        /Not authorized/,
      );
      await assert.rejects(connect({ clientId: 'dev_someone_else', ...own }), /Not authorized/);

      const client = await connect({ clientId: id, ...own });
      const closed = next(client, 'close');
      const revoked = await t.call('DELETE', `/v1/orgs/acme/devices/${id}/credentials`);
      assert.equal(revoked.body.revoked, 1);
      await closed; // disconnected at once
      await assert.rejects(connect({ clientId: id, ...own }), /Not authorized/);

      // Rotation to a secret: the old certificate stops working, the secret works.
      const secret = await t.call('POST', `/v1/orgs/acme/devices/${id}/credentials`, {
        body: { kind: 'secret' },
      });
      await assert.rejects(connect({ clientId: id, ...own }), /Not authorized/);
      t.clock.advance(10_000);
      const bySecret = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
        ca,
        clientId: id,
        username: id,
        password: secret.body.secret,
        reconnectPeriod: 0,
      });
      clients.push(bySecret);
      await next(bySecret, 'connect');
      bySecret.end(true);
    });

    it('keeps the CA key sealed in the database: no PEM at rest, and another master key cannot open it', async () => {
      const row = await t.app.services.store.db
        .selectFrom('device_cas')
        .selectAll()
        .executeTakeFirstOrThrow();
      assert.doesNotMatch(row.key_sealed, /PRIVATE KEY|BEGIN/);
      assert.throws(
        () => SecretBox.random().open(row.key_sealed, `device-ca:${row.org_id}`),
        /does not open/,
      );
      const audit = await t.call('GET', '/v1/orgs/acme/audit?limit=200');
      const actions = audit.body.items.map((e: { action: string }) => e.action);
      assert.ok(actions.includes('device-ca.create'));
    });

    it("connects Debian's mosquitto_pub with a client certificate and no password", async (ctx) => {
      if (needsPart(ctx, 'mosquitto')) return;
      const id = await newDevice('C-4');
      const issued = await t.call('POST', `/v1/orgs/acme/devices/${id}/credentials`, {
        body: { kind: 'certificate' },
      });
      const keyFile = join(t.database.dataDir, 'c4.key');
      const certFile = join(t.database.dataDir, 'c4.crt');
      writeFileSync(keyFile, issued.body.privateKey, { mode: 0o600 });
      writeFileSync(certFile, issued.body.certificate);
      t.clock.advance(10_000);
      await run(
        'mosquitto_pub',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '--cafile',
          caFile,
          '--cert',
          certFile,
          '--key',
          keyFile,
          '-i',
          id,
        ].concat([
          '-t',
          `brickless/v1/${id}/telemetry`,
          '-q',
          '1',
          '-m',
          '{"readings":[{"time":5000,"values":{"temp":-3}}]}',
        ]),
        { timeout: 10_000 },
      );
      const stored = await t.call(
        'GET',
        `/v1/orgs/acme/devices/${id}/telemetry?field=temp&from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00Z`,
      );
      assert.deepEqual(stored.body.points, [{ time: '1970-01-01T00:00:05.000Z', value: -3 }]);
    });
  });
}
