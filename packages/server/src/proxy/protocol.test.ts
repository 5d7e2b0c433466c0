import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import fc from 'fast-check';
import { enforceHandshakeDeadline } from '../gateway/connection-limits.js';
import { v1Header, v2Header } from '../test-support/proxy-header.js';
import { ensureTls } from '../tls/certs.js';
import { type DropReason, ProxyProtocol } from './protocol.js';

/**
 * The PROXY protocol on real listeners on 127.0.0.1 (decision 0031). 127.0.0.1 plays the trusted
 * proxy; 127.0.0.2 is an untrusted client (Linux routes all of 127/8 to loopback). Every
 * connection from the proxy needs a valid header before anything else reads it; a header from
 * anyone else is never read and fails as the bytes it is.
 */

const PROXY = '127.0.0.1';
const STRANGER = '127.0.0.2';
const client = { address: '203.0.113.9', port: 40_123 };

let material: { key: string; cert: string };
let dir: string;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    (server as Partial<http.Server>).closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** A raw TCP connection from `from`, resolved once connected. */
function tcp(port: number, from = PROXY): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the peer closes the connection (or it errors), with what it sent before. */
function closed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
    });
    socket.once('close', () => resolve(text));
    socket.once('error', () => {});
  });
}

/**
 * A stream over `socket` that puts `header` before the first bytes written: the header and the
 * TLS ClientHello (or HTTP request) leave in one write, as a balancer's first segment may carry both.
 */
function prefixed(socket: Socket, header: Buffer): Duplex {
  let first = true;
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      const data = first ? Buffer.concat([header, chunk]) : chunk;
      first = false;
      socket.write(data, callback);
    },
    final(callback) {
      socket.end(callback);
    },
  });
  socket.on('data', (c: Buffer) => {
    if (!duplex.push(c)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  return duplex;
}

/** A TLS client through `socket`, with the header in front when given; resolves with the server's text. */
function tlsExchange(socket: Socket, header?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const transport = header ? prefixed(socket, header) : socket;
    const secure = tls.connect({ socket: transport as Socket, rejectUnauthorized: false });
    let text = '';
    secure.on('data', (c: Buffer) => {
      text += c.toString();
    });
    // On close, not end: the text may still be on its way when the TLS socket ends.
    secure.on('close', () => resolve(text));
    secure.on('error', reject);
  });
}

