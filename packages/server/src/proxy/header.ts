import { type Address, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './addresses.js';
import { crc32c } from './crc32c.js';

/**
 * A strict parser of the PROXY protocol header, versions 1 (text) and 2 (binary), as HAProxy's
 * specification defines it (doc/proxy-protocol.txt, 2020/03/05; "spec" below). It sees the first
 * bytes of a connection from a trusted proxy and says whether they are a complete header, a valid
 * beginning of one, or anything else. It never allocates more than the bytes it is given, and
 * refuses a header longer than MAX_HEADER_BYTES as soon as its length field says so.
 */

/** An endpoint of the proxied connection. */
export interface Endpoint extends Address {
  port: number;
}

/** A type-length-value vector of a version 2 header (spec 2.2), NOOP ones left out. */
export interface Tlv {
  type: number;
  value: Buffer;
}

export type ProxyHeader =
  | {
      version: 1 | 2;
      /**
       * The proxy's own connection (a health check: v2 LOCAL, spec 2.2), or one it could not
       * describe (v1 UNKNOWN, spec 2.1): the receiver uses the real endpoints.
       */
      command: 'local';
      /** Bytes the header takes on the wire; what follows belongs to the proxied protocol. */
      length: number;
    }
  | {
      version: 1 | 2;
      command: 'proxy';
      length: number;
      source: Endpoint;
      destination: Endpoint;
      tlvs: Tlv[];
    };

export type ParseResult =
  | { status: 'incomplete' }
  | { status: 'invalid'; reason: string }
  | { status: 'complete'; header: ProxyHeader };

/** Spec 2.2: the 12 bytes every version 2 header starts with. */
export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_PREFIX = Buffer.from('PROXY', 'ascii');
/** Spec 2.1: the longest version 1 line, CRLF included. */
export const V1_MAX_LINE = 107;
/**
 * The longest version 2 header accepted (its 16 fixed bytes, the addresses and the TLVs). The
 * length field allows 64 KiB; HAProxy's fullest header (IPv6, SNI, ALPN, a 128-byte unique id,
 * the SSL TLVs with a client certificate's CN, a CRC) stays under 1 KiB, and a cloud balancer's
 * endpoint TLVs add tens of bytes. 2 KiB leaves room and bounds what a connection may make us hold.
 */
export const MAX_HEADER_BYTES = 2048;

const PP2_TYPE_CRC32C = 0x03;
const PP2_TYPE_NOOP = 0x04;
const PP2_TYPE_UNIQUE_ID = 0x05;
const PP2_TYPE_SSL = 0x20;

const invalid = (reason: string): ParseResult => ({ status: 'invalid', reason });
const incomplete: ParseResult = { status: 'incomplete' };

/** Whether `bytes` begins like `prefix`, as far as both go. */
function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const n = Math.min(bytes.length, prefix.length);
  return bytes.subarray(0, n).equals(prefix.subarray(0, n));
}

/**
 * Parses the start of a connection. `incomplete` means every byte so far is a valid beginning of a
 * header and more are needed; the caller reads on (within its time limit). Spec 2.2, "Identifying
 * the protocol version": the v2 signature, else "PROXY", else the connection must be dropped.
 */
export function parseProxyHeader(bytes: Buffer): ParseResult {
  if (bytes.length === 0) return incomplete;
  if (startsLike(bytes, V2_SIGNATURE)) return parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return parseV1(bytes);
  return invalid('not a PROXY protocol header: neither the version 2 signature nor "PROXY"');
}

