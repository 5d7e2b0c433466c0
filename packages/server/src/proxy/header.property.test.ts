import assert from 'node:assert/strict';
import { SocketAddress } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { v1Header, v2Header } from '../test-support/proxy-header.js';
import { canonicalAddress, formatIPv6 } from './addresses.js';
import { crc32c } from './crc32c.js';
import { MAX_HEADER_BYTES, type ParseResult, parseProxyHeader, V1_MAX_LINE, V2_SIGNATURE } from './header.js';

/**
 * The PROXY protocol header parser (decision 0031) against HAProxy's specification
 * (doc/proxy-protocol.txt): round trips of what a sender writes, every truncation, lengths that lie,
 * unknown versions, commands and families, LOCAL, TLVs and their checksum, and random or mutated
 * bytes. Whatever it is given, it answers incomplete, invalid or complete, never throws, and never
 * claims more bytes than it was given or than the limit.
 */

const ipv4 = fc.ipV4();
const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });
const portArb = fc.integer({ min: 0, max: 65535 });
/** TLVs of types without rules of their own (not CRC32C, NOOP, unique id or SSL). */
const plainTlv = fc.record({
  type: fc.integer({ min: 0, max: 255 }).filter((t) => ![0x03, 0x04, 0x05, 0x20].includes(t)),
  value: fc.uint8Array({ maxLength: 64 }),
});

function hexOf(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  return groups.join(':');
}

/** Node's own text of an IPv6 address (inet_ntop), for the mapped case turned to IPv4 as we do. */
function nodeText(bytes: Uint8Array): string {
  const text = new SocketAddress({ address: hexOf(bytes), family: 'ipv6' }).address;
  return text.startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text;
}

function invariants(input: Buffer, result: ParseResult): void {
  assert.ok(['incomplete', 'invalid', 'complete'].includes(result.status));
  if (result.status === 'invalid') assert.equal(typeof result.reason, 'string');
  if (result.status === 'complete') {
    assert.ok(result.header.length <= input.length, 'never more than it was given');
    assert.ok(result.header.length <= MAX_HEADER_BYTES, 'never more than the limit');
    assert.ok(result.header.length >= 15, 'a header has at least "PROXY UNKNOWN\\r\\n"');
  }
}

