import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../packages/server/src/store/db.js';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, brickless, bricklessJson } from './support/cli.js';

const other = (dialect: 'sqlite' | 'postgres') =>
  testDialects.includes('postgres') ? (dialect === 'sqlite' ? 'postgres' : 'sqlite') : 'sqlite';

/** The escrow as a maker and a successor use it: the commands, their exit codes and their errors. */
for (const dialect of testDialects) {
  describe(`brickless escrow deposit, verify and restore (${dialect} → ${other(dialect)})`, () => {
    let source: TestDatabase;
    let target: TestDatabase;
    let base: string[];
    let escrowDir: string;
    let identity: string;
    let recipient: string;

    before(async () => {
      assertBuilt();
      source = await freshDatabase(dialect);
      target = await freshDatabase(other(dialect));
      base = ['--data-dir', source.dataDir, '--database', source.url];
      escrowDir = join(source.dataDir, 'escrow');
      identity = join(target.dataDir, 'agent.key');
      await bricklessJson([...base, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme GmbH']);
      const product = await bricklessJson([
        ...base,
        'products',
        'create',
        '--model',
        'PLUG-1',
        '--name',
        'Plug',
        '--revision',
        'A',
        '--support-ends',
        '2031-12-31',
      ]);
      const provisioned = await brickless([
        ...base,
        'devices',
        'provision',
        '--product',
        product.id,
        '--serial-prefix',
        'SN',
        '--count',
        '5',
        '--out',
        join(source.dataDir, 'batch.jsonl'),
      ]);
      assert.equal(provisioned.code, 0, provisioned.stderr);
    });
    after(async () => {
      await source.drop();
      await target.drop();
    });

    it('makes an agent key, deposits, and deposits again incrementally', async () => {
      const key = await bricklessJson(['escrow', 'keygen', '--out', identity]);
      recipient = key.recipient;
      assert.match(recipient, /^age1/);
      assert.match(readFileSync(identity, 'utf8'), /AGE-SECRET-KEY-1/);
      const again = await brickless(['escrow', 'keygen', '--out', identity]);
      assert.notEqual(again.code, 0, 'an identity file is never overwritten');
      const first = await bricklessJson([
        ...base,
        'escrow',
        'deposit',
        '--recipient',
        recipient,
        '--out',
        escrowDir,
      ]);
      assert.equal(first.sequence, 1);
      assert.equal(first.tables.devices, 5);
      const human = await brickless([
        ...base,
        'escrow',
        'deposit',
        '--recipient',
        recipient,
        '--out',
        escrowDir,
      ]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /deposit 000002-/);
      assert.match(human.stdout, /chunks \(\d+ new\)/);
      const bad = await brickless([
        ...base,
        'escrow',
        'deposit',
        '--recipient',
        'not-a-key',
        '--out',
        escrowDir,
      ]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /not an age public key/);
      assert.equal(
        readdirSync(join(escrowDir, 'deposits')).length,
        2,
        'a refused deposit leaves no directory',
      );
    });

    it('verifies: completeness without the identity, restorability with it, exit 1 on a gap', async () => {
      const plain = await bricklessJson(['escrow', 'verify', escrowDir]);
      assert.equal(plain.level, 'completeness');
      const full = await brickless(['escrow', 'verify', escrowDir, '--identity', identity]);
      assert.equal(full.code, 0, full.stdout);
      assert.match(full.stdout, /level reached: restorability/);
      const latest = readFileSync(join(escrowDir, 'LATEST'), 'utf8').trim();
      const runbook = join(escrowDir, 'deposits', latest, 'RESTORE.md');
      const text = readFileSync(runbook, 'utf8');
      appendFileSync(runbook, 'tampered');
      const broken = await brickless(['escrow', 'verify', escrowDir]);
      assert.equal(broken.code, 1);
      assert.match(broken.stdout, /RESTORE\.md altered/);
      assert.match(broken.stdout, /GAPS FOUND/);
      writeFileSync(runbook, text);
      const missing = await brickless(['escrow', 'verify', join(escrowDir, 'nowhere')]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /does not exist/);
    });

    it(`restores into an empty ${other(dialect)} database; a second restore is refused`, async () => {
      const args = ['--data-dir', join(target.dataDir, 'successor'), '--database', target.url];
      const restored = await bricklessJson([...args, 'escrow', 'restore', escrowDir, '--identity', identity]);
      assert.equal(restored.rows.devices, 5);
      assert.ok(restored.chains.every((c: { ok: boolean }) => c.ok));
      // The successor's own first administrator: a one-time setup link (issue 16 §7).
      assert.match(restored.setupUrl, /^https:\/\/[^/]+\/invitation#[A-Za-z0-9_-]{43}$/);
      const devices = await bricklessJson([...args, 'devices', 'list']);
      assert.equal(devices.items.length, 5);
      const audit = await brickless([...args, 'audit', 'verify']);
      assert.equal(audit.code, 0, audit.stdout);
      const twice = await brickless([...args, 'escrow', 'restore', escrowDir, '--identity', identity]);
      assert.notEqual(twice.code, 0);
      assert.match(twice.stderr, /not empty/);
    });
    it('pinned the deposit key next to the identity; a tampered deposit is refused by verify and restore with a clear message', async () => {
      const key = await bricklessJson([...base, 'escrow', 'key']);
      const pin = JSON.parse(readFileSync(`${identity}.deposit-pin.json`, 'utf8'));
      assert.equal(pin.key, key.publicKey, 'the first verify with --identity pinned the key');
      const latest = readFileSync(join(escrowDir, 'LATEST'), 'utf8').trim();
      const manifestFile = join(escrowDir, 'deposits', latest, 'manifest.json');
      const original = readFileSync(manifestFile, 'utf8');
      const manifest = JSON.parse(original);
      manifest.tables.devices.rows += 1;
      delete manifest.signature;
      writeFileSync(manifestFile, JSON.stringify(manifest));
      const verify = await brickless(['escrow', 'verify', escrowDir, '--identity', identity]);
      assert.equal(verify.code, 1);
      assert.match(verify.stdout, /the manifest is not signed/);
      const refusedDir = join(target.dataDir, 'refused');
      const restore = await brickless([
        '--data-dir',
        refusedDir,
        'escrow',
        'restore',
        escrowDir,
        '--identity',
        identity,
      ]);
      assert.notEqual(restore.code, 0);
      assert.match(restore.stderr, /is not restorable; nothing was changed/);
      assert.match(restore.stderr, /the manifest is not signed/);
      assert.doesNotMatch(restore.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(!existsSync(join(refusedDir, 'brickless.db')) && !existsSync(join(refusedDir, 'master.key')));
      writeFileSync(manifestFile, original);
      assert.equal((await brickless(['escrow', 'verify', escrowDir, '--identity', identity])).code, 0);
    });

    it('audit verify checks the log against the signed checkpoints: a cut tail is reported', async () => {
      const checkpoint = await bricklessJson([...base, 'audit', 'checkpoint']);
      assert.ok(checkpoint.checkpoints.length >= 2);
      const clean = await brickless([...base, 'audit', 'verify']);
      assert.equal(clean.code, 0, clean.stdout);
      assert.match(clean.stdout, /checkpoints of \d+ chains checked/);
      const store = await openStore(source.url);
      try {
        const org = await store.db.selectFrom('organizations').select('id').executeTakeFirstOrThrow();
        const head = await store.db
          .selectFrom('audit_heads')
          .selectAll()
          .where('chain', '=', org.id)
          .executeTakeFirstOrThrow();
        const prior = await store.db
          .selectFrom('audit_entries')
          .select('hash')
          .where('chain', '=', org.id)
          .where('seq', '=', Number(head.seq) - 1)
          .executeTakeFirstOrThrow();
        await store.db
          .deleteFrom('audit_entries')
          .where('chain', '=', org.id)
          .where('seq', '=', head.seq)
          .execute();
        await store.db
          .updateTable('audit_heads')
          .set({ seq: Number(head.seq) - 1, hash: prior.hash })
          .where('chain', '=', org.id)
          .execute();
      } finally {
        await store.close();
      }
      const key = (await bricklessJson([...base, 'escrow', 'key'])).publicKey;
      for (const extra of [[], ['--checkpoints', escrowDir, '--key', key]]) {
        const cut = await brickless([...base, 'audit', 'verify', ...extra]);
        assert.equal(cut.code, 1, cut.stdout);
        assert.match(cut.stdout, /the chain ends at entry \d+, but the checkpoint .* says \d+/);
        assert.match(cut.stdout, /audit log BROKEN/);
      }
    });
  });

  describe(`brickless escrow drill (${dialect} → ${other(dialect)})`, () => {
    it('takes a fleet over end to end: no device lost, every feature passes', async () => {
      assertBuilt();
      const result = await brickless([
        'escrow',
        'drill',
        '--devices',
        '12',
        '--source',
        dialect,
        '--target',
        other(dialect),
        '--timeout',
        '120',
        '--json',
      ]);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      const report = JSON.parse(result.stdout);
      assert.equal(report.ok, true);
      assert.equal(report.devicesLost, 0);
      assert.equal(report.rowsLost, 0);
      assert.equal(report.reconnected, 12);
      assert.equal(report.late.devices, 1);
      assert.deepEqual(
        report.features.filter((f: { ok: boolean }) => !f.ok),
        [],
      );
      assert.ok(report.features.length >= 8);
    });
  });
}
