import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, brickless, bricklessJson, cliPath, type Server, startServer } from './support/cli.js';

/**
 * The maker's whole path through the CLI against a running server: keys made offline, a root with
 * an escrow key, a release signed on the maker's machine, a staged rollout that updates a simulated
 * fleet wave by wave, and a rollout with failing devices that halts by itself.
 */
for (const dialect of testDialects) {
  describe(`signed updates through the CLI and the simulator (${dialect})`, () => {
    let db: TestDatabase;
    let server: (Server & { url: string }) | undefined;
    let remote: string[];
    let productId: string;
    let mqttUrl: string;
    const file = (name: string) => join(db.dataDir, name);

    /** Runs the simulator in the background for the fleet in `batch`. */
    const simulate = (batch: string, extra: string[]) =>
      new Promise<any>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            cliPath,
            ...remote,
            'simulate',
            '--batch',
            batch,
            '--url',
            mqttUrl,
            '--http-url',
            server?.url.replace('localhost', '127.0.0.1') as string,
            '--updates-root',
            file('root.json'),
            '--interval',
            '10s',
            '--duration',
            '20s',
            '--json',
            ...extra,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString();
        });
        child.on('close', () => {
          try {
            resolve(JSON.parse(out));
          } catch {
            reject(new Error(`simulate: ${out}\n${err}`));
          }
        });
      });

    before(async () => {
      assertBuilt();
      db = await freshDatabase(dialect);
      server = await startServer(['--data-dir', db.dataDir], { BRICKLESS_DATABASE_URL: db.url });
      const token = /^\s+(bkl_[A-Za-z0-9_-]{43})$/m.exec(server.output())?.[1] as string;
      remote = [
        '--server',
        server.url,
        '--token',
        token,
        '--ca',
        join(db.dataDir, 'tls', 'ca.crt'),
        '--org',
        'acme',
      ];
      mqttUrl = `mqtts://127.0.0.1:${/MQTT:\s+mqtts:\/\/localhost:(\d+)/.exec(server.output())?.[1]}`;
      await bricklessJson([...remote, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme']);
      const product = await bricklessJson([
        ...remote,
        'products',
        'create',
        '--model',
        'BELL-1',
        '--name',
        'Doorbell',
        '--revision',
        'rev-b',
        '--support-ends',
        '2034-01-01',
        '--capabilities',
        '{"telemetry":{"battery":{"schema":{"type":"number","minimum":0,"maximum":100}}}}',
      ]);
      productId = product.id;
    });
    after(async () => {
      server?.child.kill('SIGKILL');
      await db.drop();
    });

    it('makes keys offline: private files only their owner can read, public halves to share', async () => {
      for (const name of ['root', 'targets', 'escrow']) {
        const key = await bricklessJson([
          'keys',
          'generate',
          '--out',
          file(`${name}.key`),
          '--public-out',
          file(`${name}.pub`),
        ]);
        assert.match(key.keyid, /^[0-9a-f]{64}$/);
        assert.equal(statSync(file(`${name}.key`)).mode & 0o777, 0o600);
        assert.equal(JSON.parse(readFileSync(file(`${name}.pub`), 'utf8')).private, undefined);
      }
      const again = await brickless(['keys', 'generate', '--out', file('root.key')]);
      assert.equal(again.code, 1, 'an existing key file is never overwritten');
    });

    it('publishes root version 1 with the escrow key, and refuses a second init', async () => {
      const result = await bricklessJson([
        ...remote,
        'updates',
        'init',
        '--root-key',
        file('root.key'),
        '--targets-key',
        file('targets.pub'),
        '--escrow-key',
        file('escrow.pub'),
        '--out',
        file('root.json'),
      ]);
      assert.equal(result.version, 1);
      const status = await bricklessJson([...remote, 'updates', 'status']);
      assert.equal(status.root.escrowKeyIds.length, 1);
      const twice = await brickless([
        ...remote,
        'updates',
        'init',
        '--root-key',
        file('root.key'),
        '--targets-key',
        file('targets.pub'),
      ]);
      assert.equal(twice.code, 1);
      assert.match(twice.stderr, /has a root already/);
    });

    it('creates a release from an image and an SBOM, signed with the targets key on this machine', async () => {
      writeFileSync(file('fw-2.0.0.bin'), Buffer.alloc(256 * 1024, 7));
      writeFileSync(
        file('sbom.json'),
        JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [] }),
      );
      const release = await bricklessJson([
        ...remote,
        'release',
        'create',
        '2.0.0',
        '--product',
        productId,
        '--file',
        file('fw-2.0.0.bin'),
        '--kind',
        'feature',
        '--security-version',
        '2',
        '--notes',
        'Faster chime',
        '--sbom',
        file('sbom.json'),
      ]);
      assert.equal(release.status, 'draft');
      assert.match(release.sbomSha256, /^[0-9a-f]{64}$/);
      const unsignedRollout = await brickless([...remote, 'rollout', 'create', '--release', release.id]);
      assert.equal(unsignedRollout.code, 1);
      assert.match(unsignedRollout.stderr, /not signed/);
      const wrongKey = await brickless([...remote, 'release', 'sign', '--key', file('root.key'), '--yes']);
      assert.equal(wrongKey.code, 1);
      assert.match(wrongKey.stderr, /not a targets key/);
      const signed = await bricklessJson([
        ...remote,
        'release',
        'sign',
        '--key',
        file('targets.key'),
        '--yes',
      ]);
      assert.equal(signed.published, true);
      const after = await bricklessJson([...remote, 'release', 'get', release.id]);
      assert.equal(after.status, 'published');
    });

    it('rolls the release out wave by wave to a simulated fleet, which installs, reboots and confirms', async () => {
      const batch = file('fleet.jsonl');
      await bricklessJson([
        ...remote,
        'devices',
        'provision',
        '--product',
        productId,
        '--serial-prefix',
        'BELL-',
        '--count',
        '6',
        '--firmware',
        '1.0.0',
        '--tag',
        'good',
        '--out',
        batch,
      ]);
      const running = simulate(batch, ['--busy', '0.5']);
      await new Promise((r) => setTimeout(r, 3000)); // let the fleet connect
      const release = (await bricklessJson([...remote, 'release', 'list'])).items[0];
      const rollout = await bricklessJson([
        ...remote,
        'rollout',
        'create',
        '--release',
        release.id,
        '--tag',
        'good',
        '--waves',
        '50,100',
        '--soak',
        '2',
      ]);
      const watched = await brickless([...remote, 'rollout', 'watch', rollout.id, '--interval', '1']);
      assert.equal(watched.code, 0, watched.stderr);
      const final = await bricklessJson([...remote, 'rollout', 'get', rollout.id]);
      assert.equal(final.status, 'completed');
      assert.equal(final.totals.succeeded, 6);
      const audit = await bricklessJson([...remote, 'audit', 'list', '--limit', '200']);
      const advanced = audit.items.filter((e: { action: string }) => e.action === 'rollout.advance');
      assert.equal(advanced.length, 1, 'two waves: one advance');
      const stats = await running;
      assert.equal(stats.updatesSucceeded, 6);
      const devices = await bricklessJson([...remote, 'devices', 'list', '--tag', 'good']);
      for (const device of devices.items) assert.equal(device.firmwareVersion, '2.0.0');
      const history = await bricklessJson([...remote, 'updates', 'history', devices.items[0].id]);
      assert.equal(history.items[0].step, 'succeeded');
    });

    it('halts by itself when the devices fail to install, and says why', async () => {
      // A draft made before the release exists (nobody signed it): release sign rebuilds it.
      const stale = await bricklessJson([
        ...remote,
        'updates',
        'targets',
        'draft',
        '--out',
        file('stale.json'),
      ]);
      assert.deepEqual(stale.releases.length, 1);
      writeFileSync(file('fw-2.1.0.bin'), Buffer.alloc(64 * 1024, 9));
      const release = await bricklessJson([
        ...remote,
        'release',
        'create',
        '2.1.0',
        '--product',
        productId,
        '--file',
        file('fw-2.1.0.bin'),
        '--kind',
        'security',
        '--security-version',
        '3',
      ]);
      await bricklessJson([...remote, 'release', 'sign', '--key', file('targets.key'), '--yes']);
      const batch = file('bad.jsonl');
      await bricklessJson([
        ...remote,
        'devices',
        'provision',
        '--product',
        productId,
        '--serial-prefix',
        'BAD-',
        '--count',
        '4',
        '--tag',
        'bad',
        '--out',
        batch,
      ]);
      const running = simulate(batch, ['--fail-install', '1']);
      await new Promise((r) => setTimeout(r, 3000));
      const rollout = await bricklessJson([
        ...remote,
        'rollout',
        'create',
        '--release',
        release.id,
        '--tag',
        'bad',
        '--waves',
        '25,100',
        '--failure',
        '0.1',
      ]);
      const watched = await brickless([...remote, 'rollout', 'watch', rollout.id, '--interval', '1']);
      assert.equal(watched.code, 1, 'watch exits non-zero on a halt');
      const halted = await bricklessJson([...remote, 'rollout', 'get', rollout.id]);
      assert.equal(halted.status, 'halted');
      assert.equal(halted.currentWave, 0, 'the first wave never advanced');
      const failed = await bricklessJson([...remote, 'rollout', 'devices', rollout.id, '--state', 'failed']);
      assert.equal(failed.items[0].reason, 'install-failed');
      // Why, in the device's words, is kept in the rollout and in the device's history.
      assert.match(failed.items[0].message, /\S/);
      const history = await bricklessJson([...remote, 'updates', 'history', failed.items[0].deviceId]);
      const step = history.items.find((r: { step: string }) => r.step === 'failed');
      assert.equal(step.message, failed.items[0].message);
      const untouched = await bricklessJson([
        ...remote,
        'rollout',
        'devices',
        rollout.id,
        '--state',
        'pending',
      ]);
      assert.equal(untouched.items.length, 3, 'the other devices were never offered');
      const stats = await running;
      assert.equal(stats.updatesSucceeded, 0);
    });
  });
}
