import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { publicKeyOf, signDocument } from '../packages/server/src/escrow/signing.js';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, brickless, bricklessJson } from './support/cli.js';

/**
 * `brickless escrow rotate-key` as a maker and an escrow agent meet it (decision 0013): the agent
 * pinned the key before the rotation and still verifies deposits signed by the new one, because
 * the old key signed the rotation; a rotation the old key did not sign is refused.
 */
for (const dialect of testDialects) {
  describe(`brickless escrow rotate-key (${dialect})`, () => {
    let db: TestDatabase;
    let base: string[];
    let escrowDir: string;
    let identity: string;
    let recipient: string;
    let pinBefore: string;
    let oldKey: string;

    before(async () => {
      assertBuilt();
      db = await freshDatabase(dialect);
      base = ['--data-dir', db.dataDir, '--database', db.url];
      escrowDir = join(db.dataDir, 'escrow');
      const agent = join(db.dataDir, 'agent');
      mkdirSync(agent);
      identity = join(agent, 'agent.key');
      pinBefore = join(agent, 'pin-before-rotation.json');
      recipient = (await bricklessJson(['escrow', 'keygen', '--out', identity])).recipient;
      await bricklessJson([...base, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme GmbH']);
    });
    after(async () => {
      await db.drop();
    });

    it('deposits, rotates, deposits again: the pin from before the rotation still verifies', async () => {
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
      const pinned = await brickless(['escrow', 'verify', escrowDir, '--identity', identity]);
      assert.equal(pinned.code, 0, pinned.stdout + pinned.stderr);
      copyFileSync(`${identity}.deposit-pin.json`, pinBefore);
      oldKey = (await bricklessJson([...base, 'escrow', 'key'])).publicKey;
      assert.equal(JSON.parse(readFileSync(pinBefore, 'utf8')).key, oldKey);

      const rotation = await bricklessJson([...base, 'escrow', 'rotate-key']);
      assert.equal(rotation.statement.from, oldKey);
      const key = await bricklessJson([...base, 'escrow', 'key']);
      assert.equal(key.publicKey, rotation.statement.to);
      assert.notEqual(key.publicKey, oldKey);
      assert.equal(key.rotations.length, 1);

      await bricklessJson([...base, 'orgs', 'create', '--slug', 'beta', '--name', 'Beta GmbH']);
      const second = await bricklessJson([
        ...base,
        'escrow',
        'deposit',
        '--recipient',
        recipient,
        '--out',
        escrowDir,
      ]);
      assert.equal(second.sequence, 2);
      const verified = await brickless([
        'escrow',
        'verify',
        escrowDir,
        '--identity',
        identity,
        '--pin',
        copy(pinBefore, 'pin-1.json'),
      ]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /rotated to/);
      // Only the old key was trusted: both deposits check against it, through the rotation.
      const json = await bricklessJson([
        'escrow',
        'verify',
        escrowDir,
        '--identity',
        identity,
        '--deposit-key',
        oldKey,
        '--pin',
        join(db.dataDir, 'agent', 'fresh-pin.json'),
      ]);
      assert.equal(json.ok, true);
    });

    it('refuses a rotation the old key did not sign', async () => {
      // Someone holding the database but not the deposit key makes a key of their own and a
      // rotation "from the old key" to it, signed by their key, and deposits with it (into a new
      // escrow directory: deposit refuses to extend one signed by another key).
      const forgedDir = join(db.dataDir, 'escrow-forged');
      const attackerDir = join(db.dataDir, 'attacker');
      mkdirSync(attackerDir);
      const attacker = generateKeyPairSync('ed25519').privateKey;
      writeFileSync(join(attackerDir, 'deposit-key.pem'), attacker.export({ format: 'pem', type: 'pkcs8' }), {
        mode: 0o600,
      });
      const statement = {
        format: 'brickless-deposit-key-rotation/1',
        from: oldKey,
        to: publicKeyOf(attacker),
        at: new Date().toISOString(),
      };
      writeFileSync(
        join(attackerDir, 'deposit-key-rotations.json'),
        JSON.stringify([{ statement, signature: signDocument(attacker, statement) }]),
      );
      const forged = await brickless([
        '--data-dir',
        attackerDir,
        '--database',
        db.url,
        'escrow',
        'deposit',
        '--recipient',
        recipient,
        '--out',
        forgedDir,
        '--json',
      ]);
      assert.equal(forged.code, 0, forged.stderr);
      // The agent trusts the old key (from the escrow agreement) and follows rotations from it.
      const refused = await brickless([
        'escrow',
        'verify',
        forgedDir,
        '--identity',
        identity,
        '--deposit-key',
        oldKey,
        '--pin',
        join(db.dataDir, 'agent', 'pin-2.json'),
      ]);
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(refused.stdout, /the rotation from key .* is not signed by that key/);
      const restore = await brickless([
        '--data-dir',
        join(db.dataDir, 'successor'),
        'escrow',
        'restore',
        forgedDir,
        '--identity',
        identity,
        '--deposit-key',
        oldKey,
        '--pin',
        join(db.dataDir, 'agent', 'pin-3.json'),
      ]);
      assert.notEqual(restore.code, 0);
      assert.match(restore.stderr, /is not restorable; nothing was changed/);
      assert.match(restore.stderr, /the rotation from key .* is not signed by that key/);
    });
  });
}

function copy(file: string, name: string): string {
  const to = join(file, '..', name);
  copyFileSync(file, to);
  return to;
}
