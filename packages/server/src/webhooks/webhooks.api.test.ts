import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { Webhook } from 'standardwebhooks';
import { ManualClock } from '../clock.js';
import { newId } from '../ids.js';
import { EVENT_TYPES } from '../notifications/catalogue.js';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { MAX_ATTEMPTS, RETRY_DELAYS_S, WebhookDispatcher } from './dispatcher.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false }));
/** The Standard Webhooks payload of each type, with the catalogue's schema for its data. */
const validators = new Map(
  EVENT_TYPES.map((t) => [
    t.type,
    ajv.compile({
      type: 'object',
      required: ['type', 'timestamp', 'data'],
      additionalProperties: false,
      properties: {
        type: { const: t.type },
        timestamp: { type: 'string', format: 'date-time' },
        data: t.schema,
      },
    }),
  ]),
);

/** A value that fits a catalogue schema, so every type can be sent (types added later included). */
function sample(schema: Record<string, any>): unknown {
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'object':
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([k, v]) => [k, sample(v as object)]),
      );
    case 'array':
      return [sample(schema.items ?? { type: 'string' })];
    case 'integer':
      return 3;
    case 'number':
      return 1.5;
    case 'boolean':
      return true;
    default:
      return schema.format === 'date-time' ? '2026-03-01T12:00:00.000Z' : 'text';
  }
}

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A real HTTP receiver on 127.0.0.1; `answer` decides the status of each request by path. */
async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  answer: (path: string) => number;
  setAnswer: (f: (path: string, n: number) => number) => void;
  close: () => Promise<void>;
}> {
  const received: Received[] = [];
  let decide: (path: string, n: number) => number = () => 200;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers as Record<string, string>, body });
      const n = received.filter((r) => r.path === req.url).length;
      res.writeHead(decide(req.url ?? '', n)).end('thanks');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer: (path) => decide(path, 0),
    setAnswer: (f) => {
      decide = f;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Checks a request as a receiver would: the signature with the standardwebhooks package, the body with the catalogue. */
function checkSigned(
  r: Received,
  secret: string,
  options: { fullVerify?: boolean } = {},
): Record<string, any> {
  const wh = new Webhook(secret);
  const id = r.headers['webhook-id'] as string;
  const timestamp = Number(r.headers['webhook-timestamp']);
  assert.match(r.headers['webhook-signature'] as string, /^v1,[A-Za-z0-9+/]+=*$/);
  // The package computes the signature of what the receiver got; it must be the one we sent.
  assert.equal(wh.sign(id, new Date(timestamp * 1000), r.body), r.headers['webhook-signature']);
  // And with a clock near the real time, the package's own verify (which also checks the timestamp).
  if (options.fullVerify) wh.verify(r.body, r.headers);
  const payload = JSON.parse(r.body);
  const validate = validators.get(payload.type);
  assert.ok(validate, `a catalogue type: ${payload.type}`);
  assert.ok(validate(payload), JSON.stringify(validate.errors));
  return payload;
}

for (const dialect of testDialects) {
  describe(`webhooks: API, signatures, retries, dead letters and replay (${dialect})`, () => {
    let t: TestApp;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let a: { id: string; slug: string; token: string };
    let b: { id: string; slug: string; token: string };
    let clock: ManualClock;
    const hooks: Record<string, { id: string; secret: string }> = {};
    const tick = () => t.app.services.webhookDispatcher.tick();
    const record = (
      orgId: string,
      type: 'rollout.halted' | 'disclosure.received' | 'webhook.test',
      data: object,
    ) => t.app.services.outbox.record(orgId, type as never, data as Record<string, unknown>);
    const halted = {
      rolloutId: 'rol_1',
      rolloutName: 'spring',
      releaseId: 'rel_1',
      version: '1.2.0',
      failed: 7,
      reason: 'failure threshold',
    };

    before(async () => {
      // Near the real time, so the package's verify() accepts the first timestamps.
      clock = new ManualClock(new Date());
      t = await testApp(dialect, { clock, webhooksAllowPrivateTargets: true });
      a = await t.org('hooks-a');
      b = await t.org('hooks-b');
      receiver = await startReceiver();
    });
    after(async () => {
      await receiver.close();
      await t.close();
    });

    it('creates a webhook and shows its whsec_ secret once; lists and gets never show it; the audit log neither', async () => {
      const made = await t.call('POST', `/v1/orgs/${a.slug}/webhooks`, {
        token: a.token,
        body: { url: `${receiver.url}/ok`, events: ['rollout.halted', 'disclosure.received'] },
      });
      assert.equal(made.status, 201, made.raw);
      assert.match(made.body.id, /^whk_[0-9a-f]{28}$/);
      assert.match(made.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.deepEqual(made.body.events, ['rollout.halted', 'disclosure.received']);
      assert.equal(made.body.enabled, true);
      hooks.ok = { id: made.body.id, secret: made.body.secret };
      const list = await t.call('GET', `/v1/orgs/${a.slug}/webhooks`, { token: a.token });
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.items.map((w: { id: string }) => w.id),
        [made.body.id],
      );
      const got = await t.call('GET', `/v1/orgs/${a.slug}/webhooks/${made.body.id}`, { token: a.token });
      assert.equal(got.status, 200);
      for (const r of [list.raw, got.raw]) assert.ok(!r.includes('whsec_') && !r.includes('secret'), r);
      const audit = await t.call('GET', `/v1/orgs/${a.slug}/audit?action=webhook.create`, { token: a.token });
      assert.equal(audit.status, 200, audit.raw);
      assert.equal(audit.body.items.length, 1);
      assert.ok(!audit.raw.includes(made.body.secret.slice(6)), 'the secret is not in the audit log');
      // The secret at rest is sealed, not the whsec_ text.
      const row = await t.app.services.store.db
        .selectFrom('webhooks')
        .select('secret_sealed')
        .where('id', '=', made.body.id)
        .executeTakeFirstOrThrow();
      assert.ok(!row.secret_sealed.includes(made.body.secret.slice(6)));
    });

    it('validates every input: event types from the catalogue, URL form and length, hostile strings, unknown fields', async () => {
      const post = (body: unknown) => t.call('POST', `/v1/orgs/${a.slug}/webhooks`, { token: a.token, body });
      const cases: [unknown, RegExp][] = [
        [{ url: `${receiver.url}/x`, events: ['nope.nope'] }, /events/],
        [{ url: `${receiver.url}/x`, events: [] }, /events/],
        [{ url: `${receiver.url}/x`, events: ['__proto__'] }, /events/],
        [{ url: 'javascript:alert(1)', events: ['rollout.halted'] }, /scheme javascript: is not allowed/],
        [{ url: `${receiver.url}/\u0000`, events: ['rollout.halted'] }, /control/],
        [{ url: `${receiver.url}/${'a'.repeat(2001)}`, events: ['rollout.halted'] }, /url/],
        [
          { url: `${receiver.url}/x`, events: ['rollout.halted'], secret: 'whsec_mine' },
          /secret|additional/i,
        ],
        [{ url: 42, events: ['rollout.halted'] }, /url/],
      ];
      for (const [body, pattern] of cases) {
        const res = await post(body);
        assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${res.raw}`);
        assert.equal(res.body.code, 'validation-failed');
        assert.match(res.raw, pattern);
      }
      const patch = await t.call('PATCH', `/v1/orgs/${a.slug}/webhooks/${hooks.ok?.id}`, {
        token: a.token,
        body: {},
      });
      assert.equal(patch.status, 400);
      assert.match(patch.body.detail, /change at least one of url, events, enabled/);
    });

    it('delivers an outbox event signed by the Standard Webhooks scheme, the same webhook-id as the event, body per the catalogue', async () => {
      const event = await record(a.id, 'rollout.halted', halted);
      await record(b.id, 'rollout.halted', halted); // another organisation's event: not for A's webhook
      const { created, attempted } = await tick();
      assert.equal(created, 1);
      assert.equal(attempted, 1);
      const got = receiver.received.filter((r) => r.path === '/ok');
      assert.equal(got.length, 1);
      const r = got[0] as Received;
      assert.equal(r.headers['webhook-id'], event.id);
      assert.equal(r.headers['content-type'], 'application/json');
      const payload = checkSigned(r, hooks.ok?.secret as string, { fullVerify: true });
      assert.deepEqual(payload, { type: 'rollout.halted', timestamp: event.occurredAt, data: halted });
      // Seen again by the next scans (the re-read window), still sent once.
      await tick();
      clock.advance(60_000);
      await tick();
      assert.equal(receiver.received.filter((x) => x.path === '/ok').length, 1);
      const log = await t.call('GET', `/v1/orgs/${a.slug}/webhooks/${hooks.ok?.id}/deliveries`, {
        token: a.token,
      });
      assert.equal(log.status, 200, log.raw);
      assert.equal(log.body.items.length, 1);
      assert.equal(log.body.items[0].status, 'succeeded');
      assert.equal(log.body.items[0].lastResponseStatus, 200);
      assert.equal(log.body.items[0].lastResponseExcerpt, 'thanks');
      assert.equal(log.body.items[0].eventType, 'rollout.halted');
    });

    it('does not skip an event whose transaction committed after the cursor passed its id', async () => {
      await tick();
      // An id made a minute ago (its transaction began then) that commits only now, after newer events were read.
      const late = newId('obe', new Date(clock.now().getTime() - 60_000));
      await record(a.id, 'disclosure.received', { disclosureId: 'dsc_1', title: 'newer' });
      await tick();
      await t.app.services.store.db
        .insertInto('outbound_events')
        .values({
          id: late,
          org_id: a.id,
          type: 'disclosure.received',
          data: JSON.stringify({ disclosureId: 'dsc_2', title: 'late commit' }),
          occurred_at: new Date(clock.now().getTime() - 60_000).toISOString(),
        })
        .execute();
      await tick();
      const ids = receiver.received.map((r) => r.headers['webhook-id']);
      assert.ok(ids.includes(late), 'the late event was delivered');
      assert.equal(ids.filter((id) => id === late).length, 1);
    });

    it('retries with exponential backoff and jitter: fails twice, then succeeds, under the test clock', async () => {
      receiver.setAnswer((path, n) => (path === '/flaky' && n <= 2 ? 500 : 200));
      // A webhook gets the events from its creation on: none recorded by the tests before.
      clock.advance(1000);
      const made = await t.call('POST', `/v1/orgs/${a.slug}/webhooks`, {
        token: a.token,
        body: { url: `${receiver.url}/flaky`, events: ['disclosure.received'] },
      });
      assert.equal(made.status, 201, made.raw);
      hooks.flaky = { id: made.body.id, secret: made.body.secret };
      const event = await record(a.id, 'disclosure.received', { disclosureId: 'dsc_3', title: 'retry me' });
      await tick();
      const deliveries = async () =>
        (await t.call('GET', `/v1/orgs/${a.slug}/webhooks/${made.body.id}/deliveries`, { token: a.token }))
          .body.items;
      let [d] = await deliveries();
      assert.equal(d.status, 'failed');
      assert.equal(d.attempts, 1);
      assert.equal(d.lastResponseStatus, 500);
      assert.equal(d.lastError, 'HTTP 500');
      const wait = (x: { lastAttemptAt: string; nextAttemptAt: string }) =>
        new Date(x.nextAttemptAt).getTime() - new Date(x.lastAttemptAt).getTime();
      assert.ok(wait(d) >= 4000 && wait(d) <= 6000, `first wait about 5 s: ${wait(d)}`);
      // Not due yet: nothing is sent.
      clock.advance(3000);
      await tick();
      assert.equal((await deliveries())[0].attempts, 1);
      clock.advance(3000);
      await tick();
      [d] = await deliveries();
      assert.equal(d.attempts, 2);
      assert.ok(wait(d) >= 24_000 && wait(d) <= 36_000, `second wait about 30 s: ${JSON.stringify(d)}`);
      clock.advance(36_000);
      await tick();
      [d] = await deliveries();
      assert.equal(d.status, 'succeeded');
      assert.equal(d.attempts, 3);
      assert.equal(d.nextAttemptAt, null);
      const attempts = receiver.received.filter((r) => r.path === '/flaky');
      assert.equal(attempts.length, 3);
      // Every attempt: the same webhook-id, its own timestamp, a valid signature.
      assert.deepEqual(
        attempts.map((r) => r.headers['webhook-id']),
        [event.id, event.id, event.id],
      );
      assert.equal(new Set(attempts.map((r) => r.headers['webhook-timestamp'])).size, 3);
      for (const r of attempts) checkSigned(r, made.body.secret);
    });

    it(`is dead after attempt ${MAX_ATTEMPTS}, in the dead-letter list, and a replay sends it again with the same webhook-id`, async () => {
      receiver.setAnswer((path) => (path === '/down' ? 503 : 200));
      clock.advance(1000);
      const made = await t.call('POST', `/v1/orgs/${a.slug}/webhooks`, {
        token: a.token,
        body: { url: `${receiver.url}/down`, events: ['rollout.halted'] },
      });
      hooks.down = { id: made.body.id, secret: made.body.secret };
      const event = await record(a.id, 'rollout.halted', halted);
      await tick();
      for (const delay of RETRY_DELAYS_S) {
        clock.advance(delay * 1000 * 1.2 + 1);
        await tick();
      }
      assert.equal(receiver.received.filter((r) => r.path === '/down').length, MAX_ATTEMPTS);
      const dead = await t.call('GET', `/v1/orgs/${a.slug}/webhooks/${made.body.id}/deliveries?status=dead`, {
        token: a.token,
      });
      assert.equal(dead.body.items.length, 1, dead.raw);
      const d = dead.body.items[0];
      assert.equal(d.attempts, MAX_ATTEMPTS);
      assert.equal(d.nextAttemptAt, null);
      clock.advance(48 * 3600_000);
      await tick();
      assert.equal(
        receiver.received.filter((r) => r.path === '/down').length,
        MAX_ATTEMPTS,
        'dead stays dead',
      );
      const none = await t.call(
        'GET',
        `/v1/orgs/${a.slug}/webhooks/${made.body.id}/deliveries?status=pending`,
        {
          token: a.token,
        },
      );
      assert.deepEqual(none.body.items, []);

      // The receiver is fixed; a replay by hand sends the same event again.
      receiver.setAnswer(() => 200);
      const replayed = await t.call('POST', `/v1/orgs/${a.slug}/webhook-deliveries/${d.id}/replay`, {
        token: a.token,
      });
      assert.equal(replayed.status, 200, replayed.raw);
      assert.equal(replayed.body.status, 'succeeded');
      assert.equal(replayed.body.attempts, 1);
      const last = receiver.received.filter((r) => r.path === '/down').at(-1) as Received;
      assert.equal(last.headers['webhook-id'], event.id);
      checkSigned(last, made.body.secret);
      const audit = await t.call('GET', `/v1/orgs/${a.slug}/audit?action=webhook.replay`, { token: a.token });
      assert.equal(audit.body.items.length, 1);
    });

    it('sends a test event to that webhook only, and says how it went', async () => {
      const before = receiver.received.length;
      const res = await t.call('POST', `/v1/orgs/${a.slug}/webhooks/${hooks.ok?.id}/test`, {
        token: a.token,
      });
      assert.equal(res.status, 200, res.raw);
      assert.equal(res.body.status, 'succeeded');
      assert.equal(res.body.eventType, 'webhook.test');
      await tick();
      const sent = receiver.received.slice(before);
      assert.equal(sent.length, 1, 'only the webhook tested got it, once');
      assert.equal(sent[0]?.path, '/ok');
      const payload = checkSigned(sent[0] as Received, hooks.ok?.secret as string);
      assert.equal(payload.type, 'webhook.test');
    });

    it('update: a disabled webhook gets nothing; rotate-secret signs with the new secret only; audit entries for each', async () => {
      const id = hooks.ok?.id as string;
      const off = await t.call('PATCH', `/v1/orgs/${a.slug}/webhooks/${id}`, {
        token: a.token,
        body: { enabled: false, events: ['disclosure.received'] },
      });
      assert.equal(off.status, 200, off.raw);
      assert.equal(off.body.enabled, false);
      const before = receiver.received.filter((r) => r.path === '/ok').length;
      await record(a.id, 'disclosure.received', { disclosureId: 'dsc_4', title: 'while off' });
      await tick();
      assert.equal(receiver.received.filter((r) => r.path === '/ok').length, before);
      const on = await t.call('PATCH', `/v1/orgs/${a.slug}/webhooks/${id}`, {
        token: a.token,
        body: { enabled: true },
      });
      assert.equal(on.body.enabled, true);
      const rotated = await t.call('POST', `/v1/orgs/${a.slug}/webhooks/${id}/rotate-secret`, {
        token: a.token,
      });
      assert.equal(rotated.status, 200, rotated.raw);
      assert.notEqual(rotated.body.secret, hooks.ok?.secret);
      await record(a.id, 'disclosure.received', { disclosureId: 'dsc_5', title: 'after rotation' });
      await tick();
      const r = receiver.received.filter((x) => x.path === '/ok').at(-1) as Received;
      checkSigned(r, rotated.body.secret);
      assert.throws(() => checkSigned(r, hooks.ok?.secret as string));
      for (const action of ['webhook.update', 'webhook.rotate-secret']) {
        const audit = await t.call('GET', `/v1/orgs/${a.slug}/audit?action=${action}`, { token: a.token });
        assert.ok(audit.body.items.length >= 1, action);
        assert.ok(!audit.raw.includes('whsec_'), 'never the secret');
      }
    });

    it('sends every event type of the catalogue, each payload valid by its schema; the OpenAPI document lists them all', async () => {
      receiver.setAnswer(() => 200);
      clock.advance(1000);
      const made = await t.call('POST', `/v1/orgs/${a.slug}/webhooks`, {
        token: a.token,
        body: { url: `${receiver.url}/all`, events: EVENT_TYPES.map((e) => e.type) },
      });
      assert.equal(made.status, 201, made.raw);
      for (const e of EVENT_TYPES)
        if (e.type !== 'webhook.test')
          await t.app.services.outbox.record(a.id, e.type, sample(e.schema) as Record<string, unknown>);
      await tick();
      const got = receiver.received.filter((r) => r.path === '/all');
      const types = got.map((r) => checkSigned(r, made.body.secret).type);
      assert.deepEqual(
        types.sort(),
        EVENT_TYPES.map((e) => e.type)
          .filter((x) => x !== 'webhook.test')
          .sort(),
        'webhook.test goes only where a test is asked for',
      );
      const doc = t.app.http.swagger() as { webhooks?: Record<string, any> };
      assert.deepEqual(Object.keys(doc.webhooks ?? {}).sort(), EVENT_TYPES.map((e) => e.type).sort());
      for (const e of EVENT_TYPES)
        assert.deepEqual(
          doc.webhooks?.[e.type].post.requestBody.content['application/json'].schema.properties.data,
          e.schema,
        );
      await t.call('DELETE', `/v1/orgs/${a.slug}/webhooks/${made.body.id}`, { token: a.token });
    });

    it('two dispatchers on one database (two nodes) send each attempt once', async () => {
      clock.advance(1000);
      const made = await t.call('POST', `/v1/orgs/${a.slug}/webhooks`, {
        token: a.token,
        body: { url: `${receiver.url}/nodes`, events: ['escrow.failed'] },
      });
      const other = new WebhookDispatcher({
        db: t.app.services.store.db,
        clock,
        secrets: t.app.services.secrets,
        allowPrivateTargets: true,
      });
      for (let i = 0; i < 5; i++)
        await t.app.services.outbox.record(a.id, 'escrow.failed', { what: 'deposit', reason: `disk ${i}` });
      await Promise.all([tick(), other.tick(), tick(), other.tick()]);
      const got = receiver.received.filter((r) => r.path === '/nodes');
      assert.equal(got.length, 5);
      assert.equal(new Set(got.map((r) => r.headers['webhook-id'])).size, 5);
      await t.call('DELETE', `/v1/orgs/${a.slug}/webhooks/${made.body.id}`, { token: a.token });
    });

    it('tenant isolation: organisation B sees, changes and replays nothing of A', async () => {
      const id = hooks.ok?.id as string;
      const aLog = await t.call('GET', `/v1/orgs/${a.slug}/webhooks/${id}/deliveries`, { token: a.token });
      const deliveryId = aLog.body.items[0].id as string;
      // With B's token on A's paths: as if A did not exist.
      assert.equal((await t.call('GET', `/v1/orgs/${a.slug}/webhooks`, { token: b.token })).status, 404);
      // On B's own paths with A's ids: not found.
      for (const [method, path] of [
        ['GET', `/v1/orgs/${b.slug}/webhooks/${id}`],
        ['PATCH', `/v1/orgs/${b.slug}/webhooks/${id}`],
        ['DELETE', `/v1/orgs/${b.slug}/webhooks/${id}`],
        ['POST', `/v1/orgs/${b.slug}/webhooks/${id}/test`],
        ['POST', `/v1/orgs/${b.slug}/webhooks/${id}/rotate-secret`],
        ['GET', `/v1/orgs/${b.slug}/webhooks/${id}/deliveries`],
        ['POST', `/v1/orgs/${b.slug}/webhook-deliveries/${deliveryId}/replay`],
      ] as const) {
        const res = await t.call(method, path, {
          token: b.token,
          ...(method === 'PATCH' ? { body: { enabled: false } } : {}),
        });
        assert.equal(res.status, 404, `${method} ${path}: ${res.raw}`);
      }
      const bList = await t.call('GET', `/v1/orgs/${b.slug}/webhooks`, { token: b.token });
      assert.deepEqual(bList.body.items, []);
      // Only admins manage webhooks.
      const operator = await t.call('POST', `/v1/orgs/${a.slug}/tokens`, {
        token: a.token,
        body: { name: 'op', role: 'operator' },
      });
      const denied = await t.call('GET', `/v1/orgs/${a.slug}/webhooks`, { token: operator.body.token });
      assert.equal(denied.status, 403);
      assert.equal(
        (await t.call('GET', `/v1/orgs/${a.slug}/webhooks`, { token: a.token })).body.items[0].enabled,
        true,
      );
    });

    it('deliveries page by cursor; delete removes the webhook and its log, and is audited', async () => {
      const id = hooks.down?.id as string;
      for (let i = 0; i < 3; i++) await record(a.id, 'rollout.halted', halted);
      await tick();
      const first = await t.call('GET', `/v1/orgs/${a.slug}/webhooks/${id}/deliveries?limit=2`, {
        token: a.token,
      });
      assert.equal(first.body.items.length, 2);
      assert.ok(first.body.nextCursor);
      const second = await t.call(
        'GET',
        `/v1/orgs/${a.slug}/webhooks/${id}/deliveries?limit=2&cursor=${first.body.nextCursor}`,
        { token: a.token },
      );
      assert.equal(second.body.items.length, 2);
      assert.ok(second.body.items[0].id < first.body.items[1].id, 'newest first');
      const gone = await t.call('DELETE', `/v1/orgs/${a.slug}/webhooks/${id}`, { token: a.token });
      assert.equal(gone.status, 204);
      assert.equal(
        (await t.call('GET', `/v1/orgs/${a.slug}/webhooks/${id}`, { token: a.token })).status,
        404,
      );
      const left = await t.app.services.store.db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('webhook_id', '=', id)
        .execute();
      assert.deepEqual(left, []);
      const audit = await t.call('GET', `/v1/orgs/${a.slug}/audit?action=webhook.delete&targetId=${id}`, {
        token: a.token,
      });
      assert.equal(audit.body.items.length, 1, audit.raw);
    });
  });

  describe(`webhooks: private targets refused without webhooks.allowPrivateTargets (${dialect})`, () => {
    let t: TestApp;
    let a: { id: string; slug: string; token: string };
    before(async () => {
      t = await testApp(dialect);
      a = await t.org('ssrf-a');
    });
    after(async () => {
      await t.close();
    });

    it('refuses loopback, private and metadata targets and plain http at creation, saying how to allow them', async () => {
      for (const url of [
        'https://127.0.0.1/hook',
        'https://localhost/hook',
        'https://[::1]/hook',
        'https://[::ffff:127.0.0.1]/hook',
        'https://10.0.0.1/hook',
        'https://169.254.169.254/latest/meta-data',
        'https://100.64.0.1/',
        'https://[fd00::1]/',
        'https://0.0.0.0/',
      ]) {
        const res = await t.call('POST', `/v1/orgs/${a.slug}/webhooks`, {
          token: a.token,
          body: { url, events: ['rollout.halted'] },
        });
        assert.equal(res.status, 400, `${url}: ${res.raw}`);
        assert.equal(res.body.code, 'validation-failed');
        assert.match(res.body.detail, /webhooks\.allowPrivateTargets/);
      }
      const plain = await t.call('POST', `/v1/orgs/${a.slug}/webhooks`, {
        token: a.token,
        body: { url: 'http://93.184.216.34/hook', events: ['rollout.halted'] },
      });
      assert.equal(plain.status, 400);
      assert.match(plain.body.detail, /must be https:\/\//);
      // A URL change is checked like a new one.
      const made = await t.call('POST', `/v1/orgs/${a.slug}/webhooks`, {
        token: a.token,
        body: { url: 'https://93.184.216.34/hook', events: ['rollout.halted'] },
      });
      assert.equal(made.status, 201, made.raw);
      const moved = await t.call('PATCH', `/v1/orgs/${a.slug}/webhooks/${made.body.id}`, {
        token: a.token,
        body: { url: 'https://[fe80::1]/hook' },
      });
      assert.equal(moved.status, 400);
      assert.match(moved.body.detail, /link-local address/);
      await t.call('DELETE', `/v1/orgs/${a.slug}/webhooks/${made.body.id}`, { token: a.token });
    });

    it('checks again at every delivery: a stored private target gets nothing and the delivery says why', async () => {
      const receiver = await startReceiver();
      try {
        // As if created while the config allowed private targets, which it no longer does.
        const now = t.clock.now().toISOString();
        const id = newId('whk');
        await t.app.services.store.db
          .insertInto('webhooks')
          .values({
            id,
            org_id: a.id,
            url: `${receiver.url}/private`,
            event_types: JSON.stringify(['rollout.halted']),
            secret_sealed: t.app.services.secrets.seal('whsec_AAAA', `webhook-secret:${a.id}:${id}`),
            enabled: 1,
            created_by: 'test',
            created_at: now,
            updated_at: now,
          })
          .execute();
        await t.app.services.outbox.record(a.id, 'escrow.failed', { what: 'drill', reason: 'x' });
        await t.app.services.outbox.record(a.id, 'rollout.halted', {
          rolloutId: 'rol_1',
          rolloutName: 'x',
          releaseId: 'rel_1',
          version: '1',
          failed: 1,
          reason: 'x',
        });
        await t.app.services.webhookDispatcher.tick();
        assert.equal(receiver.received.length, 0);
        const log = await t.call('GET', `/v1/orgs/${a.slug}/webhooks/${id}/deliveries`, { token: a.token });
        assert.equal(log.body.items.length, 1, 'only the subscribed type');
        assert.equal(log.body.items[0].status, 'failed');
        assert.match(log.body.items[0].lastError, /must be https|loopback/);
      } finally {
        await receiver.close();
      }
    });
  });
}
