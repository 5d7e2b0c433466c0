import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as age from 'age-encryption';
import { sql } from 'kysely';
import { signCheckpoints } from '../audit/checkpoints.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Config } from '../config.js';
import { type Dialect, openStore } from '../store/db.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { FilesystemArtifactStore } from '../updates/artifact-store.js';
import { AuditHeadsBehind, deposit } from './deposit.js';
import { type DepositManifest, locateDeposit, manifestHeads, signedPart } from './manifest.js';
import { ObjectStore, sha256Of } from './objects.js';
import { depositFromApp } from './service.js';
import { loadDepositKey, publicKeyOf, rotateDepositKey, signDocument } from './signing.js';
import { RestoreRefused, restoreEscrow, verifyEscrow } from './successor.js';

/**
 * What someone who owns the maker's database (or even the maker's server and its deposit key),
 * but not the escrow agent's copy and pin, can do to a deposit; each attack a test, deposits
 * from either dialect and restores into the other. verify and restore must both refuse, and a
 * refused or failed restore must leave the target exactly as it was.
 */
const pairs: [Dialect, Dialect][] = testDialects.includes('postgres')
  ? [
      ['sqlite', 'postgres'],
      ['postgres', 'sqlite'],
    ]
  : [['sqlite', 'sqlite']];

