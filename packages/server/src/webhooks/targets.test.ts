import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { DomainError } from '../errors.js';
import { ensureTls } from '../tls/certs.js';
import { DELIVERY_TIMEOUT_MS, sendOnce, sendWithin } from './sender.js';
import { newSecret, signHeaders } from './signing.js';
import { type AddressClass, checkTarget, classifyAddress, parseTargetUrl } from './targets.js';

/** Every class of address a webhook must not reach, and public ones it may (SSRF, issue 18 §5). */
const table: [address: string, expected: AddressClass | null][] = [
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['fec0::1', 'private'],
  ['169.254.169.254', 'link-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456:789a::1', 'unique-local'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['255.255.255.255', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['2001:db8::1', 'reserved'],
  // IPv4 inside IPv6 is judged by the IPv4 address it carries.
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:100.64.0.1', 'cgnat'],
  ['::ffff:224.0.0.1', 'multicast'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['2002:c0a8:0101::1', 'private'],
  ['::127.0.0.1', 'reserved'],
  // Public.
  ['8.8.8.8', null],
  ['1.1.1.1', null],
  ['172.32.0.1', null],
  ['100.128.0.1', null],
  ['2606:4700:4700::1111', null],
  ['::ffff:8.8.8.8', null],
  ['2002:0808:0808::1', null],
];

const refused = async (promise: Promise<unknown>, pattern: RegExp) => {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DomainError, String(error));
    assert.equal(error.code, 'validation-failed');
    assert.match(error.message, pattern);
    return true;
  });
};

describe('webhook targets: SSRF rules', () => {
  for (const [address, expected] of table)
    it(`${address} is ${expected ?? 'public'}`, async () => {
      assert.equal(classifyAddress(address), expected);
      const host = address.includes(':') ? `[${address.split('%')[0]}]` : address;
      if (address.includes('%')) return; // a zone id is not valid in a URL host
      const url = `https://${host}/hook`;
      if (expected) {
        await refused(
          checkTarget(url, false),
          new RegExp(`a ${expected} address.*webhooks\\.allowPrivateTargets`),
        );
        // Allowed with the config key, for tests and LANs.
        assert.equal((await checkTarget(url, true)).address.length > 0, true);
      } else assert.ok((await checkTarget(url, false)).address);
    });

  it('judges every address a name resolves to, and refuses the name if any is private', async () => {
    const resolve = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ];
    await refused(
      checkTarget('https://mixed.example/hook', false, resolve),
      /mixed\.example is 10\.0\.0\.5, a private/,
    );
    const publicOnly = async () => [{ address: '93.184.216.34', family: 4 }];
    const checked = await checkTarget('https://ok.example/hook', false, publicOnly);
    assert.equal(checked.address, '93.184.216.34');
    await refused(checkTarget('https://localhost/hook', false), /localhost is .*a loopback address/);
    const nxdomain = async () => {
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    await refused(checkTarget('https://nope.invalid/', false, nxdomain), /does not resolve \(ENOTFOUND\)/);
  });

  it('wants https, no credentials, no control characters, bounded length; http only with private targets allowed', async () => {
    await refused(checkTarget('http://93.184.216.34/', false), /must be https:\/\/.*allowPrivateTargets/);
    assert.equal(parseTargetUrl('http://127.0.0.1:8080/x', true).port, '8080');
    await refused(checkTarget('ftp://example.com/', true), /scheme ftp: is not allowed/);
    await refused(checkTarget('file:///etc/passwd', true), /scheme file: is not allowed/);
    await refused(checkTarget('https://user:pw@example.com/', true), /must not carry credentials/);
    await refused(checkTarget('https://example.com/a b', true), /spaces, control/);
    await refused(checkTarget('https://exa\u0000mple.com/', true), /spaces, control/);
    await refused(checkTarget('https://example.com/\u202e', true), /bidirectional/);
    await refused(checkTarget(`https://example.com/${'a'.repeat(2000)}`, true), /at most 2000/);
    await refused(checkTarget('not a url', true), /spaces/);
    await refused(checkTarget('example.com/hook', true), /not a URL/);
    await refused(checkTarget('https://example.com/#x', true), /fragment/);
  });
});