function parseV2(bytes: Buffer): ParseResult {
  if (bytes.length > 12) {
    // Spec 2.2: the version nibble must be 2; the command LOCAL (0) or PROXY (1), others dropped.
    const versionCommand = bytes[12] as number;
    if (versionCommand >> 4 !== 2) return invalid(`version ${versionCommand >> 4} in a version 2 header`);
    if ((versionCommand & 0x0f) > 1)
      return invalid(`command ${versionCommand & 0x0f} is not LOCAL (0) or PROXY (1)`);
  }
  if (bytes.length > 13) {
    const familyProtocol = bytes[13] as number;
    // Spec 2.2: families 0-3 and protocols 0-2 only; anything else "must be rejected as invalid".
    if (familyProtocol >> 4 > 3) return invalid(`address family ${familyProtocol >> 4} is not defined`);
    if ((familyProtocol & 0x0f) > 2)
      return invalid(`transport protocol ${familyProtocol & 0x0f} is not defined`);
  }
  if (bytes.length < 16) return incomplete;
  const length = 16 + bytes.readUInt16BE(14);
  if (length > MAX_HEADER_BYTES)
    return invalid(`header of ${length} bytes is over the limit of ${MAX_HEADER_BYTES}`);
  if (bytes.length < length) return incomplete;
  const header = bytes.subarray(0, length);
  const command = (header[12] as number) & 0x0f;
  // Spec 2.2: LOCAL means the proxy's own connection (health checks): use the real endpoints and
  // skip the whole block, whatever family or length it announces.
  if (command === 0) return { status: 'complete', header: { version: 2, command: 'local', length } };
  const familyProtocol = header[13] as number;
  const block = header.subarray(16);
  let source: Endpoint;
  let destination: Endpoint;
  let addressBytes: number;
  if (familyProtocol === 0x11) {
    addressBytes = 12;
    if (block.length < addressBytes)
      return invalid(`TCP over IPv4 needs 12 address bytes, the header has ${block.length}`);
    const family = 'IPv4' as const;
    source = { address: formatIPv4(block.subarray(0, 4)), family, port: block.readUInt16BE(8) };
    destination = { address: formatIPv4(block.subarray(4, 8)), family, port: block.readUInt16BE(10) };
  } else if (familyProtocol === 0x21) {
    addressBytes = 36;
    if (block.length < addressBytes)
      return invalid(`TCP over IPv6 needs 36 address bytes, the header has ${block.length}`);
    source = { ...formatIPv6(block.subarray(0, 16)), port: block.readUInt16BE(32) };
    destination = { ...formatIPv6(block.subarray(16, 32)), port: block.readUInt16BE(34) };
  } else {
    // Spec 2.2 leaves UNSPEC (and protocols a receiver does not implement) to the receiver: accept
    // with the real endpoints, or reject. A TCP listener behind a proxy would then count every such
    // client as the proxy itself, one address for all of them; refused instead. UDP and UNIX
    // sockets are not what these listeners serve.
    return invalid(
      `PROXY command for ${describeFamily(familyProtocol)}: only TCP over IPv4 or IPv6 is accepted`,
    );
  }
  const tlvs = parseTlvs(block.subarray(addressBytes));
  if (typeof tlvs === 'string') return invalid(tlvs);
  const crc = tlvs.find((t) => t.type === PP2_TYPE_CRC32C);
  if (crc) {
    // Spec 2.2.3: the checksum of the whole header with its own field zeroed must match.
    const copy = Buffer.from(header);
    const offset = crc.value.byteOffset - header.byteOffset;
    copy.fill(0, offset, offset + 4);
    if (crc32c(copy) !== crc.value.readUInt32BE(0)) return invalid('CRC32C of the header does not match');
  }
  return {
    status: 'complete',
    header: {
      version: 2,
      command: 'proxy',
      length,
      source,
      destination,
      tlvs: tlvs
        .filter((t) => t.type !== PP2_TYPE_NOOP)
        .map((t) => ({ type: t.type, value: Buffer.from(t.value) })),
    },
  };
}

function describeFamily(familyProtocol: number): string {
  const family = ['AF_UNSPEC', 'AF_INET', 'AF_INET6', 'AF_UNIX'][familyProtocol >> 4];
  const protocol = ['UNSPEC', 'STREAM', 'DGRAM'][familyProtocol & 0x0f];
  return `${family} ${protocol}`;
}

/**
 * TLVs (spec 2.2): each a type byte, a 16-bit length and that many bytes, filling the rest of the
 * header exactly. Returns the reason as text when they do not. Values are views into `bytes`.
 */