for (const [from, to] of pairs) {
  describe(`escrow tampering: deposit from ${from}, restore into ${to}`, () => {
    let t: TestApp;
    let work: string;
    let escrowDir: string;
    let identity: string;
    let recipient: string;
    let pinFile: string;
    let orgId: string;
    let productId: string;
    const targets: TestDatabase[] = [];
    const source = () => ({
      database: t.database.url,
      artifacts: new FilesystemArtifactStore(join(t.database.dataDir, 'artifacts')),
      dataDir: t.database.dataDir,
      masterKeyFile: join(work, 'master.key'),
      config: {},
      openapi: { openapi: '3.1.0' },
    });
    const makeDeposit = () => deposit(source(), { out: escrowDir, recipients: [recipient] });
    const genuineKey = () => loadDepositKey(t.database.dataDir, { create: false }).privateKey;
    const verify = (
      options: { depositId?: string; pin?: string | null; depositKey?: string; full?: boolean } = {},
    ) =>
      verifyEscrow({
        bundle: escrowDir,
        ...(options.depositId ? { depositId: options.depositId } : {}),
        ...(options.full ? { identity } : {}),
        trust: {
          ...(options.pin === null ? {} : { pinFile: options.pin ?? pinFile }),
          ...(options.depositKey ? { depositKey: options.depositKey } : {}),
        },
      });
    const failed = (report: Awaited<ReturnType<typeof verify>>) =>
      report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

    /** A fresh target; a restore into it that is refused must leave it exactly as it was. */
    const restoreInto = async (trust: { pinFile?: string; depositKey?: string } = { pinFile }) => {
      const target = await freshDatabase(to);
      targets.push(target);
      const successor = join(target.dataDir, 'successor');
      const attempt = restoreEscrow({
        bundle: escrowDir,
        identity,
        trust,
        database: target.url,
        artifactDir: join(successor, 'artifacts'),
        masterKeyFile: join(successor, 'master.key'),
      });
      return { target, successor, attempt };
    };
    const assertUntouched = async (target: TestDatabase, successor: string) => {
      assert.ok(!existsSync(join(successor, 'master.key')), 'no master key written');
      assert.deepEqual(
        existsSync(join(successor, 'artifacts')) ? readdirSync(join(successor, 'artifacts')) : [],
        [],
        'no artifact left behind',
      );
      if (to === 'sqlite') {
        assert.deepEqual(
          readdirSync(target.dataDir).filter((f) => f !== 'successor'),
          [],
          'no database file, no temporary file',
        );
        return;
      }
      const store = await openStore(target.url);
      try {
        assert.deepEqual(await store.db.introspection.getTables(), [], 'no table in any schema');
        const schemas = await sql<{ name: string }>`
          select schema_name as name from information_schema.schemata where schema_name like 'brickless_restore_%'`.execute(
          store.db,
        );
        assert.deepEqual(schemas.rows, [], 'no temporary schema left');
      } finally {
        await store.close();
      }
    };

    /** Rewrites the latest manifest; returns a function that puts the original back. */
    const rewriteLatest = (
      mutate: (m: DepositManifest) => void,
      signing: 'keep' | 'unsigned' | KeyObject,
    ): (() => void) => {
      const located = locateDeposit(escrowDir);
      const file = join(located.depositDir, 'manifest.json');
      const original = readFileSync(file);
      const manifest = JSON.parse(original.toString('utf8')) as DepositManifest;
      mutate(manifest);
      if (signing === 'unsigned') delete manifest.signature;
      else if (signing !== 'keep')
        manifest.signature = {
          key: publicKeyOf(signing),
          value: signDocument(signing, signedPart(manifest)),
        };
      writeFileSync(file, JSON.stringify(manifest, null, 1));
      return () => writeFileSync(file, original);
    };
    /** Changes the rows of a table's first chunk and recomputes the chunk's hash, counts and stats. */
    const editRows = async (m: DepositManifest, table: string, edit: (lines: string[]) => string[]) => {
      const objects = new ObjectStore(escrowDir);
      const entry = m.tables[table];
      const chunk = entry?.chunks[0];
      assert.ok(entry && chunk, `${table} has a chunk`);
      const lines = (await objects.readChunk(chunk.sha256)).split('\n').slice(0, -1);
      const edited = edit(lines);
      const stored = await objects.putChunk(`${edited.join('\n')}\n`);
      entry.rows += edited.length - lines.length;
      m.stats.rows += edited.length - lines.length;
      entry.chunks[0] = { sha256: stored.sha256, rows: edited.length, bytes: stored.bytes };
    };

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-escrow-tamper-'));
      escrowDir = join(work, 'escrow');
      pinFile = join(work, 'agent.key.deposit-pin.json');
      identity = await age.generateX25519Identity();
      recipient = await age.identityToRecipient(identity);
      t = await testApp(from, { masterKeyFile: join(work, 'master.key'), https: true });
      orgId = (await t.org('acme')).id;
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: { modelNumber: 'P-1', name: 'Plug', hardwareRevision: 'A', supportEnds: '2031-12-31' },
      });
      assert.equal(product.status, 201, product.raw);
      productId = product.body.id;
      for (const serials of [['S1', 'S2'], ['S3'], ['S4']]) {
        const provisioned = await t.call('POST', '/v1/orgs/acme/provisioning', {
          body: { productId, serials, credential: 'secret', firmwareVersion: '1.0.0' },
        });
        assert.equal(provisioned.status, 201, provisioned.raw);
      }
      await makeDeposit();
    });
    after(async () => {
      await t.close();
      for (const target of targets) await target.drop();
      rmSync(work, { recursive: true, force: true });
    });

    it('pins the deposit key at the first verify, and a restore through the same checks succeeds', async () => {
      const first = await verify({ full: true });
      assert.deepEqual(failed(first), []);
      assert.equal(first.level, 'restorability');
      const pin = JSON.parse(readFileSync(pinFile, 'utf8'));
      assert.equal(pin.key, loadDepositKey(t.database.dataDir).publicKey);
      assert.equal(pin.deposit.sequence, 1);
      const { target, attempt } = await restoreInto();
      const report = await attempt;
      assert.equal(report.rows.devices, 4);
      const restored = await openStore(target.url);
      try {
        const devices = await restored.db.selectFrom('devices').select('id').execute();
        assert.equal(devices.length, 4);
      } finally {
        await restored.close();
      }
    });

    it('refuses a manifest altered with every hash recomputed: unsigned, signed by another key, or under the old signature', async () => {
      const attacker = generateKeyPairSync('ed25519').privateKey;
      const variants: [string, 'keep' | 'unsigned' | KeyObject, RegExp][] = [
        ['unsigned', 'unsigned', /signature: the manifest is not signed/],
        ['another key', attacker, /deposit key: signed by key .*, not by the pinned key/],
        ['old signature', 'keep', /signature: the manifest does not match its signature/],
      ];
      for (const [name, signing, expected] of variants) {
        // A device row dropped from the data, the chunk's hash, row counts and stats recomputed.
        const objects = new ObjectStore(escrowDir);
        let putBack = () => {};
        const m = locateDeposit(escrowDir).manifest;
        await editRows(m, 'devices', (lines) => lines.slice(1));
        putBack = rewriteLatest((copy) => Object.assign(copy, { tables: m.tables, stats: m.stats }), signing);
        assert.ok(objects.has(m.tables.devices?.chunks[0]?.sha256 as string, 'chunk'));
        const report = await verify();
        assert.equal(report.ok, false, name);
        assert.equal(report.level, null, `${name}: not even integrity`);
        assert.match(failed(report).join('\n'), expected, name);
        const { target, successor, attempt } = await restoreInto();
        await assert.rejects(attempt, (error: Error) => {
          assert.ok(error instanceof RestoreRefused, name);
          assert.match(error.message, /nothing was changed/);
          assert.match(error.message, expected);
          return true;
        });
        await assertUntouched(target, successor);
        putBack();
      }
      assert.deepEqual(failed(await verify()), [], 'put back');
    });

    it('refuses an older deposit presented as the latest (replay), and restores it when asked for by id', async () => {
      const more = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials: ['S5'], credential: 'secret', firmwareVersion: '1.0.0' },
      });
      assert.equal(more.status, 201, more.raw);
      const first = locateDeposit(escrowDir).manifest;
      const second = await makeDeposit();
      assert.deepEqual(failed(await verify()), []);
      writeFileSync(join(escrowDir, 'LATEST'), `${first.id}\n`);
      const replay = await verify();
      assert.match(
        failed(replay).join('\n'),
        /deposit chain: .*already verified deposit .* rolled back or an older one replayed/,
      );
      const { target, successor, attempt } = await restoreInto();
      await assert.rejects(attempt, /rolled back or an older one replayed/);
      await assertUntouched(target, successor);
      assert.deepEqual(
        failed(await verify({ depositId: first.id })),
        [],
        'an older deposit, asked for by id',
      );
      writeFileSync(join(escrowDir, 'LATEST'), `${second.id}\n`);
      // A deposit rewritten after the agent verified it (even re-signed with the service's key).
      const putBack = rewriteLatest((m) => {
        m.stats.seconds += 1;
      }, genuineKey());
      assert.match(failed(await verify()).join('\n'), /not the deposit the agent verified .* rewritten/);
      putBack();
    });

    it('follows a key rotation signed by the old key, and refuses a rotation the old key did not sign', async () => {
      const before = loadDepositKey(t.database.dataDir).publicKey;
      const rotation = rotateDepositKey(t.database.dataDir, new Date());
      assert.equal(rotation.statement.from, before);
      await makeDeposit();
      const report = await verify();
      assert.deepEqual(failed(report), []);
      assert.match(report.checks.find((c) => c.name === 'deposit key')?.detail ?? '', /rotated to/);
      assert.equal(JSON.parse(readFileSync(pinFile, 'utf8')).key, rotation.statement.to);
      // Someone with another key adds a rotation "from the pinned key" that the pinned key never signed.
      const attacker = generateKeyPairSync('ed25519').privateKey;
      const statement = {
        format: 'brickless-deposit-key-rotation/1' as const,
        from: rotation.statement.to,
        to: publicKeyOf(attacker),
        at: new Date().toISOString(),
      };
      const putBack = rewriteLatest((m) => {
        m.keyRotations = [...m.keyRotations, { statement, signature: signDocument(attacker, statement) }];
      }, attacker);
      assert.match(
        failed(await verify()).join('\n'),
        /deposit key: the rotation from key .* is not signed by that key/,
      );
      putBack();
    });

    it('refuses a deposit whose audit heads are behind the previous one, at deposit time and at verify', async () => {
      const db = t.app.services.store.db;
      const config = {
        dataDir: t.database.dataDir,
        database: t.database.url,
        secrets: { masterKeyFile: join(work, 'master.key') },
      } as Config;
      const deposits = () => readdirSync(join(escrowDir, 'deposits')).length;
      const count = deposits();
      const head = await db
        .selectFrom('audit_heads')
        .selectAll()
        .where('chain', '=', orgId)
        .executeTakeFirstOrThrow();
      const last = await db
        .selectFrom('audit_entries')
        .selectAll()
        .where('chain', '=', orgId)
        .where('seq', '=', head.seq)
        .executeTakeFirstOrThrow();
      const prior = await db
        .selectFrom('audit_entries')
        .select('hash')
        .where('chain', '=', orgId)
        .where('seq', '=', Number(head.seq) - 1)
        .executeTakeFirstOrThrow();
      // Cut the tail and move the head back: the chain alone still verifies.
      await db.deleteFrom('audit_entries').where('chain', '=', orgId).where('seq', '=', head.seq).execute();
      await db
        .updateTable('audit_heads')
        .set({ seq: Number(head.seq) - 1, hash: prior.hash })
        .where('chain', '=', orgId)
        .execute();
      await assert.rejects(depositFromApp(t.app, config, escrowDir, [recipient], 'test'), (error: Error) => {
        assert.ok(error instanceof AuditHeadsBehind);
        assert.match(
          error.message,
          new RegExp(`chain ${orgId} went back from ${head.seq} to ${Number(head.seq) - 1}`),
        );
        return true;
      });
      assert.equal(deposits(), count, 'no deposit written');
      const reported = await t.app.services.audit.list(db, PLATFORM_CHAIN, {
        limit: 1000,
        action: 'escrow.deposit-refused',
      });
      assert.equal(reported.length, 1, 'the refusal is in the platform audit chain');
      // A whole organisation's chain deleted.
      const entries = await db.selectFrom('audit_entries').selectAll().where('chain', '=', orgId).execute();
      await db.deleteFrom('audit_entries').where('chain', '=', orgId).execute();
      await db.deleteFrom('audit_heads').where('chain', '=', orgId).execute();
      await assert.rejects(makeDeposit(), new RegExp(`chain ${orgId} \\(\\d+ entries\\) is gone`));
      // Put the log back as it was.
      await db
        .insertInto('audit_entries')
        .values([...entries, last])
        .execute();
      await db.insertInto('audit_heads').values(head).execute();
      assert.equal((await t.app.services.audit.verify(db, orgId)).ok, true);

      // The verifier's side: a deposit signed with the service's own key whose heads went back.
      const latest = locateDeposit(escrowDir);
      const key = loadDepositKey(t.database.dataDir);
      const forgedId = `${String(latest.manifest.sequence + 1).padStart(6, '0')}-20991231T000000Z`;
      const forgedDir = join(escrowDir, 'deposits', forgedId);
      cpSync(latest.depositDir, forgedDir, { recursive: true });
      const m = structuredClone(latest.manifest);
      m.id = forgedId;
      m.sequence += 1;
      m.previous = { id: latest.manifest.id, sha256: latest.manifestSha256 };
      const heads = manifestHeads(m);
      heads.set(orgId, { seq: Number(head.seq) - 1, hash: prior.hash });
      m.audit.checkpoints = signCheckpoints(heads, key, new Date());
      m.signature = { key: key.publicKey, value: signDocument(key.privateKey, signedPart(m)) };
      writeFileSync(join(forgedDir, 'manifest.json'), JSON.stringify(m));
      writeFileSync(join(escrowDir, 'LATEST'), `${forgedId}\n`);
      const report = await verify({ pin: null });
      assert.match(failed(report).join('\n'), new RegExp(`audit heads of deposit ${forgedId} are behind`));
      assert.match(failed(report).join('\n'), /audit heads: chain .*: the data's head/);
      rmSync(forgedDir, { recursive: true });
      writeFileSync(join(escrowDir, 'LATEST'), `${latest.manifest.id}\n`);
      assert.deepEqual(failed(await verify()), []);
    });

    it('a restore that fails midway (after the checks verify shares) leaves the target exactly as it was', async () => {
      // Data the service itself signed but that cannot load: a duplicated row (unique key), and
      // an audit entry edited in the middle of a chain (the restored chain does not verify).
      const key = genuineKey();
      const agreement = loadDepositKey(t.database.dataDir).publicKey;
      const cases: [string, (m: DepositManifest) => Promise<void>, RegExp][] = [
        [
          'duplicated row',
          (m) => editRows(m, 'devices', (lines) => [...lines, lines[0] as string]),
          /UNIQUE|unique|duplicate/,
        ],
        [
          'edited audit entry',
          (m) => {
            const columns = m.tables.audit_entries?.columns ?? [];
            const [chainAt, seqAt, actorAt] = ['chain', 'seq', 'actor'].map((c) => columns.indexOf(c));
            return editRows(m, 'audit_entries', (lines) =>
              lines.map((line) => {
                const row = JSON.parse(line) as unknown[];
                if (row[chainAt as number] !== orgId || row[seqAt as number] !== 1) return line;
                row[actorAt as number] = 'someone-else';
                return JSON.stringify(row);
              }),
            );
          },
          /audit chains broken/,
        ],
      ];
      for (const [name, damage, expected] of cases) {
        const m = structuredClone(locateDeposit(escrowDir).manifest);
        await damage(m);
        const putBack = rewriteLatest(
          (copy) => Object.assign(copy, { tables: m.tables, stats: m.stats }),
          key,
        );
        // A successor with the key from the escrow agreement and no pin yet.
        const fresh = join(work, `fresh-${sha256Of(name).slice(0, 8)}.json`);
        const report = await verify({ pin: fresh, full: true });
        assert.match(failed(report).join('\n'), new RegExp(`trial restore: .*${expected.source}`), name);
        assert.ok(!existsSync(fresh), `${name}: a failed verify pins nothing`);
        const { target, successor, attempt } = await restoreInto({ depositKey: agreement });
        await assert.rejects(attempt, (error: Error) => {
          assert.ok(!(error instanceof RestoreRefused), `${name}: the inspection passes, the load fails`);
          assert.match(error.message, expected, name);
          return true;
        });
        await assertUntouched(target, successor);
        putBack();
      }
    });

    it('refuses changed documents and trust roots in verify and restore alike', async () => {
      const located = locateDeposit(escrowDir);
      for (const name of ['docs/protocol.md', 'trust/acme/1.root.json', 'RESTORE.md']) {
        const path = join(located.depositDir, name);
        if (!existsSync(path)) continue;
        const original = readFileSync(path);
        writeFileSync(path, Buffer.concat([original, Buffer.from(' ')]));
        assert.match(
          failed(await verify()).join('\n'),
          new RegExp(`files: ${name.replace('.', '\\.')} altered`),
        );
        const { target, successor, attempt } = await restoreInto();
        await assert.rejects(attempt, new RegExp(`${name.replace('.', '\\.')} altered`));
        await assertUntouched(target, successor);
        writeFileSync(path, original);
      }
    });

    if (from === 'sqlite')
      it('text PostgreSQL cannot hold (NUL) and an integer beyond 32 bits: verify says not restorable, restore refuses', async () => {
        const db = t.app.services.store.db;
        const device = await db.selectFrom('devices').select(['id', 'org_id']).executeTakeFirstOrThrow();
        await db
          .insertInto('telemetry')
          .values({
            org_id: device.org_id,
            device_id: device.id,
            field: 'note',
            ts: 1,
            num_value: null,
            text_value: 'a\u0000b',
          })
          .execute();
        await db
          .updateTable('devices')
          .set({ security_version: 3_000_000_000 })
          .where('id', '=', device.id)
          .execute();
        await makeDeposit();
        const report = await verify({ full: true });
        assert.equal(report.ok, false);
        assert.equal(report.level, 'integrity');
        const values = report.checks.find((c) => c.name === 'portable values')?.detail ?? '';
        assert.match(values, /not restorable: .*telemetry .* text_value: text with a NUL character/);
        assert.match(values, /devices .* security_version: 3000000000 does not fit PostgreSQL's integer/);
        const { target, successor, attempt } = await restoreInto();
        await assert.rejects(attempt, /portable values: not restorable/);
        await assertUntouched(target, successor);
        await db.deleteFrom('telemetry').where('ts', '=', 1).execute();
        await db.updateTable('devices').set({ security_version: null }).where('id', '=', device.id).execute();
        await makeDeposit();
        assert.deepEqual(failed(await verify({ full: true })), []);
      });
  });
}
