import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { newId } from '../ids.js';
import { startNatsServer, type TestNatsServer } from '../test-support/nats-server.js';
import { natsServerPath, skippedParts } from '../test-support/parts.js';
import { type Bus, type BusObserver, type DropReason, InProcessBus } from './bus.js';
import { MAX_MESSAGE_BYTES, NatsBus } from './nats.js';
import { parseBusUrl, redactBusUrl } from './url.js';

/** What a bus told its observer. */
function recorder() {
  const dropped: { event: string; reason: DropReason }[] = [];
  const failed: string[] = [];
  const connection: boolean[] = [];
  const observer: BusObserver = {
    dropped: (event, reason) => dropped.push({ event, reason }),
    handlerFailed: (event) => failed.push(event),
    connection: (up) => connection.push(up),
    carried: () => {},
  };
  return { observer, dropped, failed, connection };
}

/** Resolves when `check` holds, polling; fails after `ms`. */
async function until(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Lets messages in flight arrive (a NATS round trip on loopback is well under this). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

/**
 * Without nats-server the NATS tests fail in `before`, naming the Debian package
 * (test-support/parts.ts), unless BRICKLESS_TEST_SKIP=nats-server skips them.
 */
const natsMissing = !natsServerPath && skippedParts().has('nats-server');

interface Implementation {
  name: string;
  /** Whether two buses made by `node` hear each other (several nodes of one installation). */
  crossNode: boolean;
  /** A bus of the installation `cluster`, as one node would open it. */
  node(observer: BusObserver, cluster?: string, claim?: (change: string) => boolean): Promise<Bus>;
}

let nats: TestNatsServer | undefined;
const implementations: Implementation[] = [
  { name: 'in-process', crossNode: false, node: async (observer) => new InProcessBus(observer) },
  {
    name: 'NATS',
    crossNode: true,
    node: async (observer, cluster = 'test', claim) =>
      NatsBus.connect({
        settings: { url: nats?.url ?? 'nats://127.0.0.1:1', cluster },
        observer,
        ...(claim ? { claim } : {}),
      }),
  },
];

const device = () => newId('dev');

/**
 * Issue 19 §1: the same behaviour over both buses. A node's own subscribers hear its events at
 * once; other nodes of the installation hear them once (NATS), and never hear another installation's.
 */
for (const impl of implementations) {
  describe(`the bus: ${impl.name}`, {
    skip: impl.name === 'NATS' && natsMissing ? 'nats-server missing' : false,
  }, () => {
    const open: Bus[] = [];
    const node = async (observer = recorder().observer, cluster?: string, claim?: (c: string) => boolean) => {
      const bus = await impl.node(observer, cluster, claim);
      open.push(bus);
      return bus;
    };
    before(async () => {
      if (impl.name === 'NATS') nats = await startNatsServer();
    });
    after(async () => {
      for (const bus of open) await bus.close();
      if (impl.name === 'NATS') await nats?.close();
    });

    it('delivers to this node’s subscribers synchronously, in order, with the typed payload', async () => {
      const bus = await node();
      const seen: string[] = [];
      bus.subscribe('command.queued', ({ deviceId }) => seen.push(deviceId));
      const ids = [device(), device(), device()];
      for (const deviceId of ids) bus.publish('command.queued', { deviceId });
      assert.deepEqual(seen, ids, 'delivered inside publish, in order');
    });

    it('unsubscribes; a throwing subscriber neither stops the others nor reaches the publisher', async () => {
      const r = recorder();
      const bus = await node(r.observer);
      const seen: string[] = [];
      bus.subscribe('twin.desired', () => {
        throw new Error('subscriber bug');
      });
      const off = bus.subscribe('twin.desired', ({ deviceId }) => seen.push(`a ${deviceId}`));
      bus.subscribe('twin.desired', ({ deviceId }) => seen.push(`b ${deviceId}`));
      const first = device();
      bus.publish('twin.desired', { deviceId: first });
      off();
      const second = device();
      bus.publish('twin.desired', { deviceId: second });
      assert.deepEqual(seen, [`a ${first}`, `b ${first}`, `b ${second}`]);
      assert.deepEqual(r.failed, ['twin.desired', 'twin.desired']);
    });

    it('a subscriber that unsubscribes while handling does not make the next one miss the event', async () => {
      const bus = await node();
      const seen: string[] = [];
      const off = bus.subscribe('command.queued', () => {
        off();
        seen.push('once');
      });
      bus.subscribe('command.queued', () => seen.push('always'));
      bus.publish('command.queued', { deviceId: device() });
      bus.publish('command.queued', { deviceId: device() });
      assert.deepEqual(seen, ['once', 'always', 'always']);
    });

    it(
      impl.crossNode
        ? 'other nodes hear an event once; this node does not hear it back'
        : 'another in-process bus hears nothing: it is another installation of one node',
      async () => {
        const a = await node();
        const b = await node();
        const atA: string[] = [];
        const atB: string[] = [];
        a.subscribe('rollout.offer', ({ deviceIds }) => atA.push(...deviceIds));
        b.subscribe('rollout.offer', ({ deviceIds }) => atB.push(...deviceIds));
        const ids = [device(), device()];
        a.publish('rollout.offer', { rolloutId: newId('rol'), deviceIds: ids });
        if (impl.crossNode) await until(() => atB.length === 2, 3000, 'the other node');
        await settle();
        assert.deepEqual(atA, ids, 'the publishing node once');
        assert.deepEqual(atB, impl.crossNode ? ids : []);
      },
    );

    it('deliverLocally stays on this node (a change every node hears from the database itself)', async () => {
      const a = await node();
      const b = await node();
      const atA: string[] = [];
      const atB: string[] = [];
      a.subscribe('device.revoked', ({ deviceId }) => atA.push(deviceId));
      b.subscribe('device.revoked', ({ deviceId }) => atB.push(deviceId));
      const id = device();
      a.deliverLocally('device.revoked', { deviceId: id });
      await settle();
      assert.deepEqual(atA, [id]);
      assert.deepEqual(atB, []);
    });

    it('after close, publish delivers nothing and does not throw', async () => {
      const bus = await impl.node(recorder().observer);
      const seen: string[] = [];
      bus.subscribe('token.revoked', ({ tokenId }) => seen.push(tokenId));
      await bus.close();
      bus.publish('token.revoked', { tokenId: newId('tok') });
      bus.deliverLocally('token.revoked', { tokenId: newId('tok') });
      assert.deepEqual(seen, []);
      await bus.close();
    });

    if (!impl.crossNode) return;

    it('another installation (bus.cluster) on the same NATS hears nothing', async () => {
      const a = await node(undefined, 'plant-a');
      const b = await node(undefined, 'plant-b');
      const atB: string[] = [];
      b.subscribe('command.queued', ({ deviceId }) => atB.push(deviceId));
      a.publish('command.queued', { deviceId: device() });
      await settle();
      assert.deepEqual(atB, []);
    });

    it('a change the node applied already (heard from the database) is not applied again', async () => {
      const claimed = new Set<string>();
      const claim = (change: string) => {
        if (claimed.has(change)) return false;
        claimed.add(change);
        return true;
      };
      const a = await node();
      const b = await node(undefined, undefined, claim);
      const atB: string[] = [];
      b.subscribe('twin.desired', ({ deviceId }) => atB.push(deviceId));
      const early = newId('aud');
      claim(early); // B heard this change from the database first
      const first = device();
      const second = device();
      a.publish('twin.desired', { deviceId: first, change: early });
      a.publish('twin.desired', { deviceId: second, change: newId('aud') });
      await until(() => atB.length === 1, 3000, 'the new change');
      await settle();
      assert.deepEqual(atB, [second]);
    });
  });
}

describe('the NATS bus: trust boundary and connection', {
  skip: natsMissing ? 'nats-server missing' : false,
}, () => {
  let server: TestNatsServer;
  let raw: NatsConnection;
  before(async () => {
    server = await startNatsServer();
    raw = await connect({ servers: server.url });
  });
  after(async () => {
    await raw?.close();
    await server?.close();
  });

  it('drops hostile or malformed messages with a reason, and keeps working', async (t) => {
    const r = recorder();
    const bus = await NatsBus.connect({
      settings: { url: server.url, cluster: 'hostile' },
      observer: r.observer,
    });
    t.after(() => bus.close());
    const seen: unknown[] = [];
    bus.subscribe('device.revoked', (payload) => seen.push(payload));
    bus.subscribe('rollout.offer', (payload) => seen.push(payload));
    const subject = (event: string) => `brickless.hostile.${event}`;
    const send = (event: string, body: string | Uint8Array) => raw.publish(subject(event), body);
    const envelope = (p: unknown, v: unknown = 1) => JSON.stringify({ v, o: 'attacker', p });
    send('device.revoked', 'not json {');
    send('device.revoked', '[1,2,3]');
    send('device.revoked', envelope({ deviceId: device() }, 2));
    send('device.revoked', envelope({ deviceId: 'dev_../../etc/passwd' }));
    send('device.revoked', envelope({ deviceId: device(), extra: 'field' }));
    send('device.revoked', envelope({ deviceId: device(), change: 'not-an-id' }));
    send('device.revoked', JSON.stringify({ v: 1, o: 42, p: { deviceId: device() } }));
    send('device.revoked', `{"v":1,"o":"x","p":{"deviceId":"${device()}","__proto__":{"polluted":true}}}`);
    send('rollout.offer', envelope({ rolloutId: newId('rol'), deviceIds: [] }));
    send(
      'rollout.offer',
      envelope({ rolloutId: newId('rol'), deviceIds: Array.from({ length: 1001 }, () => device()) }),
    );
    send('device.revoked', new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(32));
    send('no.such.event', envelope({}));
    raw.publish('brickless.hostile.device', envelope({ deviceId: device() }));
    await raw.flush();
    // A good message after all of them still arrives: nothing crashed or stopped.
    const good = device();
    send('device.revoked', envelope({ deviceId: good }));
    await raw.flush();
    await until(() => seen.length > 0, 3000, 'the valid message');
    assert.deepEqual(seen, [{ deviceId: good }], 'only the valid message is delivered');
    assert.deepEqual(
      r.dropped.map((d) => `${d.event} ${d.reason}`),
      [
        'device.revoked not-json',
        'device.revoked not-json',
        'device.revoked unknown-version',
        'device.revoked invalid',
        'device.revoked invalid',
        'device.revoked invalid',
        'device.revoked invalid',
        'device.revoked invalid',
        'rollout.offer invalid',
        'rollout.offer invalid',
        'device.revoked too-large',
        'unknown unknown-event',
        'unknown unknown-event',
      ],
    );
    assert.equal(({} as { polluted?: boolean }).polluted, undefined, 'no prototype pollution');
  });

  it('reconnects after the NATS server restarts, and tells subscribers when it went down', async () => {
    const r = recorder();
    const a = await NatsBus.connect({
      settings: { url: server.url, cluster: 'restart' },
      observer: r.observer,
    });
    const b = await NatsBus.connect({ settings: { url: server.url, cluster: 'restart' } });
    const resumed: number[] = [];
    a.onResume((downSince) => resumed.push(downSince));
    const atA: string[] = [];
    a.subscribe('command.queued', ({ deviceId }) => atA.push(deviceId));
    const before = Date.now();
    await raw.close();
    await server.stop();
    await until(() => r.connection.includes(false), 5000, 'the disconnect');
    await server.start();
    await until(() => resumed.length === 1, 10_000, 'the reconnect');
    assert.ok((resumed[0] as number) >= before && (resumed[0] as number) <= Date.now());
    assert.deepEqual(r.connection.slice(-1), [true]);
    // b may take a moment longer to reconnect: publish until a hears it.
    const id = device();
    await until(
      () => {
        b.publish('command.queued', { deviceId: id });
        return atA.includes(id);
      },
      10_000,
      'an event after the restart',
    );
    await a.close();
    await b.close();
    raw = await connect({ servers: server.url });
  });

  it('uses credentials given in the URL, and says how to fix a URL or server that does not work', async () => {
    const secured = await startNatsServer({ user: 'node', pass: 's3cret/+' });
    try {
      const ok = await NatsBus.connect({
        settings: {
          url: `nats://node:${encodeURIComponent('s3cret/+')}@127.0.0.1:${secured.port}`,
          cluster: 'c',
        },
      });
      assert.equal(ok.description, `NATS nats://127.0.0.1:${secured.port} (subjects brickless.c.>)`);
      await ok.close();
      await assert.rejects(
        NatsBus.connect({ settings: { url: secured.url, cluster: 'c' }, connectTimeoutMs: 2000 }),
        /could not connect to the NATS bus at nats:\/\/127\.0\.0\.1:\d+: .*AUTHORIZATION.*correct --bus/,
      );
    } finally {
      await secured.close();
    }
    await assert.rejects(
      NatsBus.connect({ settings: { url: 'nats://127.0.0.1:1', cluster: 'c' }, connectTimeoutMs: 2000 }),
      /could not connect to the NATS bus at nats:\/\/127\.0\.0\.1:1: .*apt-get install nats-server/,
    );
    await assert.rejects(
      NatsBus.connect({ settings: { url: server.url, cluster: 'has.dot' } }),
      /bus.cluster "has.dot" must be 1 to 64 letters/,
    );
  });
});

describe('bus.url', () => {
  it('parses servers, credentials and TLS', () => {
    assert.deepEqual(parseBusUrl('nats://127.0.0.1:4222'), { servers: ['127.0.0.1:4222'], tls: false });
    assert.deepEqual(parseBusUrl('tls://a.example, tls://b.example:4223'), {
      servers: ['a.example:4222', 'b.example:4223'],
      tls: true,
    });
    assert.deepEqual(parseBusUrl('nats://u%40x:p%3Aw@[::1]:4222'), {
      servers: ['[::1]:4222'],
      tls: false,
      user: 'u@x',
      pass: 'p:w',
    });
    assert.deepEqual(parseBusUrl('nats://t0ken@h:1'), { servers: ['h:1'], tls: false, token: 't0ken' });
  });

  it('refuses what is not a NATS URL, saying how to write one', () => {
    for (const [url, message] of [
      ['localhost:4222', /is not a NATS server URL \(localhost:\/\/\): write nats:\/\/host:4222/],
      ['127.0.0.1:4222', /is not a URL: write nats:\/\/host:4222/],
      ['http://h:4222', /is not a NATS server URL \(http:\/\/\)/],
      ['nats://h:4222/path', /has a path or query/],
      ['nats://h:99999', /is not a URL/],
      ['nats://a:1,tls://b:1', /mixes nats:\/\/ and tls:\/\//],
      [' , ', /bus.url is empty/],
    ] as const)
      assert.throws(() => parseBusUrl(url), message, url);
  });

  it('never shows credentials', () => {
    assert.equal(redactBusUrl('nats://u:secret@h:1,nats://tok@g:2'), 'nats://h:1,nats://g:2');
    assert.throws(
      () => parseBusUrl('ftp://u:secret@h'),
      (error: Error) => !error.message.includes('secret'),
    );
  });
});
