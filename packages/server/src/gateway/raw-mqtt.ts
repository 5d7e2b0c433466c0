import { connect, type Socket } from 'node:net';

/**
 * MQTT 3.1.1 packets written by hand, for tests that must send what no client library would
 * (oversized lengths, mutated bytes) or choose their source address. Only what the tests need.
 */

/** The Remaining Length encoding (MQTT 3.1.1 section 2.2.3). */
export function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  let value = length;
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return Buffer.from(bytes);
}

const text = (value: string | Buffer): Buffer => {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

const packet = (first: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([first]), remainingLength(body.length), body]);

export function connectPacket(options: {
  clientId: string;
  username?: string;
  password?: string | Buffer;
  will?: { topic: string; payload: Buffer };
  keepalive?: number;
}): Buffer {
  let flags = 0x02; // clean session
  if (options.username !== undefined) flags |= 0x80;
  if (options.password !== undefined) flags |= 0x40;
  if (options.will) flags |= 0x04 | (1 << 3); // will, QoS 1
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(options.keepalive ?? 60);
  const parts = [text('MQTT'), Buffer.from([4, flags]), keepalive, text(options.clientId)];
  if (options.will) parts.push(text(options.will.topic), text(options.will.payload));
  if (options.username !== undefined) parts.push(text(options.username));
  if (options.password !== undefined) parts.push(text(options.password));
  return packet(0x10, Buffer.concat(parts));
}

export function publishPacket(
  topic: string,
  payload: Buffer,
  options: { qos?: 0 | 1; id?: number; retain?: boolean } = {},
): Buffer {
  const qos = options.qos ?? 1;
  const id = Buffer.alloc(2);
  id.writeUInt16BE(options.id ?? 1);
  return packet(
    0x30 | (qos << 1) | (options.retain ? 1 : 0),
    Buffer.concat([text(topic), qos > 0 ? id : Buffer.alloc(0), payload]),
  );
}

export function subscribePacket(topic: string, id = 1): Buffer {
  const packetId = Buffer.alloc(2);
  packetId.writeUInt16BE(id);
  return packet(0x82, Buffer.concat([packetId, text(topic), Buffer.from([1])]));
}

/** A TCP connection that records what it receives and when it closed. */
export interface RawConnection {
  socket: Socket;
  received(): Buffer;
  closed: Promise<number>;
  /** Resolves with the CONNACK return code, or null when the connection closed without one. */
  connack(): Promise<number | null>;
}

export function rawConnect(port: number, localAddress?: string): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        closed,
        connack: async () => {
          const end = Date.now() + 5000;
          while (Date.now() < end) {
            const data = Buffer.concat(chunks);
            if (data.length >= 4 && data[0] === 0x20) return data[3] ?? null;
            if (socket.destroyed || socket.readableEnded) return null;
            await new Promise((r) => setTimeout(r, 10));
          }
          return null;
        },
      }),
    );
    socket.once('error', reject);
  });
}
