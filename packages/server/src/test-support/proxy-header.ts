import { isIPv4 } from 'node:net';
import { parseIPv4, parseIPv6 } from '../proxy/addresses.js';
import { crc32c } from '../proxy/crc32c.js';
import { V2_SIGNATURE } from '../proxy/header.js';

/**
 * PROXY protocol headers written the way a sender writes them (HAProxy's doc/proxy-protocol.txt,
 * 2.1 and 2.2), for tests of the parser and of the listeners: a client that pretends to be a
 * trusted proxy, or forges a header from an untrusted address.
 */
export interface V2Options {
  /** 0 LOCAL, 1 PROXY; other values only to test refusals. */
  command?: number;
  /** The version nibble (2; others only to test refusals). */
  version?: number;
  /** The family/protocol byte; by default 0x11 or 0x21 from the source address. */
  familyProtocol?: number;
  source?: { address: string; port: number };
  destination?: { address: string; port: number };
  tlvs?: { type: number; value: Uint8Array }[];
  /** Adds a PP2_TYPE_CRC32C TLV and fills it in (spec 2.2.3); `'wrong'` puts a wrong one. */
  crc?: boolean | 'wrong';
  /** Overrides the 16-bit length field (to test lengths that lie). */
  lengthField?: number;
  /** Raw address block instead of the one built from source and destination. */
  addressBlock?: Uint8Array;
}

function addressBytes(address: string): Uint8Array {
  const bytes = isIPv4(address) ? parseIPv4(address) : parseIPv6(address);
  if (!bytes) throw new Error(`not an address: ${address}`);
  return bytes;
}

function port(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function tlv(type: number, value: Uint8Array): Buffer {
  const head = Buffer.from([type, 0, 0]);
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

export function v2Header(options: V2Options = {}): Buffer {
  const source = options.source ?? { address: '203.0.113.7', port: 50_000 };
  const destination = options.destination ?? { address: '198.51.100.1', port: 8883 };
  const familyProtocol = options.familyProtocol ?? (isIPv4(source.address) ? 0x11 : 0x21);
  const block =
    options.addressBlock ??
    Buffer.concat([
      addressBytes(source.address),
      addressBytes(destination.address),
      port(source.port),
      port(destination.port),
    ]);
  const tlvs = (options.tlvs ?? []).map((t) => tlv(t.type, t.value));
  const crcTlv = options.crc ? tlv(0x03, new Uint8Array(4)) : Buffer.alloc(0);
  const body = Buffer.concat([block, ...tlvs, crcTlv]);
  const fixed = Buffer.concat([
    V2_SIGNATURE,
    Buffer.from([((options.version ?? 2) << 4) | (options.command ?? 1), familyProtocol, 0, 0]),
  ]);
  fixed.writeUInt16BE(options.lengthField ?? body.length, 14);
  const header = Buffer.concat([fixed, body]);
  if (options.crc) {
    const sum = crc32c(header) ^ (options.crc === 'wrong' ? 1 : 0);
    header.writeUInt32BE(sum >>> 0, header.length - 4);
  }
  return header;
}

/** A version 1 line; `protocol` UNKNOWN leaves the addresses out. */
export function v1Header(
  source = { address: '203.0.113.7', port: 50_000 },
  destination = { address: '198.51.100.1', port: 8883 },
  protocol?: 'TCP4' | 'TCP6' | 'UNKNOWN',
): Buffer {
  const proto = protocol ?? (isIPv4(source.address) ? 'TCP4' : 'TCP6');
  if (proto === 'UNKNOWN') return Buffer.from('PROXY UNKNOWN\r\n', 'ascii');
  return Buffer.from(
    `PROXY ${proto} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`,
    'ascii',
  );
}
