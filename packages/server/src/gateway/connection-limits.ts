import type { Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import type { Client } from 'aedes';
import type { GatewayClient } from './authentication.js';

/**
 * What an unauthenticated peer may hold (DESIGN.md, "Input and trust rules"; issue 14 §4): a socket
 * for a bounded time and a packet of bounded size, and only a few of each per address. Once the
 * peer has authenticated, its packets may be as large as its payload limit allows. How many such
 * peers are held at once: unauthenticated.ts.
 */
export interface ConnectionLimits {
  /** Largest MQTT packet before the CONNECT was accepted, in bytes: a CONNECT is small. */
  preAuthMaxPacketBytes: number;
  /** Largest MQTT packet after it (the payload limit plus room for the topic and header). */
  maxPacketBytes: number;
}

/** mqtt-packet's parser, as Aedes keeps it on the client: not part of Aedes' typed API. */
interface PacketParser {
  packet: { cmd?: string; length: number };
  _parseLength(): boolean;
  _emitError(error: Error): void;
}

const authenticated = (client: Client): boolean =>
  Boolean((client as GatewayClient).brickless || (client as GatewayClient).integration);

/**
 * Refuses a packet as soon as its fixed header announces a length over the limit, before a byte of
 * its body is buffered: mqtt-packet would otherwise collect up to 256 MB for one packet. The
 * connection is closed, as MQTT 3.1.1 has no way to refuse one packet (EMQX and Mosquitto close
 * on `max_packet_size` / `max_packet_size` alike).
 */
export function limitPacketSize(
  client: Client,
  limits: ConnectionLimits,
  onRefused: (size: number) => void,
): void {
  const parser = (client as unknown as { _parser?: PacketParser })._parser;
  if (!parser || typeof parser._parseLength !== 'function') return;
  const parseLength = parser._parseLength;
  parser._parseLength = function guardedParseLength(this: PacketParser): boolean {
    if (!parseLength.call(this)) return false;
    const limit = authenticated(client) ? limits.maxPacketBytes : limits.preAuthMaxPacketBytes;
    if (this.packet.length > limit) {
      onRefused(this.packet.length);
      this._emitError(
        new Error(
          `${this.packet.cmd ?? 'packet'} of ${this.packet.length} bytes is over the limit of ${limit} bytes${authenticated(client) ? '' : ' before authentication'}`,
        ),
      );
      return false;
    }
    return true;
  };
}

/**
 * Closes a TCP connection whose TLS handshake has not finished `ms` after it was accepted. Node's
 * own `handshakeTimeout` starts only once the ClientHello arrived: a peer that connects and says
 * nothing would hold its socket until the idle timeout. Used by the MQTT/TLS and HTTPS listeners.
 */
export function enforceHandshakeDeadline(server: TlsServer, ms: number): void {
  const pending = new Map<string, NodeJS.Timeout>();
  const keyOf = (socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }) =>
    `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
  server.on('connection', (socket: Socket) => {
    const key = keyOf(socket);
    const timer = setTimeout(() => socket.destroy(), ms);
    timer.unref();
    pending.set(key, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      if (pending.get(key) === timer) pending.delete(key);
    });
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const key = keyOf(socket);
    clearTimeout(pending.get(key));
    pending.delete(key);
  });
}
