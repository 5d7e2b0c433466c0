import { lookup } from 'node:dns/promises';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { DomainError, invalid } from '../errors.js';

/** Longest webhook URL accepted (bytes of the WHATWG-serialised URL). */
export const MAX_URL_LENGTH = 2000;
const CONFIG_HINT =
  'set webhooks.allowPrivateTargets to true (env BRICKLESS_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true) only for tests and trusted LANs';

/** Why an address is not a public internet address, or null when it is one. */
export type AddressClass =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'cgnat'
  | 'multicast'
  | 'reserved';

const v4: [string, number, AddressClass][] = [
  ['0.0.0.0', 8, 'unspecified'], // RFC 1122 "this network"
  ['10.0.0.0', 8, 'private'], // RFC 1918
  ['100.64.0.0', 10, 'cgnat'], // RFC 6598
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // RFC 3927; cloud metadata services live here
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // RFC 6890 protocol assignments
  ['192.0.2.0', 24, 'reserved'], // documentation
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
];
const v6: [string, number, AddressClass][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'reserved'], // IPv4-compatible (deprecated)
  ['100::', 64, 'reserved'], // discard-only
  ['2001:db8::', 32, 'reserved'], // documentation
  ['fc00::', 7, 'unique-local'], // RFC 4193
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // site-local (deprecated)
  ['ff00::', 8, 'multicast'],
];

const lists = new Map<AddressClass, BlockList>();
for (const [net, prefix, cls] of v4) add(cls).addSubnet(net, prefix, 'ipv4');
for (const [net, prefix, cls] of v6) add(cls).addSubnet(net, prefix, 'ipv6');
function add(cls: AddressClass): BlockList {
  let list = lists.get(cls);
  if (!list) {
    list = new BlockList();
    lists.set(cls, list);
  }
  return list;
}

/** The 16 bytes of an IPv6 address (with or without a dotted IPv4 tail). */
function v6Bytes(address: string): Buffer {
  let text = address.toLowerCase().split('%')[0] as string;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a, b, c, d] = dotted[1].split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parts = (s: string | undefined) => (s ? s.split(':') : []);
  const h = parts(head);
  const t = parts(tail);
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const bytes = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) bytes.writeUInt16BE(Number.parseInt(g, 16) || 0, i * 2);
  return bytes;
}

/** An IPv4 address carried inside an IPv6 one (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16). */
function embeddedV4(address: string): string | null {
  const b = v6Bytes(address);
  const ipv4 = (o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return ipv4(12);
  if (b.readUInt32BE(0) === 0x0064ff9b && b.subarray(4, 12).every((x) => x === 0)) return ipv4(12);
  if (b.readUInt16BE(0) === 0x2002) return ipv4(2);
  return null;
}

/**
 * The class of an IP address that is not a public internet address, or null for a public one.
 * IPv4 inside IPv6 (mapped, NAT64, 6to4) is judged by the IPv4 address it carries, so
 * `::ffff:127.0.0.1` is loopback.
 */
export function classifyAddress(address: string): AddressClass | null {
  if (isIPv4(address)) {
    for (const [cls, list] of lists) if (list.check(address, 'ipv4')) return cls;
    return null;
  }
  if (!isIPv6(address)) return 'reserved';
  const inner = embeddedV4(address);
  if (inner) return classifyAddress(inner);
  for (const [cls, list] of lists) if (list.check(address, 'ipv6')) return cls;
  return null;
}

export interface CheckedTarget {
  url: URL;
  /** The address checked; the request connects to it and nothing else (no second DNS lookup). */
  address: string;
  family: 4 | 6;
}

export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;
export const systemResolve: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Parses and checks a webhook URL's form: https (http only with private targets allowed), no credentials. */
export function parseTargetUrl(text: string, allowPrivate: boolean, field = '/url'): URL {
  if (text.length > MAX_URL_LENGTH) throw invalid(field, `at most ${MAX_URL_LENGTH} characters`);
  // Control characters and spaces never belong in a URL; the WHATWG parser would quietly drop some.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u0020\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/.test(text))
    throw invalid(field, 'must not contain spaces, control or bidirectional formatting characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(field, 'is not a URL; write it as https://host/path');
  }
  if (url.username || url.password)
    throw invalid(field, 'must not carry credentials; authenticate the sender by the webhook signature');
  if (url.hash) throw invalid(field, 'must not have a #fragment');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:') {
    if (allowPrivate) return url;
    throw new DomainError(
      'validation-failed',
      `${field}: webhook targets must be https:// (plain http is only allowed with webhooks.allowPrivateTargets, for tests and LANs)`,
      [{ field, message: 'must be https://' }],
    );
  }
  throw invalid(field, `scheme ${url.protocol} is not allowed; use https://`);
}

/**
 * Resolves the URL's host and refuses a target that is not on the public internet (SSRF: a
 * webhook must not reach the server's own loopback, the cloud metadata service or the LAN behind
 * it), unless private targets are allowed. Every resolved address must pass: a name that answers
 * one public and one private address is refused. Run at creation and again before every delivery.
 */
export async function checkTarget(
  text: string,
  allowPrivate: boolean,
  resolve: Resolve = systemResolve,
  field = '/url',
): Promise<CheckedTarget> {
  const url = parseTargetUrl(text, allowPrivate, field);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let answers: { address: string; family: number }[];
  if (isIPv4(host) || isIPv6(host)) answers = [{ address: host, family: isIPv4(host) ? 4 : 6 }];
  else {
    try {
      answers = await resolve(host);
    } catch (error) {
      throw new DomainError(
        'validation-failed',
        `${field}: the host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'DNS error'}); check the name`,
        [{ field, message: 'host does not resolve' }],
      );
    }
  }
  if (answers.length === 0)
    throw new DomainError('validation-failed', `${field}: the host ${host} has no address`, [
      { field, message: 'host has no address' },
    ]);
  if (!allowPrivate)
    for (const answer of answers) {
      const cls = classifyAddress(answer.address);
      if (cls)
        throw new DomainError(
          'validation-failed',
          `${field}: ${host} is ${answer.address}, a ${cls} address; webhooks only reach public internet addresses (${CONFIG_HINT})`,
          [{ field, message: `${cls} address refused` }],
        );
    }
  const first = answers[0] as { address: string; family: number };
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
