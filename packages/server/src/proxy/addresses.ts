import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses as the PROXY protocol carries them (4 or 16 bytes, or text in version 1), turned into
 * the one text form Node gives `socket.remoteAddress`, so that a proxied client and a direct one
 * count as the same address in every per-address limit: IPv4 dotted, IPv6 as RFC 5952 writes it
 * (lower case, no leading zeros, the longest run of two or more zero groups as `::`), and an
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2) as the IPv4 address it maps.
 */
export type Family = 'IPv4' | 'IPv6';

export interface Address {
  address: string;
  family: Family;
}

/** Four bytes as dotted decimal. */
export function formatIPv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new RangeError(`an IPv4 address has 4 bytes, not ${bytes.length}`);
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** Sixteen bytes in RFC 5952 form; an IPv4-mapped address comes back as IPv4. */
export function formatIPv6(bytes: Uint8Array): Address {
  if (bytes.length !== 16) throw new RangeError(`an IPv6 address has 16 bytes, not ${bytes.length}`);
  if (isMapped(bytes)) return { address: formatIPv4(bytes.subarray(12)), family: 'IPv4' };
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  // RFC 5952 4.2: the longest run of zero groups, the first of equal runs, and never a single one.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  const address =
    bestStart < 0
      ? hex.join(':')
      : `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
  return { address, family: 'IPv6' };
}

function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Dotted IPv4 text in the strict form of the PROXY protocol (section 2.1): exactly four decimal
 * numbers 0-255 without leading zeros (no octal confusion). Null when it is anything else.
 */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

/**
 * IPv6 text as section 2.1 allows it: hexadecimal groups separated by colons, at most one `::`,
 * 128 bits in all. No zone id and no dotted IPv4 tail. Null when it is anything else.
 */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length > 39 || !/^[0-9a-fA-F:]+$/.test(text) || !isIPv6(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (half: string | undefined) => (half ? half.split(':') : []);
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const group = groups[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    const value = Number.parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  }
  return bytes;
}

/**
 * The canonical form of an address a socket reports (`::ffff:10.0.0.1` from a dual-stack listener
 * becomes `10.0.0.1`), or null when the text is not an IP address.
 */
export function canonicalAddress(text: string | undefined): Address | null {
  if (!text) return null;
  if (isIPv4(text)) {
    const bytes = parseIPv4(text);
    return bytes ? { address: formatIPv4(bytes), family: 'IPv4' } : null;
  }
  const bytes = parseMappedOrIPv6(text);
  return bytes ? formatIPv6(bytes) : null;
}

/** IPv6 text, also with a dotted IPv4 tail (`::ffff:10.0.0.1`), as Node reports mapped peers. */
function parseMappedOrIPv6(text: string): Uint8Array | null {
  if (!isIPv6(text) || text.includes('%')) return null;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (!tail.includes('.')) return parseIPv6(text);
  const v4 = parseIPv4(tail);
  if (!v4) return null;
  const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
  const bytes = parseIPv6(
    `${text.slice(0, lastColon + 1)}${hex(v4[0] as number, v4[1] as number)}:${hex(v4[2] as number, v4[3] as number)}`,
  );
  return bytes;
}
