import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, brickless, bricklessJson, cliPath, type Server, startServer } from './support/cli.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Signing is never blind (issue 14): `release sign` lists what the key will sign, computed on the
 * signer's machine, checks it against the maker's own files and asks first; the air-gapped
 * ceremony (export, sign offline without a server, import); online key rotation; expiry checks.
 */
for (const dialect of testDialects) {
  describe(`release signing the signer can verify, through the CLI (${dialect})`, () => {
    let db: TestDatabase;
    let server: (Server & { url: string }) | undefined;
    let remote: string[];
    let productId: string;
    const file = (name: string) => join(db.dataDir, name);
    const fw1 = Buffer.alloc(70_000, 1);
    const fw2 = Buffer.alloc(90_000, 2);
    const sbom = Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [] }));
    /** The CLI without any server: what runs on the air-gapped machine. */
    const offline = { env: { BRICKLESS_SERVER: '', BRICKLESS_TOKEN: '' } };

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
      await bricklessJson([...remote, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme']);
      productId = (
        await bricklessJson([
          ...remote,
          ...['products', 'create', '--model', 'BELL-1', '--name', 'Doorbell', '--revision', 'rev-b'],
          ...['--support-ends', '2034-01-01', '--capabilities', '{"telemetry":{}}'],
        ])
      ).id;
      for (const name of ['root', 'targets'])
        await bricklessJson([
          'keys',
          'generate',
          '--out',
          file(`${name}.key`),
          '--public-out',
          file(`${name}.pub`),
        ]);
      await bricklessJson([
        ...remote,
        ...['updates', 'init', '--root-key', file('root.key'), '--targets-key', file('targets.pub')],
      ]);
      writeFileSync(file('fw.bin'), fw1);
      writeFileSync(file('sbom.json'), sbom);
      await bricklessJson([
        ...remote,
        ...['release', 'create', '1.0.0', '--product', productId, '--file', file('fw.bin')],
        ...['--kind', 'feature', '--security-version', '1', '--sbom', file('sbom.json')],
      ]);
    });
    after(async () => {
      server?.child.kill('SIGKILL');
      await db.drop();
    });

    it('lists every target with path, length, SHA-256 and SBOM hash, and signs nothing unconfirmed', async () => {
      const unconfirmed = await brickless([...remote, 'release', 'sign', '--key', file('targets.key')]);
      assert.equal(unconfirmed.code, 1);
      assert.match(unconfirmed.stderr, new RegExp(`${productId}/1\\.0\\.0/fw\\.bin`));
      assert.match(unconfirmed.stderr, new RegExp(`length 70000 +sha256 ${sha256(fw1)}`));
      assert.match(unconfirmed.stderr, new RegExp(`sbom sha256 ${sha256(sbom)}`));
      assert.match(unconfirmed.stderr, /first targets ever signed/);
      assert.match(unconfirmed.stderr, /not signed: .*--yes/);
      const status = await bricklessJson([...remote, 'updates', 'status']);
      assert.equal(status.targets, null, 'nothing was signed');
    });

    it('with --file, signs when the targets are the maker’s own files', async () => {
      const signed = await bricklessJson([
        ...remote,
        ...['release', 'sign', '--key', file('targets.key'), '--yes'],
        ...['--file', file('fw.bin'), '--file', file('sbom.json')],
      ]);
      assert.equal(signed.published, true);
      assert.equal(signed.review.targets[0].hashes.sha256, sha256(fw1));
      assert.equal(signed.review.targets[0].fields.sbomSha256, sha256(sbom));
      // The signed bytes the listing names are the canonical bytes the server published.
      const published = await bricklessJson([...remote, 'updates', 'status']);
      assert.equal(published.targets.version, signed.review.version);
    });

    it('refuses a target that differs from the maker’s file, and a new target no --file vouches for', async () => {
      mkdirSync(file('build'));
      writeFileSync(file('fw2.bin'), fw2);
      await bricklessJson([
        ...remote,
        ...['release', 'create', '1.1.0', '--product', productId, '--file', file('fw2.bin')],
        ...['--kind', 'security', '--security-version', '2'],
      ]);
      // The maker's own build of fw2.bin is not what the server lists (a compromised server swapped it).
      writeFileSync(file('build/fw2.bin'), Buffer.alloc(90_000, 3));
      const swapped = await brickless([
        ...remote,
        ...['release', 'sign', '--key', file('targets.key'), '--yes', '--file', file('build/fw2.bin')],
      ]);
      assert.equal(swapped.code, 1);
      assert.match(swapped.stderr, /refusing to sign/);
      assert.match(swapped.stderr, new RegExp(`differs from target ${productId}/1\\.1\\.0/fw2\\.bin`));
      assert.match(
        swapped.stderr,
        new RegExp(`\\+ ${productId}/1\\.1\\.0/fw2\\.bin`),
        'the change is listed',
      );
      assert.match(swapped.stderr, /its signature verified with your key/);
      const unvouched = await brickless([
        ...remote,
        ...['release', 'sign', '--key', file('targets.key'), '--yes', '--file', file('fw.bin')],
      ]);
      assert.equal(unvouched.code, 1);
      assert.match(
        unvouched.stderr,
        /1\.1\.0\/fw2\.bin is added since the last signed targets, and no --file is this image/,
      );
      const status = await bricklessJson([...remote, 'updates', 'status']);
      assert.equal(status.targets.version, 1, 'nothing new was signed');
    });

    it('signs in an air-gapped ceremony: export, sign offline without a server, import', async () => {
      const exported = await bricklessJson([...remote, 'release', 'sign', '--export', file('pending.json')]);
      assert.equal(exported.file, file('pending.json'));
      const pending = JSON.parse(readFileSync(file('pending.json'), 'utf8'));
      assert.equal(pending.format, 'brickless/targets-signing-request@1');
      const refused = await brickless(
        ['release', 'sign', '--sign-offline', file('pending.json'), '--key', file('targets.key')],
        offline,
      );
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /--sign-offline needs --out/);
      const signed = await brickless(
        [
          ...['release', 'sign', '--sign-offline', file('pending.json'), '--key', file('targets.key')],
          ...['--out', file('signatures.json'), '--file', file('fw2.bin'), '--yes'],
        ],
        offline,
      );
      assert.equal(signed.code, 0, signed.stderr);
      assert.match(signed.stderr, new RegExp(`length 90000 +sha256 ${sha256(fw2)}`));
      assert.match(signed.stderr, new RegExp(`\\+ ${productId}/1\\.1\\.0/fw2\\.bin`));
      const signatures = JSON.parse(readFileSync(file('signatures.json'), 'utf8'));
      assert.equal(signatures.signatures.length, 1);
      // A signature altered on the way is refused by the server, which verifies it over its draft.
      const forged = structuredClone(signatures);
      forged.signatures[0].sig = `${forged.signatures[0].sig[0] === 'a' ? 'b' : 'a'}${forged.signatures[0].sig.slice(1)}`;
      writeFileSync(file('forged.json'), JSON.stringify(forged));
      const bad = await brickless([...remote, 'release', 'sign', '--import', file('forged.json')]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /does not verify/);
      const imported = await bricklessJson([
        ...remote,
        'release',
        'sign',
        '--import',
        file('signatures.json'),
      ]);
      assert.equal(imported.published, true);
      assert.equal(imported.version, 2);
      const releases = await bricklessJson([...remote, 'release', 'list']);
      assert.ok(releases.items.every((r: { status: string }) => r.status === 'published'));
    });

    it('on a terminal, asks before signing: "n" signs nothing, "y" signs', async () => {
      writeFileSync(file('fw3.bin'), Buffer.alloc(30_000, 4));
      await bricklessJson([
        ...remote,
        ...['release', 'create', '1.2.0', '--product', productId, '--file', file('fw3.bin')],
        ...['--kind', 'feature', '--security-version', '2'],
      ]);
      const before = (await bricklessJson([...remote, 'updates', 'status'])).targets.version;
      // `script` gives the CLI a pseudo-terminal, fed with the answer.
      const onTerminal = (answer: string) => {
        const args = [
          cliPath,
          ...remote,
          'release',
          'sign',
          '--key',
          file('targets.key'),
          '--file',
          file('fw3.bin'),
        ];
        const line = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
        return new Promise<string>((resolve) => {
          const child = spawn('script', ['-qec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            if (out.includes('[y/N]')) child.stdin.end(`${answer}\n`);
          });
          child.on('close', () => resolve(out));
        });
      };
      const declined = await onTerminal('n');
      assert.match(declined, /sign targets version \d+ with 1 key\(s\)\? \[y\/N\]/);
      assert.match(declined, /not signed: you declined/);
      assert.equal((await bricklessJson([...remote, 'updates', 'status'])).targets.version, before);
      const accepted = await onTerminal('y');
      assert.match(accepted, /published targets version/);
      assert.equal((await bricklessJson([...remote, 'updates', 'status'])).targets.version, before + 1);
    });

    it('validates every --expires-days with a clear error and changes nothing', async () => {
      // Each bad value once, and each command once (the CLI is slow to start; the check is shared).
      const commands = [
        ['release', 'sign', '--export', file('x.json')],
        ['updates', 'targets', 'draft', '--out', file('x.json')],
        ['updates', 'root', 'draft', '--out', file('x.json')],
        ['updates', 'rotate-online-keys', '--root-key', file('root.key')],
        ['release', 'sign', '--key', file('targets.key'), '--yes'],
      ];
      const values = ['0', '-3', '1.5', 'forever', '3651'];
      for (const [i, args] of commands.entries()) {
        const result = await brickless([...remote, ...args, '--expires-days', values[i] as string]);
        assert.equal(result.code, 1, `${args.join(' ')}`);
        assert.match(result.stderr, /--expires-days: must be a whole number of days from 1 to 3650/);
      }
      const status = await bricklessJson([...remote, 'updates', 'status']);
      assert.equal(status.root.version, 1);
      assert.equal(status.draft, null);
    });

    it('rotates the online keys with the root key; status shows every expiry and warns before it', async () => {
      const before = await bricklessJson([...remote, 'updates', 'status']);
      const keysBefore = await bricklessJson([
        ...remote,
        'updates',
        'root',
        'export',
        '--out',
        file('r1.json'),
      ]);
      assert.equal(keysBefore.version, 1);
      const rotated = await bricklessJson([
        ...remote,
        ...['updates', 'rotate-online-keys', '--root-key', file('root.key'), '--expires-days', '20'],
      ]);
      assert.equal(rotated.rootVersion, 2);
      const root1 = JSON.parse(readFileSync(file('r1.json'), 'utf8'));
      assert.notEqual(rotated.timestamp, root1.signed.roles.timestamp.keyids[0]);
      const status = await bricklessJson([...remote, 'updates', 'status']);
      assert.equal(status.snapshot.version, before.snapshot.version + 1);
      assert.equal(status.timestamp.version, before.timestamp.version + 1);
      const human = await brickless([...remote, 'updates', 'status']);
      assert.equal(human.code, 0, human.stderr);
      for (const role of ['root', 'targets', 'snapshot', 'timestamp'])
        assert.match(human.stdout, new RegExp(`${role}.*expires \\S+ \\(in \\d+ days\\)`));
      assert.match(human.stderr, /warning: root expires \S+ \(in 20 days\): publish a new root version/);
    });
  });
}