/** True when the socket closes within `ms`. */
function closesWithinMs(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function gate(drops: { reason: DropReason; detail: string }[] = [], headerTimeoutMs = 2_000): ProxyProtocol {
  return new ProxyProtocol({
    trusted: ['127.0.0.1'],
    headerTimeoutMs,
    onDropped: (reason, detail) => drops.push({ reason, detail }),
  });
}

describe('PROXY protocol on real listeners', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'brickless-proxy-'));
    material = await ensureTls({ dataDir: dir, hostnames: [] });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a TLS server sees the client of a proxied connection, on the TCP and on the TLS socket', async () => {
    const proxy = gate();
    const seen: string[] = [];
    const server = tls.createServer({ key: material.key, cert: material.cert }, (socket) => {
      seen.push(`tls ${socket.remoteAddress} ${socket.remotePort} ${socket.remoteFamily}`);
      socket.end('hello');
    });
    server.on('connection', (socket: Socket) => seen.push(`tcp ${socket.remoteAddress}`));
    proxy.guard(server);
    const port = await listen(server);
    try {
      // The header alone first, then the handshake (HAProxy's order)...
      const a = await tcp(port);
      a.write(v2Header({ source: client }));
      assert.equal(await tlsExchange(a), 'hello');
      // ...and both in one segment, v1 this time: the bytes after the header reach TLS.
      const b = await tcp(port);
      assert.equal(
        await tlsExchange(
          b,
          v1Header({ address: '2001:db8::9', port: 7 }, { address: '2001:db8::1', port: 8883 }),
        ),
        'hello',
      );
      assert.deepEqual(seen, [
        'tcp 203.0.113.9',
        'tls 203.0.113.9 40123 IPv4',
        'tcp 2001:db8::9',
        'tls 2001:db8::9 7 IPv6',
      ]);
      assert.equal(proxy.held, 0, 'nothing kept once the connections are in');
    } finally {
      await close(server);
    }
  });

  it('an HTTPS and a plain HTTP server see the client in request.socket (what Fastify’s request.ip reads)', async () => {
    const proxy = gate();
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) =>
      res.end(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
    const secure = https.createServer({ key: material.key, cert: material.cert }, handler);
    const plain = http.createServer(handler);
    proxy.guard(secure);
    proxy.guard(plain);
    const securePort = await listen(secure);
    const plainPort = await listen(plain);
    try {
      const viaTls = await tcp(securePort);
      const body = await new Promise<string>((resolve, reject) => {
        const req = https.request(
          {
            createConnection: () =>
              tls.connect({
                socket: prefixed(viaTls, v2Header({ source: client })) as Socket,
                rejectUnauthorized: false,
              }),
            path: '/',
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => {
              text += c.toString();
            });
            res.on('end', () => resolve(text));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, '203.0.113.9:40123');
      // Plain HTTP: the header and the request in one write.
      const viaTcp = await tcp(plainPort);
      const answer = closed(viaTcp);
      viaTcp.write(
        Buffer.concat([
          v2Header({ source: client }),
          Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        ]),
      );
      assert.match(await answer, /\r\n\r\n203\.0\.113\.9:40123$/);
    } finally {
      await close(secure);
      await close(plain);
    }
  });

  it('never reads a header from an untrusted address: a forged one fails TLS, and HTTP answers 400', async () => {
    const proxy = gate();
    const seen: string[] = [];
    const server = tls.createServer({ key: material.key, cert: material.cert }, (socket) => {
      seen.push(String(socket.remoteAddress));
      socket.end('hello');
    });
    server.on('connection', (socket: Socket) => seen.push(`tcp ${socket.remoteAddress}`));
    const plain = http.createServer((req, res) => {
      seen.push(`http ${req.socket.remoteAddress}`);
      res.end();
    });
    proxy.guard(server);
    proxy.guard(plain);
    const port = await listen(server);
    const plainPort = await listen(plain);
    try {
      const forged = await tcp(port, STRANGER);
      await assert.rejects(tlsExchange(forged, v2Header({ source: client })));
      const forgedHttp = await tcp(plainPort, STRANGER);
      const answer = closed(forgedHttp);
      forgedHttp.write(Buffer.concat([v1Header(client), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]));
      assert.match(await answer, /^HTTP\/1\.1 400 Bad Request/);
      // The same stranger without a header is served as itself.
      const honest = await tcp(port, STRANGER);
      assert.equal(await tlsExchange(honest), 'hello');
      assert.deepEqual(seen, [`tcp ${STRANGER}`, `tcp ${STRANGER}`, STRANGER]);
    } finally {
      await close(server);
      await close(plain);
    }
  });

  it('drops a trusted connection without a valid header: a bare handshake, silence, a close mid-header', async () => {
    const drops: { reason: DropReason; detail: string }[] = [];
    const proxy = gate(drops, 300);
    let served = 0;
    const server = tls.createServer({ key: material.key, cert: material.cert }, (socket) => {
      served++;
      socket.end();
    });
    proxy.guard(server);
    const port = await listen(server);
    try {
      const bare = await tcp(port);
      await assert.rejects(tlsExchange(bare));
      const silent = await tcp(port);
      const start = Date.now();
      await closed(silent);
      assert.ok(Date.now() - start >= 250, 'held until the header timeout');
      const partial = await tcp(port);
      partial.end(v2Header({ source: client }).subarray(0, 20));
      await closed(partial);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(served, 0);
      assert.deepEqual(
        drops.map((d) => d.reason),
        ['invalid', 'timeout', 'closed'],
      );
      assert.match(drops[0]?.detail ?? '', /not a PROXY protocol header/);
      assert.equal(proxy.held, 0);
    } finally {
      await close(server);
    }
  });

  it('a proxied connection that finished its handshake is not cut by the handshake deadline', async () => {
    // The deadline pairs the TCP and the TLS socket by their peer: both must report the client
    // by the time its 'secureConnection' listener runs (the gateway's and the HTTPS listener's).
    const proxy = gate();
    const server = tls.createServer({ key: material.key, cert: material.cert }, (socket) =>
      socket.write('in'),
    );
    enforceHandshakeDeadline(server, 300);
    proxy.guard(server);
    const port = await listen(server);
    try {
      const socket = await tcp(port);
      socket.write(v2Header({ source: client }));
      const secure = tls.connect({ socket, rejectUnauthorized: false });
      secure.on('error', () => {});
      await new Promise((resolve) => secure.once('data', resolve));
      assert.equal(await closesWithinMs(secure, 800), false, 'still open well past the 300 ms deadline');
      secure.destroy();
    } finally {
      await close(server);
    }
  });

  it('takes LOCAL (a health check) with the proxy’s own address', async () => {
    const proxy = gate();
    const seen: string[] = [];
    const server = tls.createServer({ key: material.key, cert: material.cert }, (socket) => {
      seen.push(String(socket.remoteAddress));
      socket.end('ok');
    });
    proxy.guard(server);
    const port = await listen(server);
    try {
      const check = await tcp(port);
      assert.equal(
        await tlsExchange(
          check,
          v2Header({ command: 0, familyProtocol: 0, addressBlock: new Uint8Array(0) }),
        ),
        'ok',
      );
      assert.deepEqual(seen, [PROXY]);
    } finally {
      await close(server);
    }
  });

  it('ends every connection of random and mutated first bytes cleanly, keeps nothing, and still serves', async () => {
    const drops: { reason: DropReason; detail: string }[] = [];
    const proxy = gate(drops, 200);
    // A plain TCP consumer: whatever passes the gate is answered and closed.
    const server = createServer();
    server.on('connection', (socket: Socket) => socket.end(`${socket.remoteAddress}`));
    proxy.guard(server);
    const port = await listen(server);
    const valid = [
      v2Header({ source: client }),
      v2Header({ source: { address: '2001:db8::1', port: 1 }, crc: true }),
      v1Header(client),
    ];
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
            fc
              .tuple(
                fc.constantFrom(...valid),
                fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), {
                  maxLength: 3,
                }),
                fc.nat(),
              )
              .map(([header, edits, cut]) => {
                const bytes = Buffer.from(header);
                for (const { at, byte } of edits) bytes[at % bytes.length] = byte;
                return bytes.subarray(0, cut % (bytes.length + 1));
              }),
          ),
          fc.boolean(),
          async (bytes, endAfter) => {
            const socket = await tcp(port);
            const answer = closed(socket);
            if (endAfter) socket.end(bytes);
            else socket.write(bytes);
            const text = await answer;
            // Either dropped without a word, or passed with an address: the client's or, for a
            // LOCAL header, the proxy's; never anything else.
            assert.ok(text === '' || /^[0-9a-f.:]+$/.test(text), text);
          },
        ),
        { numRuns: 150 },
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(proxy.held, 0, 'no socket, timer or address kept');
      const count = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
      assert.equal(count, 0, 'no connection left open');
      const after = await tcp(port);
      const text = closed(after);
      after.write(v2Header({ source: client }));
      assert.equal(await text, client.address);
    } finally {
      await close(server);
    }
  });

  it('close() drops the connections still waiting for a header', async () => {
    const proxy = gate([], 60_000);
    const server = createServer();
    proxy.guard(server);
    const port = await listen(server);
    try {
      const waiting = await tcp(port);
      const ended = closed(waiting);
      waiting.write(v2Header({ source: client }).subarray(0, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(proxy.held, 1);
      proxy.close();
      await ended;
      assert.equal(proxy.held, 0);
    } finally {
      await close(server);
    }
  });

  it('lets every connection through untouched when no proxy is trusted', async () => {
    const proxy = new ProxyProtocol({ trusted: [] });
    assert.equal(proxy.enabled, false);
    // Reads what it is sent (the header, here): an unread socket never sees the client's FIN.
    const server = createServer((socket) => socket.resume().end(String(socket.remoteAddress)));
    proxy.guard(server);
    const port = await listen(server);
    try {
      const socket = await tcp(port);
      const text = closed(socket);
      socket.write(v2Header({ source: client }));
      assert.equal(await text, PROXY);
    } finally {
      await close(server);
    }
  });
});
