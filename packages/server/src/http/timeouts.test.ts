import assert from 'node:assert/strict';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { type TestApp, testApp } from '../test-support/app.js';
import { HTTP_TIMEOUTS } from './server.js';

/**
 * Issue 14 §4, "the same discipline on HTTPS and WebSocket listeners": a peer that opens a socket
 * and says nothing, or sends half a request, or upgrades to MQTT over WebSocket and never sends a
 * CONNECT, loses the socket. These tests assert that the socket is closed and how (408, close),
 * with a generous bound; how fast the server is in general is the benchmark's business.
 */

/** Resolves with what the peer received and when the socket closed, or rejects after `limitMs`. */
function untilClosed(socket: NodeJS.ReadWriteStream & { destroy(): void }, limitMs: number) {
  const started = Date.now();
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  return new Promise<{ received: string; afterMs: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the socket open for ${limitMs} ms`));
    }, limitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, afterMs: Date.now() - started });
    });
  });
}

describe('HTTPS and WebSocket listeners close what an idle or slow peer holds', () => {
  let t: TestApp;
  let port: number;
  // Twice the configured limit plus the once-a-second check: closed, not merely slow.
  const bound = (ms: number) => 2 * ms + 2_000;

  before(async () => {
    t = await testApp('sqlite', { https: true, gatewayLimits: { connectTimeoutMs: 1_500 } });
    await t.app.gateway.start({ plain: { port: 0, host: '127.0.0.1' } });
    await t.app.http.listen({ host: '127.0.0.1', port: 0 });
    t.app.gateway.attachWebSocket(t.app.http.server);
    port = (t.app.http.server.address() as AddressInfo).port;
  });
  after(async () => t.close());

  it('closes a TCP connection that never starts the TLS handshake, and one stuck in half a request with 408', async () => {
    const silent = untilClosed(connect(port, '127.0.0.1'), bound(HTTP_TIMEOUTS.tlsHandshakeMs));
    const half = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      // The request line and one header, and never the blank line that ends the headers.
      half.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    });
    const stuck = untilClosed(half, bound(HTTP_TIMEOUTS.headersMs));
    const [silentResult, stuckResult] = await Promise.all([silent, stuck]);
    assert.equal(silentResult.received, '', 'nothing is sent to a peer that never said hello');
    assert.match(stuckResult.received, /^HTTP\/1\.1 408 Request Timeout/);
  });

  it('closes MQTT over WebSocket when no CONNECT follows the upgrade', async () => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      socket.write(
        'GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Protocol: mqtt\r\n\r\n',
      );
    });
    const result = await untilClosed(socket, bound(1_500) + 5_000);
    assert.match(result.received, /^HTTP\/1\.1 101 Switching Protocols/);
  });
});
