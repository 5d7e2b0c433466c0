import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invalidTrustedEntry, TrustedProxies } from './trusted.js';

describe('trusted proxies (config proxy.trusted)', () => {
  it('matches addresses inside the blocks, IPv4-mapped IPv6 peers as IPv4', () => {
    const trusted = new TrustedProxies(['10.0.0.0/24', '127.0.0.1', 'fd00:1::/32', '::1']);
    for (const yes of ['10.0.0.0', '10.0.0.255', '::ffff:10.0.0.9', '127.0.0.1', 'fd00:1:ffff::1', '::1'])
      assert.equal(trusted.has(yes), true, yes);
    for (const no of ['10.0.1.0', '127.0.0.2', '::ffff:127.0.0.2', 'fd00:2::1', '::2', undefined, '', 'x'])
      assert.equal(trusted.has(no), false, String(no));
  });

  it('is off when empty: no address is trusted', () => {
    const none = new TrustedProxies([]);
    assert.equal(none.empty, true);
    assert.equal(none.has('127.0.0.1'), false);
  });

  it('refuses entries that are not addresses or blocks, blocks with host bits, and /0, naming the entry', () => {
    const cases: [string, RegExp][] = [
      ['10.0.0.1/8', /"10\.0\.0\.1\/8" has bits set below its \/8 prefix/],
      ['0.0.0.0/0', /trusts every address/],
      ['::/0', /trusts every address/],
      ['10.0.0.0/33', /prefix length over 32/],
      ['fd00::/129', /prefix length over 128/],
      ['10.0.0.0/08', /not a number/],
      ['10.0.0.0/8/8', /more than one "\/"/],
      ['10.0.0.256', /not an IPv4 or IPv6 address/],
      ['haproxy.internal', /not an IPv4 or IPv6 address/],
      ['', /not an IPv4 or IPv6 address/],
      ['fe80::1%eth0', /not an IPv4 or IPv6 address/],
    ];
    for (const [entry, message] of cases) {
      assert.throws(() => new TrustedProxies(['127.0.0.1', entry]), message, entry);
      assert.match(invalidTrustedEntry([entry]) ?? '', message, entry);
    }
    assert.equal(invalidTrustedEntry(['10.0.0.0/8', '2001:db8::/32', '192.0.2.10']), null);
  });
});
