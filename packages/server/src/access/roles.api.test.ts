import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';

for (const dialect of testDialects) {
  describe(`roles grant least privilege (${dialect})`, () => {
    let t: TestApp;
    const tokens: Record<string, string> = {};
    let productId: string;

    before(async () => {
      t = await testApp(dialect);
      const admin = await t.org('acme', 'admin');
      tokens.admin = admin.token;
      for (const role of ['operator', 'security', 'auditor']) {
        const res = await t.call('POST', '/v1/orgs/acme/tokens', {
          token: admin.token,
          body: { name: role, role },
        });
        tokens[role] = res.body.token;
      }
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        token: admin.token,
        body: { modelNumber: 'M', name: 'M', hardwareRevision: '1', supportEnds: '2035-01-01' },
      });
      productId = product.body.id;
    });
    after(async () => {
      await t.close();
    });

    const matrix: [string, string, () => unknown, Record<string, number>][] = [
      [
        'GET',
        '/v1/orgs/acme/devices',
        () => undefined,
        { admin: 200, operator: 200, security: 200, auditor: 200 },
      ],
      [
        'POST',
        '/v1/orgs/acme/devices',
        () => ({ productId, serial: `S-${Math.random().toString(36).slice(2)}` }),
        { admin: 201, operator: 201, security: 403, auditor: 403 },
      ],
      [
        'GET',
        '/v1/orgs/acme/audit',
        () => undefined,
        { admin: 200, operator: 403, security: 200, auditor: 200 },
      ],
      [
        'GET',
        '/v1/orgs/acme/tokens',
        () => undefined,
        // The auditor reads the tokens for an access review (tokens:read) and creates none.
        { admin: 200, operator: 403, security: 403, auditor: 200 },
      ],
      [
        'POST',
        '/v1/orgs/acme/tokens',
        () => ({ name: 'n', role: 'auditor' }),
        { admin: 201, operator: 403, security: 403, auditor: 403 },
      ],
      [
        'PATCH',
        '/v1/orgs/acme',
        () => ({ name: 'x' }),
        { admin: 403, operator: 403, security: 403, auditor: 403 },
      ],
      [
        'POST',
        '/v1/orgs',
        () => ({ slug: 'new', name: 'x' }),
        { admin: 403, operator: 403, security: 403, auditor: 403 },
      ],
      [
        'GET',
        '/v1/platform/audit',
        () => undefined,
        { admin: 403, operator: 403, security: 403, auditor: 403 },
      ],
    ];

    for (const [method, url, body, expected] of matrix) {
      it(`${method} ${url}`, async () => {
        for (const [role, status] of Object.entries(expected)) {
          const b = body();
          const res = await t.call(method as 'GET', url, {
            token: tokens[role] ?? null,
            ...(b ? { body: b } : {}),
          });
          assert.equal(res.status, status, `${role}: ${res.raw}`);
          if (status === 403) assert.equal(res.body.code, 'forbidden');
        }
      });
    }

    it('the platform admin manages organisations and platform tokens, and acts in any organisation', async () => {
      const org = await t.call('POST', '/v1/orgs', { body: { slug: 'second', name: 'Second' } });
      assert.equal(org.status, 201);
      const token = await t.call('POST', '/v1/platform/tokens', {
        body: { name: 'ops', role: 'platform-admin' },
      });
      assert.equal(token.status, 201);
      assert.match(token.body.token, /^bkl_[A-Za-z0-9_-]{43}$/);
      assert.equal(token.headers['cache-control'], 'no-store');
      const list = await t.call('GET', '/v1/platform/tokens');
      assert.ok(list.body.items.length >= 2);
      assert.doesNotMatch(list.raw, /bkl_|token_hash|tokenHash/, 'secrets and hashes never listed');
      assert.equal((await t.call('GET', '/v1/orgs/acme/audit')).status, 200);
      const platformAudit = await t.call('GET', '/v1/platform/audit');
      assert.ok(platformAudit.body.items.some((e: { action: string }) => e.action === 'organization.create'));
      assert.equal((await t.call('GET', '/v1/platform/audit/verify')).body.ok, true);
    });

    it('an org admin cannot mint a platform-admin token', async () => {
      const res = await t.call('POST', '/v1/orgs/acme/tokens', {
        token: tokens.admin ?? null,
        body: { name: 'x', role: 'platform-admin' },
      });
      assert.equal(res.status, 400);
    });

    it('a revoked token stops working at once, and revoking twice is a conflict', async () => {
      const created = await t.call('POST', '/v1/orgs/acme/tokens', {
        token: tokens.admin ?? null,
        body: { name: 'r', role: 'operator' },
      });
      assert.equal((await t.call('GET', '/v1/orgs/acme', { token: created.body.token })).status, 200);
      const revoked = await t.call('DELETE', `/v1/orgs/acme/tokens/${created.body.record.id}`, {
        token: tokens.admin ?? null,
      });
      assert.equal(revoked.status, 200);
      assert.ok(revoked.body.revokedAt);
      assert.equal((await t.call('GET', '/v1/orgs/acme', { token: created.body.token })).status, 401);
      const again = await t.call('DELETE', `/v1/orgs/acme/tokens/${created.body.record.id}`, {
        token: tokens.admin ?? null,
      });
      assert.equal(again.status, 409);
    });

    it('whoami names the caller as the audit log does', async () => {
      const me = await t.call('GET', '/v1/whoami', { token: tokens.auditor ?? null });
      assert.equal(me.body.role, 'auditor');
      assert.match(me.body.actor, /^token:tok_[0-9a-f]{28} \(auditor\)$/);
    });
  });
}
