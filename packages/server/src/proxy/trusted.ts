import { BlockList } from 'node:net';
import { canonicalAddress, parseIPv4, parseIPv6 } from './addresses.js';

/**
 * The proxies whose PROXY protocol header is believed (config `proxy.trusted`): a list of CIDR
 * blocks (`10.0.0.0/24`, `fd00::/64`) or single addresses. Spec section 5: a receiver must decide
 * from its configuration, never by looking at the bytes, whether a connection carries a header;
 * otherwise any client could claim any address. Empty (the default): no connection is read for one.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly entries: readonly string[];

  /** Throws a RangeError naming the first entry that is not an address or a CIDR block. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const block = parseCidr(entry);
      if (typeof block === 'string') throw new RangeError(`"${entry}" ${block}`);
      this.#list.addSubnet(block.address, block.prefix, block.family === 'IPv4' ? 'ipv4' : 'ipv6');
    }
    this.entries = [...entries];
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** Whether the peer at this address (as a socket reports it; mapped IPv4 counts as IPv4) is a trusted proxy. */
  has(address: string | undefined): boolean {
    if (this.empty) return false;
    const canonical = canonicalAddress(address);
    if (!canonical) return false;
    return this.#list.check(canonical.address, canonical.family === 'IPv4' ? 'ipv4' : 'ipv6');
  }
}

/** Checks entries without building the list: the reason for the first bad one, or null. */
export function invalidTrustedEntry(entries: readonly string[]): string | null {
  for (const entry of entries) {
    const block = parseCidr(entry);
    if (typeof block === 'string') return `"${entry}" ${block}`;
  }
  return null;
}

interface Cidr {
  address: string;
  prefix: number;
  family: 'IPv4' | 'IPv6';
}

/** `ADDRESS` or `ADDRESS/PREFIX`, strictly: no host bits set below the prefix, and never /0. */
function parseCidr(entry: string): Cidr | string {
  const [address = '', prefixText, extra] = entry.split('/');
  if (extra !== undefined) return 'has more than one "/"';
  const v4 = parseIPv4(address);
  const v6 = v4 ? null : parseIPv6(address);
  const bytes = v4 ?? v6;
  if (!bytes) return 'is not an IPv4 or IPv6 address or CIDR block (e.g. 10.0.0.0/24, fd00::/64)';
  const bits = bytes.length * 8;
  if (prefixText !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(prefixText))
    return `has a prefix length that is not a number 0-${bits}`;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return `has a prefix length over ${bits}`;
  // Trusting every address would let any client claim any address (spec section 5).
  if (prefix === 0) return 'trusts every address (/0): name the proxies’ own addresses';
  for (let bit = prefix; bit < bits; bit++) {
    if (((bytes[bit >> 3] as number) >> (7 - (bit & 7))) & 1)
      return `has bits set below its /${prefix} prefix: write the network address of the block`;
  }
  return { address, prefix, family: v4 ? 'IPv4' : 'IPv6' };
}