function parseTlvs(bytes: Buffer, nested = false): Tlv[] | string {
  const tlvs: Tlv[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 3)
      return `truncated TLV at byte ${offset} of the ${nested ? 'SSL ' : ''}TLV block`;
    const type = bytes[offset] as number;
    const length = bytes.readUInt16BE(offset + 1);
    if (offset + 3 + length > bytes.length)
      return `TLV 0x${type.toString(16)} of ${length} bytes runs past the end of the header`;
    const value = bytes.subarray(offset + 3, offset + 3 + length);
    if (type === PP2_TYPE_CRC32C && length !== 4) return `CRC32C TLV of ${length} bytes, not 4`;
    if (type === PP2_TYPE_CRC32C && tlvs.some((t) => t.type === PP2_TYPE_CRC32C)) return 'two CRC32C TLVs';
    // Spec 2.2.5: "an opaque byte sequence of up to 128 bytes".
    if (type === PP2_TYPE_UNIQUE_ID && length > 128) return `unique ID TLV of ${length} bytes, over 128`;
    if (type === PP2_TYPE_SSL && !nested) {
      // Spec 2.2.6: a client byte, a 32-bit verify field, then sub-TLVs.
      if (length < 5) return `SSL TLV of ${length} bytes, under the 5 its fixed fields take`;
      const sub = parseTlvs(value.subarray(5), true);
      if (typeof sub === 'string') return sub;
    }
    tlvs.push({ type, value });
    offset += 3 + length;
  }
  return tlvs;
}

/**
 * Version 1 (spec 2.1): one US-ASCII line `PROXY TCP4|TCP6 src dst sport dport\r\n`, or
 * `PROXY UNKNOWN ...\r\n`, at most 107 bytes. A lone CR or LF, a missing field, a leading zero, an
 * address of the wrong family: invalid.
 */
function parseV1(bytes: Buffer): ParseResult {
  const window = bytes.subarray(0, V1_MAX_LINE);
  const lf = window.indexOf(0x0a);
  const cr = window.indexOf(0x0d);
  if (lf < 0) {
    // A CR not followed by LF (once the next byte is there) ends nothing: spec 2.1, no lone CR.
    if (cr >= 0 && cr + 1 < window.length) return invalid('a CR without LF in the version 1 line');
    if (bytes.length >= V1_MAX_LINE)
      return invalid(`no CRLF in the first ${V1_MAX_LINE} bytes of the version 1 line`);
    return bytes.length >= 6 && bytes[5] !== 0x20
      ? invalid('"PROXY" must be followed by one space')
      : incomplete;
  }
  if (cr !== lf - 1) return invalid('the version 1 line must end with CRLF, not a lone LF or CR');
  const length = lf + 1;
  const line = window.subarray(0, cr);
  for (const byte of line)
    if (byte < 0x20 || byte > 0x7e) return invalid('the version 1 line is not printable US-ASCII');
  const fields = line.toString('ascii').split(' ');
  if (fields[1] === 'UNKNOWN') {
    // Spec 2.1: the receiver must ignore anything after UNKNOWN and use the real endpoints.
    return { status: 'complete', header: { version: 1, command: 'local', length } };
  }
  if (fields.length !== 6) return invalid(`the version 1 line has ${fields.length} fields, not 6`);
  const [, protocol, sourceText, destinationText, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (protocol !== 'TCP4' && protocol !== 'TCP6')
    return invalid(`protocol "${protocol.slice(0, 16)}" is not TCP4, TCP6 or UNKNOWN`);
  const parse = protocol === 'TCP4' ? parseIPv4 : parseIPv6;
  const sourceBytes = parse(sourceText);
  const destinationBytes = parse(destinationText);
  if (!sourceBytes || !destinationBytes)
    return invalid(`an address is not a canonical ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  const ports = [sourcePort, destinationPort].map(parsePort);
  if (ports[0] === null || ports[1] === null)
    return invalid('a port is not a number 0-65535 without leading zeros');
  const endpoint = (raw: Uint8Array, port: number): Endpoint =>
    protocol === 'TCP4' ? { address: formatIPv4(raw), family: 'IPv4', port } : { ...formatIPv6(raw), port };
  return {
    status: 'complete',
    header: {
      version: 1,
      command: 'proxy',
      length,
      source: endpoint(sourceBytes, ports[0] as number),
      destination: endpoint(destinationBytes, ports[1] as number),
      tlvs: [],
    },
  };
}

function parsePort(text: string): number | null {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}
