import assert from 'node:assert/strict';
import { type EventEmitter, once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { endClient } from './end-client.js';

/**
 * A broker that accepts the connection (CONNACK, MQTT 3.1.1 §3.2) and then never acknowledges a
 * publish: the QoS 1 message stays in flight, which is what a server that stalls or dies looks like.
 */
function silentBroker(): { server: Server; sockets: Socket[] } {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.once('data', () => socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])));
    socket.on('error', () => {});
  });
  return { server, sockets };
}

describe('ending an MQTT client with messages in flight', () => {
  const broker = silentBroker();
  let url: string;
  before(async () => {
    broker.server.listen(0, '127.0.0.1');
    await once(broker.server, 'listening');
    url = `mqtt://127.0.0.1:${(broker.server.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const socket of broker.sockets) socket.destroy();
    await new Promise((resolve) => broker.server.close(resolve));
  });

  const connectWithUnackedPublish = async () => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, protocolVersion: 4 });
    client.on('error', () => {});
    await once(client as unknown as EventEmitter, 'connect');
    client.publish('t', 'x', { qos: 1 }, () => {});
    assert.equal(Object.keys(client.outgoing).length, 1, 'the publish is in flight');
    return client;
  };

  it('forces the end after the grace when the broker never acknowledges', { timeout: 5_000 }, async () => {
    const client = await connectWithUnackedPublish();
    await endClient(client, 100);
    assert.ok(client.disconnected);
  });

  it('ends at once when the connection is already gone (a graceful end would wait forever)', {
    timeout: 5_000,
  }, async () => {
    const client = await connectWithUnackedPublish();
    const closed = once(client as unknown as EventEmitter, 'close');
    for (const socket of broker.sockets) socket.destroy();
    await closed;
    await endClient(client, 60_000);
    assert.ok(client.disconnected);
  });

  it('ends a client whose CONNECT is never answered (a loaded server), within the grace', {
    timeout: 5_000,
  }, async () => {
    // A listener that takes the connection and never says a word: the client waits for CONNACK.
    const mute = createServer((socket) => socket.on('error', () => {}));
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    const port = (mute.address() as { port: number }).port;
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      reconnectPeriod: 0,
      connectTimeout: 60_000,
      protocolVersion: 4,
    });
    client.on('error', () => {});
    await once(mute, 'connection');
    const started = Date.now();
    await endClient(client, 200);
    assert.ok(Date.now() - started < 3_000, 'endClient returned');
    mute.close();
    mute.unref();
  });

  it('accepts no client at all', async () => {
    await endClient(null);
    await endClient(undefined);
  });
});
