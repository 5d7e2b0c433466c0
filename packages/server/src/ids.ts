import { randomBytes } from 'node:crypto';

/**
 * Identifiers: a short type prefix, then 12 hex digits of milliseconds since the epoch and
 * 16 hex digits of randomness. They sort by creation time, which makes them usable as
 * pagination cursors on both database dialects without a separate sequence. Within one
 * millisecond (or when a clock stands still or steps back) the random part of the previous id is
 * incremented instead, so ids made by one process are strictly increasing (the ULID monotonic rule).
 */
export type IdPrefix =
  | 'org'
  | 'brd'
  | 'prd'
  | 'dev'
  | 'tok'
  | 'aud'
  | 'crd'
  | 'cmd'
  | 'dca'
  | 'evt'
  | 'rel'
  | 'rol'
  | 'upr'
  | 'sbm'
  | 'vex'
  | 'rpc'
  | 'rps'
  | 'adv'
  | 'dsc'
  | 'prs'
  | 'inv'
  | 'pky'
  | 'dsm'
  // Issue 18 and 21: outbound events, notifications, webhooks and their deliveries, owners and
  // their shares, and the organisations' signing keys.
  | 'obe'
  | 'ntf'
  | 'whk'
  | 'whd'
  | 'own'
  | 'del'
  | 'shr'
  | 'ork'
  // Issue 18 §1: an owner's passkey.
  | 'opk'
  // Issue 18 §3: an owner's notice.
  | 'onx'
  // Issue 18 §2: apps (OAuth clients) and the grants owners gave them.
  | 'app'
  | 'grt';

let lastTime = 0;
let lastRandom = 0n;
const RANDOM_MAX = (1n << 64n) - 1n;

export function newId(prefix: IdPrefix, at: Date = new Date()): string {
  let time = at.getTime();
  let random: bigint;
  if (time <= lastTime && lastRandom < RANDOM_MAX) {
    time = lastTime;
    random = lastRandom + 1n;
  } else {
    random = randomBytes(8).readBigUInt64BE() >> 1n; // leave room to count up within the millisecond
  }
  lastTime = time;
  lastRandom = random;
  return `${prefix}_${time.toString(16).padStart(12, '0')}${random.toString(16).padStart(16, '0')}`;
}

export function isId(prefix: IdPrefix, value: string): boolean {
  return new RegExp(`^${prefix}_[0-9a-f]{28}$`).test(value);
}