describe('webhook requests: signed by the Standard Webhooks scheme, pinned to the checked address', () => {
  it('the standardwebhooks package verifies our signature; a changed body or another secret does not', () => {
    const secret = newSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({
      type: 'webhook.test',
      timestamp: new Date().toISOString(),
      data: { message: 'hi' },
    });
    const headers = signHeaders(secret, 'obe_0123', new Date(), body);
    assert.deepEqual(new Webhook(secret).verify(body, { ...headers }), JSON.parse(body));
    assert.throws(() => new Webhook(secret).verify(`${body} `, { ...headers }), /No matching signature/);
    assert.throws(() => new Webhook(newSecret()).verify(body, { ...headers }), /No matching signature/);
    const old = signHeaders(secret, 'obe_0123', new Date(Date.now() - 10 * 60_000), body);
    assert.throws(() => new Webhook(secret).verify(body, { ...old }), /too old/);
  });

  it('connects to the checked address, never looks the name up again, and follows no redirect', async () => {
    const seen: { host: string | undefined; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ host: req.headers.host, body });
        if (req.url === '/moved') res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
        else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), 2000);
        else res.writeHead(200).end('x'.repeat(10_000));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      // A name that resolves nowhere: only the pinned address can be reached.
      const target = {
        url: new URL(`http://receiver.invalid:${port}/hook`),
        address: '127.0.0.1',
        family: 4 as const,
      };
      const ok = await sendOnce(target, { 'webhook-id': 'x' }, '{"a":1}');
      assert.equal(ok.ok, true, ok.error ?? '');
      assert.equal(ok.status, 200);
      assert.equal(ok.excerpt?.length, 256, 'only a short excerpt of the answer is kept');
      assert.deepEqual(seen[0], { host: `receiver.invalid:${port}`, body: '{"a":1}' });
      const moved = await sendOnce(
        { ...target, url: new URL(`http://receiver.invalid:${port}/moved`) },
        {},
        '{}',
      );
      assert.equal(moved.ok, false);
      assert.equal(moved.status, 302);
      assert.match(moved.error ?? '', /redirect 302 not followed/);
      assert.equal(seen.length, 2, 'the redirect target was not requested');
      // A receiver that does not answer in time: a failed attempt (10 s in production, 0.3 s here).
      assert.equal(DELIVERY_TIMEOUT_MS, 10_000);
      const slow = await sendWithin(
        300,
        { ...target, url: new URL(`http://receiver.invalid:${port}/slow`) },
        {},
        '{}',
      );
      assert.equal(slow.ok, false);
      assert.equal(slow.error, 'no answer within 0.3 s');
      const closed = await sendOnce({ ...target, url: new URL('http://receiver.invalid:1/') }, {}, '{}');
      assert.equal(closed.ok, false);
      assert.match(closed.error ?? '', /ECONNREFUSED/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('https: the connection is pinned to the checked address, and TLS still verifies the URL host name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
    const tls = await ensureTls({ dataDir: dir, hostnames: ['receiver.test'] });
    const ca = readFileSync(tls.caFile as string, 'utf8');
    const server = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const at = (host: string) => ({
      url: new URL(`https://${host}:${port}/hook`),
      address: '127.0.0.1',
      family: 4 as const,
    });
    try {
      const ok = await sendWithin(5000, at('receiver.test'), {}, '{}', { ca });
      assert.equal(ok.ok, true, ok.error ?? '');
      assert.equal(ok.status, 204);
      const wrongName = await sendWithin(5000, at('other.test'), {}, '{}', { ca });
      assert.equal(wrongName.ok, false);
      assert.match(wrongName.error ?? '', /ERR_TLS_CERT_ALTNAME_INVALID/);
      const untrusted = await sendOnce(at('receiver.test'), {}, '{}');
      assert.equal(untrusted.ok, false, 'the system trust store does not know a private CA');
      assert.match(untrusted.error ?? '', /CERT|certificate/i);
    } finally {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
