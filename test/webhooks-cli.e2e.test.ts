import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Outbox } from '../packages/server/src/notifications/outbox.js';
import { openStore } from '../packages/server/src/store/db.js';
import { freshDatabase, type TestDatabase } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, brickless, bricklessJson, type Server, startServer } from './support/cli.js';

interface Received {
  headers: Record<string, string>;
  body: string;
}

/**
 * `brickless webhooks …` as people type it (issue 18 §5): through the real server, started with
 * webhooks.allowPrivateTargets (by its environment variable), delivering to a real HTTP receiver
 * on 127.0.0.1; the receiver checks every request with the standardwebhooks package.
 */
describe('brickless webhooks, through the real server to a real receiver', () => {
  let db: TestDatabase;
  let server: Server & { url: string };
  let remote: string[];
  let base: string[];
  let receiver: HttpServer;
  let hookUrl: string;
  const received: Received[] = [];
  let status = 200;
  let id: string;
  let secret: string;

  const ok = async (args: string[]) => {
    const result = await brickless(args);
    assert.equal(result.code, 0, `brickless ${args.join(' ')}: ${result.stderr}`);
    return result;
  };

  before(async () => {
    assertBuilt();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/brickless`;
    db = await freshDatabase('sqlite');
    base = ['--data-dir', db.dataDir, '--database', db.url];
    server = await startServer([...base], { BRICKLESS_WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
    const token = /^\s+(bkl_[A-Za-z0-9_-]{43})$/m.exec(server.output())?.[1];
    assert.ok(token, server.output());
    remote = ['--server', server.url, '--token', token, '--ca', `${db.dataDir}/tls/ca.crt`, '--org', 'acme'];
    await ok([...base, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme GmbH']);
  });
  after(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await new Promise((resolve) => receiver?.close(resolve));
    await db?.drop();
  });

  it('create shows the id and the whsec_ secret once; list shows neither the secret nor anything it should not', async () => {
    const made = await bricklessJson([
      ...remote,
      'webhooks',
      'create',
      '--url',
      hookUrl,
      '--events',
      'rollout.halted,exposure.new',
    ]);
    assert.match(made.id, /^whk_/);
    assert.match(made.secret, /^whsec_/);
    assert.deepEqual(made.events, ['rollout.halted', 'exposure.new']);
    id = made.id;
    secret = made.secret;
    const human = await ok([
      ...remote,
      'webhooks',
      'create',
      '--url',
      `${hookUrl}/2`,
      '--events',
      'escrow.failed',
    ]);
    assert.match(human.stdout, /signing secret \(shown this once; put it in the receiver\):\n\s+whsec_\S+/);
    const list = await ok([...remote, 'webhooks', 'list']);
    assert.match(list.stdout, /│ id\s+│ url\s+│ events\s+│ enabled │ created/);
    assert.match(list.stdout, /rollout\.halted, exposure\.new/);
    assert.ok(!list.stdout.includes('whsec_'));
    const json = await bricklessJson([...remote, 'webhooks', 'list']);
    assert.equal(json.items.length, 2);
    assert.ok(!JSON.stringify(json).includes('whsec_'));
  });

  it('test sends a signed webhook.test event that standardwebhooks verifies; deliveries and replay show it', async () => {
    const tested = await ok([...remote, 'webhooks', 'test', id]);
    assert.match(tested.stdout, /status\s+succeeded/);
    assert.match(tested.stdout, /event\s+webhook\.test \(webhook-id obe_[0-9a-f]{28}\)/);
    assert.equal(received.length, 1);
    const first = received[0] as Received;
    const payload = new Webhook(secret).verify(first.body, first.headers) as {
      type: string;
      data: { message: string };
    };
    assert.equal(payload.type, 'webhook.test');
    assert.match(payload.data.message, new RegExp(`A test event for webhook ${id}`));

    const log = await ok([...remote, 'webhooks', 'deliveries', id]);
    assert.match(log.stdout, /webhook\.test\s+│ succeeded │ 1\s+│ 200/);
    const dead = await ok([...remote, 'webhooks', 'deliveries', id, '--status', 'dead']);
    assert.equal(dead.stdout.trim(), '(none)');
    const bad = await brickless([...remote, 'webhooks', 'deliveries', id, '--status', 'lost']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--status: one of pending, failed, succeeded, dead/);
    const page = await bricklessJson([...remote, 'webhooks', 'deliveries', id]);
    const deliveryId = page.items[0].id as string;

    const replayed = await bricklessJson([...remote, 'webhooks', 'replay', deliveryId]);
    assert.equal(replayed.status, 'succeeded');
    assert.equal(received.length, 2);
    const second = received[1] as Received;
    assert.equal(second.headers['webhook-id'], first.headers['webhook-id'], 'a replay keeps the webhook-id');
    new Webhook(secret).verify(second.body, second.headers);
  });

  it('serve runs the dispatcher: an event recorded in the outbox reaches the receiver within seconds', async () => {
    const store = await openStore(db.url);
    try {
      const org = await store.db
        .selectFrom('organizations')
        .select('id')
        .where('slug', '=', 'acme')
        .executeTakeFirstOrThrow();
      const event = await new Outbox({ db: store.db, clock: { now: () => new Date() } }).record(
        org.id,
        'exposure.new',
        {
          vulnerabilityId: 'CVE-2026-0001',
          severity: 'critical',
          kev: true,
          devices: 12,
          products: ['PLUG-1'],
        },
      );
      const deadline = Date.now() + 20_000;
      while (!received.some((r) => r.headers['webhook-id'] === event.id) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 200));
      const got = received.find((r) => r.headers['webhook-id'] === event.id);
      assert.ok(got, 'delivered by the running server');
      const payload = new Webhook(secret).verify(got.body, got.headers) as {
        type: string;
        data: { devices: number };
      };
      assert.equal(payload.type, 'exposure.new');
      assert.equal(payload.data.devices, 12);
    } finally {
      await store.close();
    }
  });

  it('a failing receiver: test exits 1 and says why; the delivery waits for its retry', async () => {
    status = 500;
    const failed = await brickless([...remote, 'webhooks', 'test', id]);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /status\s+failed/);
    assert.match(failed.stdout, /last answer\s+500/);
    assert.match(failed.stdout, /next attempt\s+20\d\d-/);
    const waiting = await bricklessJson([...remote, 'webhooks', 'deliveries', id, '--status', 'failed']);
    assert.equal(waiting.items.length, 1);
    status = 200;
  });

  it('update, rotate-secret (the new secret signs) and delete', async () => {
    const off = await ok([...remote, 'webhooks', 'update', id, '--disable', '--events', 'rollout.halted']);
    assert.match(off.stdout, /│ no\s+│/);
    const on = await bricklessJson([...remote, 'webhooks', 'update', id, '--enable']);
    assert.equal(on.enabled, true);
    const rotated = await bricklessJson([...remote, 'webhooks', 'rotate-secret', id]);
    assert.notEqual(rotated.secret, secret);
    const human = await ok([...remote, 'webhooks', 'rotate-secret', id]);
    const newest = /whsec_\S+/.exec(human.stdout)?.[0] as string;
    await ok([...remote, 'webhooks', 'test', id]);
    const last = received.at(-1) as Received;
    new Webhook(newest).verify(last.body, last.headers);
    assert.throws(() => new Webhook(secret).verify(last.body, last.headers));
    assert.match(
      (await ok([...remote, 'webhooks', 'delete', id])).stdout,
      new RegExp(`deleted webhook ${id}`),
    );
    const gone = await brickless([...remote, 'webhooks', 'test', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not found/);
  });

  it('without webhooks.allowPrivateTargets a private target is refused, naming the config key', async () => {
    // Direct mode on the same data dir, without the environment variable the server had.
    const refused = await brickless([
      ...base,
      '--org',
      'acme',
      'webhooks',
      'create',
      '--url',
      'https://127.0.0.1/hook',
      '--events',
      'rollout.halted',
    ]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /127\.0\.0\.1 is 127\.0\.0\.1, a loopback address.*webhooks\.allowPrivateTargets/,
    );
    const unknown = await brickless([...remote, 'webhooks', 'create', '--url', hookUrl, '--events', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /events/);
  });
});