describe('PROXY protocol header parser', () => {
  it('reads back what a version 2 sender wrote, IPv4 and IPv6, with TLVs and a checksum, and nothing after it', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ v6: fc.constant(false as const), src: ipv4, dst: ipv4 }),
          fc.record({ v6: fc.constant(true as const), src: ipv6Bytes, dst: ipv6Bytes }),
        ),
        portArb,
        portArb,
        fc.array(plainTlv, { maxLength: 5 }),
        fc.boolean(),
        fc.uint8Array({ maxLength: 32 }),
        (addresses, sourcePort, destinationPort, tlvs, crc, after) => {
          const text = (a: string | Uint8Array) => (typeof a === 'string' ? a : hexOf(a));
          const header = v2Header({
            source: { address: text(addresses.src), port: sourcePort },
            destination: { address: text(addresses.dst), port: destinationPort },
            tlvs,
            crc,
          });
          const result = parseProxyHeader(Buffer.concat([header, after]));
          assert.equal(result.status, 'complete');
          if (result.status !== 'complete' || result.header.command !== 'proxy') return;
          assert.equal(result.header.version, 2);
          assert.equal(result.header.length, header.length);
          const expected = (a: string | Uint8Array) => (typeof a === 'string' ? a : nodeText(a));
          assert.equal(result.header.source.address, expected(addresses.src));
          assert.equal(result.header.destination.address, expected(addresses.dst));
          assert.equal(result.header.source.port, sourcePort);
          assert.equal(result.header.destination.port, destinationPort);
          assert.deepEqual(
            result.header.tlvs
              .filter((t) => t.type !== 0x03)
              .map((t) => ({ type: t.type, value: new Uint8Array(t.value) })),
            tlvs.map((t) => ({ type: t.type, value: new Uint8Array(t.value) })),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('formats IPv6 as Node reports a peer (RFC 5952), and mapped IPv4 as IPv4', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          ipv6Bytes,
          // Runs of zero groups in every place, the case RFC 5952 4.2 is about.
          fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 }).map((groups) => {
            const b = new Uint8Array(16);
            groups.forEach((g, i) => {
              b[2 * i] = g >> 8;
              b[2 * i + 1] = g & 0xff;
            });
            return b;
          }),
        ),
        (bytes) => {
          const node = nodeText(bytes);
          // Node (libuv's inet_ntop) writes the deprecated IPv4-compatible form `::a.b.c.d`
          // (RFC 4291 2.5.5.1) with a dotted tail; RFC 5952 5 keeps dotted tails for the mapped
          // prefix only. No peer has such an address; the parser writes it in hexadecimal.
          fc.pre(!node.includes('.'));
          assert.equal(formatIPv6(bytes).address, node);
        },
      ),
      { numRuns: 1000 },
    );
    assert.deepEqual(canonicalAddress('::ffff:10.1.2.3'), { address: '10.1.2.3', family: 'IPv4' });
    assert.deepEqual(canonicalAddress('2001:DB8::0:1'), { address: '2001:db8::1', family: 'IPv6' });
    assert.equal(canonicalAddress('fe80::1%eth0'), null);
    assert.equal(canonicalAddress('not an address'), null);
  });

  it('says incomplete for every truncation of a valid header (v1 and v2), never invalid', () => {
    const headers = [
      v2Header(),
      v2Header({ source: { address: '2001:db8::7', port: 1 }, destination: { address: '::1', port: 2 } }),
      v2Header({ tlvs: [{ type: 0x02, value: Buffer.from('device.example') }], crc: true }),
      v2Header({ command: 0, familyProtocol: 0x00, addressBlock: new Uint8Array(0) }),
      v1Header(),
      v1Header({ address: '2001:db8::7', port: 1 }, { address: '::1', port: 2 }),
      v1Header(undefined, undefined, 'UNKNOWN'),
    ];
    for (const header of headers) {
      for (let cut = 0; cut < header.length; cut++)
        assert.deepEqual(
          parseProxyHeader(header.subarray(0, cut)),
          { status: 'incomplete' },
          `cut at ${cut}`,
        );
      assert.equal(parseProxyHeader(header).status, 'complete');
    }
  });

  it('never throws on random bytes, nor on valid headers with bytes changed, cut or added', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        invariants(Buffer.from(bytes), parseProxyHeader(Buffer.from(bytes)));
      }),
      { numRuns: 2000 },
    );
    const base = fc.constantFrom(
      v2Header(),
      v2Header({ source: { address: '2001:db8::7', port: 1 }, destination: { address: '::1', port: 2 } }),
      v2Header({
        tlvs: [
          { type: 0x05, value: Buffer.alloc(16, 7) },
          { type: 0x20, value: Buffer.from([1, 0, 0, 0, 0, 0x21, 0, 3, 0x54, 0x4c, 0x53]) },
        ],
        crc: true,
      }),
      v1Header(),
      v1Header({ address: '2001:db8::7', port: 1 }, { address: '::1', port: 2 }),
    );
    fc.assert(
      fc.property(
        base,
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.uint8Array({ maxLength: 16 }),
        (header, edits, cut, tail) => {
          const bytes = Buffer.from(header);
          for (const { at, byte } of edits) bytes[at % bytes.length] = byte;
          const input = Buffer.concat([
            cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1)),
            tail,
          ]);
          invariants(input, parseProxyHeader(input));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses the wrong signature, version, command, family and protocol, at the first byte that shows it', () => {
    const valid = v2Header();
    const reasonOf = (bytes: Buffer) => {
      const result = parseProxyHeader(bytes);
      assert.equal(result.status, 'invalid', bytes.toString('hex'));
      return (result as { reason: string }).reason;
    };
    // A TLS ClientHello, an MQTT CONNECT, an HTTP request: not a header, from the first byte.
    assert.match(reasonOf(Buffer.from([0x16, 0x03, 0x01])), /not a PROXY protocol header/);
    assert.match(reasonOf(Buffer.from([0x10, 0x20])), /not a PROXY protocol header/);
    assert.match(reasonOf(Buffer.from('GET / HTTP/1.1\r\n')), /not a PROXY protocol header/);
    const wrongSignature = Buffer.from(valid);
    wrongSignature[11] = 0x0b;
    assert.match(reasonOf(wrongSignature.subarray(0, 12)), /not a PROXY protocol header/);
    const at = (index: number, byte: number) => {
      const b = Buffer.from(valid);
      b[index] = byte;
      return b.subarray(0, index + 1);
    };
    assert.match(reasonOf(at(12, 0x11)), /version 1 in a version 2 header/);
    assert.match(reasonOf(at(12, 0x31)), /version 3/);
    assert.match(reasonOf(at(12, 0x22)), /command 2 is not LOCAL/);
    assert.match(reasonOf(at(13, 0x41)), /address family 4 is not defined/);
    assert.match(reasonOf(at(13, 0x13)), /transport protocol 3 is not defined/);
  });

  it('refuses PROXY for UNSPEC, UDP and UNIX: a TCP listener needs a TCP client address', () => {
    for (const [familyProtocol, name] of [
      [0x00, 'AF_UNSPEC UNSPEC'],
      [0x12, 'AF_INET DGRAM'],
      [0x22, 'AF_INET6 DGRAM'],
      [0x31, 'AF_UNIX STREAM'],
    ] as const) {
      const result = parseProxyHeader(v2Header({ familyProtocol, addressBlock: new Uint8Array(216) }));
      assert.equal(result.status, 'invalid');
      assert.match((result as { reason: string }).reason, new RegExp(`PROXY command for ${name}`));
    }
  });

  it('takes LOCAL (the proxy’s health check) with any family and length, skipping the whole block', () => {
    for (const familyProtocol of [0x00, 0x11, 0x21, 0x31]) {
      const block = Buffer.alloc(familyProtocol === 0x31 ? 216 : 40, 0xaa);
      const header = v2Header({ command: 0, familyProtocol, addressBlock: block });
      assert.deepEqual(parseProxyHeader(Buffer.concat([header, Buffer.from('after')])), {
        status: 'complete',
        header: { version: 2, command: 'local', length: 16 + block.length },
      });
    }
  });

  it('refuses a length over the limit as soon as the 16 fixed bytes are in, and a length that lies', () => {
    const fixed = v2Header({ lengthField: MAX_HEADER_BYTES - 16 + 1 }).subarray(0, 16);
    const result = parseProxyHeader(fixed);
    assert.equal(result.status, 'invalid');
    assert.match((result as { reason: string }).reason, /over the limit of 2048/);
    assert.equal(parseProxyHeader(v2Header({ lengthField: 0xffff }).subarray(0, 16)).status, 'invalid');
    // Shorter than the address block its family needs.
    const short = parseProxyHeader(v2Header({ lengthField: 8 }));
    assert.match((short as { reason: string }).reason, /needs 12 address bytes, the header has 8/);
    const short6 = parseProxyHeader(
      v2Header({
        source: { address: '::1', port: 1 },
        destination: { address: '::2', port: 2 },
        lengthField: 20,
      }),
    );
    assert.match((short6 as { reason: string }).reason, /needs 36 address bytes/);
    // Longer than what follows: waits (the connection's timeout ends it).
    assert.deepEqual(parseProxyHeader(v2Header({ lengthField: 100 })), { status: 'incomplete' });
  });

  it('refuses TLVs that do not fill the header exactly, bad checksums and oversized unique ids', () => {
    const reason = (header: Buffer) => {
      const result = parseProxyHeader(header);
      assert.equal(result.status, 'invalid');
      return (result as { reason: string }).reason;
    };
    const withBlock = (extra: number[]) =>
      v2Header({
        addressBlock: Buffer.concat([
          Buffer.from([10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2]),
          Buffer.from(extra),
        ]),
      });
    assert.match(reason(withBlock([0x01, 0x00])), /truncated TLV at byte 0/);
    assert.match(reason(withBlock([0x01, 0x00, 0x05, 0x61])), /TLV 0x1 of 5 bytes runs past the end/);
    assert.match(reason(v2Header({ crc: 'wrong' })), /CRC32C of the header does not match/);
    assert.match(
      reason(v2Header({ tlvs: [{ type: 0x03, value: new Uint8Array(3) }] })),
      /CRC32C TLV of 3 bytes/,
    );
    assert.match(
      reason(v2Header({ tlvs: [{ type: 0x05, value: new Uint8Array(129) }] })),
      /unique ID TLV of 129/,
    );
    assert.match(
      reason(v2Header({ tlvs: [{ type: 0x20, value: new Uint8Array(4) }] })),
      /SSL TLV of 4 bytes/,
    );
    assert.match(
      reason(v2Header({ tlvs: [{ type: 0x20, value: Buffer.from([1, 0, 0, 0, 0, 0x22, 0, 9, 0x41]) }] })),
      /TLV 0x22 of 9 bytes runs past/,
    );
    // A valid one: NOOP left out, the SSL and unique id kept, the checksum checked.
    const ok = parseProxyHeader(
      v2Header({
        tlvs: [
          { type: 0x04, value: new Uint8Array(5) },
          { type: 0x05, value: Buffer.from('conn-1') },
          { type: 0x20, value: Buffer.from([1, 0, 0, 0, 0, 0x21, 0, 3, 0x54, 0x4c, 0x53]) },
        ],
        crc: true,
      }),
    );
    assert.equal(ok.status, 'complete');
    if (ok.status === 'complete' && ok.header.command === 'proxy')
      assert.deepEqual(
        ok.header.tlvs.map((t) => t.type),
        [0x05, 0x20, 0x03],
      );
  });

  it('computes CRC-32C as RFC 4960 Appendix B (the check value of "123456789")', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  });

  it('reads version 1 lines strictly: CRLF within 107 bytes, canonical addresses, ports without leading zeros', () => {
    const parse = (text: string) => parseProxyHeader(Buffer.from(text, 'latin1'));
    assert.deepEqual(parse('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /'), {
      status: 'complete',
      header: {
        version: 1,
        command: 'proxy',
        length: 47,
        source: { address: '192.168.0.1', family: 'IPv4', port: 56324 },
        destination: { address: '192.168.0.11', family: 'IPv4', port: 443 },
        tlvs: [],
      },
    });
    const v6 = parse('PROXY TCP6 2001:DB8:0:0:0:0:0:1 0:0:0:0:0:ffff:a00:1 1 65535\r\n');
    assert.equal(v6.status, 'complete');
    if (v6.status === 'complete' && v6.header.command === 'proxy') {
      assert.deepEqual(v6.header.source, { address: '2001:db8::1', family: 'IPv6', port: 1 });
      assert.deepEqual(v6.header.destination, { address: '10.0.0.1', family: 'IPv4', port: 65535 });
    }
    assert.deepEqual(parse('PROXY UNKNOWN ffff:: ffff:: 1 2\r\n'), {
      status: 'complete',
      header: { version: 1, command: 'local', length: 33 },
    });
    const refused: [string, RegExp][] = [
      ['PROXY TCP4 192.168.0.01 10.0.0.1 1 2\r\n', /not a canonical IPv4/],
      ['PROXY TCP4 256.0.0.1 10.0.0.1 1 2\r\n', /not a canonical IPv4/],
      ['PROXY TCP4 ::1 10.0.0.1 1 2\r\n', /not a canonical IPv4/],
      ['PROXY TCP6 10.0.0.1 ::1 1 2\r\n', /not a canonical IPv6/],
      ['PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n', /not a canonical IPv6/],
      ['PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', /not a canonical IPv6/],
      ['PROXY TCP4 10.0.0.1 10.0.0.2 01 2\r\n', /port/],
      ['PROXY TCP4 10.0.0.1 10.0.0.2 65536 2\r\n', /port/],
      ['PROXY TCP4 10.0.0.1 10.0.0.2 -1 2\r\n', /port/],
      ['PROXY TCP4 10.0.0.1 10.0.0.2 1\r\n', /5 fields, not 6/],
      ['PROXY TCP4  10.0.0.1 10.0.0.2 1 2\r\n', /7 fields/],
      ['PROXY UDP4 10.0.0.1 10.0.0.2 1 2\r\n', /protocol "UDP4"/],
      ['PROXY TCP4 10.0.0.1 10.0.0.2 1 2\n', /CRLF, not a lone LF/],
      ['PROXY TCP4 10.0.0.1 10.0.0.2 1 2\rX', /a CR without LF/],
      ['PROXY TCP4 10.0.0.1\t10.0.0.2 1 2\r\n', /printable US-ASCII/],
      ['PROXY TCP4 10.0.0.1 10.0.0.2 1 2\u00e9\r\n', /printable US-ASCII/],
      ['PROXYTCP4', /followed by one space/],
      [`PROXY UNKNOWN ${'x'.repeat(V1_MAX_LINE)}`, /no CRLF in the first 107 bytes/],
    ];
    for (const [text, why] of refused) {
      const result = parse(text);
      assert.equal(result.status, 'invalid', text);
      assert.match((result as { reason: string }).reason, why, text);
    }
  });

  it('keeps the signature of spec 2.2', () => {
    assert.equal(V2_SIGNATURE.toString('hex'), '0d0a0d0a000d0a515549540a');
  });
});
