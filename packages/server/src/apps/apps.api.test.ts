import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';

for (const dialect of testDialects) {
  describe(`apps: the maker registers OAuth clients for the app API (${dialect})`, () => {
    let t: TestApp;
    let admin: { token: string };
    let auditor: { token: string };
    const create = (body: unknown, token = admin.token) =>
      t.call('POST', '/v1/orgs/acme/apps', { token, body });

    before(async () => {
      t = await testApp(dialect, { publicUrl: 'https://owners.test' });
      admin = await t.org('acme');
      const made = await t.call('POST', '/v1/orgs/acme/tokens', { body: { name: 'audit', role: 'auditor' } });
      auditor = { token: made.body.token };
    });
    after(async () => {
      await t.close();
    });

    it('accepts https, loopback and reverse-domain redirect URIs and refuses everything else with a reason', async () => {
      const good = await create({
        name: 'Acme Plugs',
        clientType: 'public',
        redirectUris: [
          'https://app.acme.example/cb?x=1',
          'http://127.0.0.1:8080/cb',
          'http://[::1]/cb',
          'com.acme.plugs:/oauth',
        ],
        scopes: ['devices:control', 'devices:read'],
      });
      assert.equal(good.status, 201, good.raw);
      assert.deepEqual(good.body.app.scopes, ['devices:read', 'devices:control']);
      assert.equal(good.body.clientSecret, null);
      for (const [uri, why] of [
        ['http://app.acme.example/cb', /loopback/],
        ['http://localhost/cb', /loopback/],
        ['https://app.acme.example/cb#frag', /fragment/],
        ['https://user:pw@app.acme.example/cb', /user info/],
        ['javascript:alert(1)', /reverse domain/],
        ['myapp:/cb', /reverse domain/],
        ['/relative', /absolute/],
      ] as const) {
        const bad = await create({
          name: 'Bad',
          clientType: 'public',
          redirectUris: [uri],
          scopes: ['devices:read'],
        });
        assert.equal(bad.status, 400, `${uri}: ${bad.raw}`);
        assert.match(bad.body.detail, why, uri);
      }
      const scope = await create({
        name: 'X',
        clientType: 'public',
        redirectUris: ['https://a.example/cb'],
        scopes: ['admin'],
      });
      assert.equal(scope.status, 400);
      for (const name of [
        '<script>x</script>',
        'a\u0000b',
        '\u202eevil',
        'x'.repeat(300),
        '__proto__',
        '💡 lamp',
      ]) {
        const res = await create({
          name,
          clientType: 'public',
          redirectUris: ['https://a.example/cb'],
          scopes: ['devices:read'],
        });
        assert.ok([201, 400].includes(res.status), `${JSON.stringify(name)}: ${res.status}`);
      }
    });

    it('shows a confidential secret once, stores its hash, rotates it; the auditor reads but changes nothing', async () => {
      const made = await create({
        name: 'Acme Web',
        clientType: 'confidential',
        redirectUris: ['https://app.acme.example/cb'],
        scopes: ['devices:read'],
      });
      assert.equal(made.status, 201, made.raw);
      const secret = made.body.clientSecret as string;
      assert.match(secret, /^bcs_[A-Za-z0-9_-]{43}$/);
      const id = made.body.app.id as string;
      const rows = await t.app.services.store.db.selectFrom('oauth_apps').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(secret));
      const read = await t.call('GET', `/v1/orgs/acme/apps/${id}`, { token: auditor.token });
      assert.equal(read.status, 200);
      assert.ok(!read.raw.includes(secret));
      assert.equal((await t.call('GET', '/v1/orgs/acme/apps', { token: auditor.token })).status, 200);
      assert.equal(
        (
          await create(
            {
              name: 'A',
              clientType: 'public',
              redirectUris: ['https://a.example/cb'],
              scopes: ['devices:read'],
            },
            auditor.token,
          )
        ).status,
        403,
      );
      assert.equal(
        (await t.call('DELETE', `/v1/orgs/acme/apps/${id}`, { token: auditor.token })).status,
        403,
      );
      const rotated = await t.call('POST', `/v1/orgs/acme/apps/${id}/rotate-secret`, { token: admin.token });
      assert.equal(rotated.status, 200, rotated.raw);
      assert.notEqual(rotated.body.clientSecret, secret);
      assert.equal(rotated.headers['cache-control'], 'no-store');
      const renamed = await t.call('PATCH', `/v1/orgs/acme/apps/${id}`, {
        token: admin.token,
        body: { name: 'Acme Web 2' },
      });
      assert.equal(renamed.body.name, 'Acme Web 2');
      assert.equal(
        (await t.call('PATCH', `/v1/orgs/acme/apps/${id}`, { token: admin.token, body: {} })).status,
        400,
      );
      assert.equal((await t.call('DELETE', `/v1/orgs/acme/apps/${id}`, { token: admin.token })).status, 204);
      assert.equal((await t.call('GET', `/v1/orgs/acme/apps/${id}`, { token: admin.token })).status, 404);
      const audit = await t.call('GET', '/v1/orgs/acme/audit?limit=100');
      const actions = (audit.body.items as { action: string; targetId: string }[])
        .filter((e) => e.targetId === id)
        .map((e) => e.action);
      for (const action of ['app.create', 'app.rotate-secret', 'app.update', 'app.delete'])
        assert.ok(actions.includes(action), action);
      assert.ok(!audit.raw.includes(secret) && !audit.raw.includes(rotated.body.clientSecret));
    });

    it('answers 503 at the OAuth endpoints when http.publicUrl (the issuer) is not set', async () => {
      const bare = await testApp(dialect);
      try {
        const res = await bare.call('GET', '/.well-known/oauth-authorization-server', { token: null });
        assert.equal(res.status, 503);
        assert.equal(res.body.error, 'temporarily_unavailable');
      } finally {
        await bare.close();
      }
    });
  });
}
