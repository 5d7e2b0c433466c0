import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';

for (const dialect of testDialects) {
  describe(`bad input gets a clear problem+json and changes nothing (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await testApp(dialect, { bodyLimit: 64 * 1024 });
      await t.org('acme');
    });
    after(async () => {
      await t.close();
    });

    const auditCount = () => t.app.services.audit.count(t.app.services.store.db);

    it('malformed JSON is 400 malformed-request', async () => {
      const before = await auditCount();
      const res = await t.call('POST', '/v1/orgs', { body: '{"slug": "x", "name": ' });
      assert.equal(res.status, 400);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(res.body.code, 'malformed-request');
      assert.equal(res.body.type, 'urn:brickless:problem:malformed-request');
      assert.equal(res.body.instance, '/v1/orgs');
      assert.equal(await auditCount(), before);
    });

    it('an unknown field is refused and named, never silently dropped', async () => {
      const res = await t.call('POST', '/v1/orgs/acme/brands', {
        body: { name: 'A', responsibleParty: 'B', securityContact: 'mailto:a@b.c', colour: 'red' },
      });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body.errors, [{ field: '/colour', in: 'body', message: 'unknown field' }]);
    });

    it('a missing field, a wrong type and a coercible-looking string are named', async () => {
      const missing = await t.call('POST', '/v1/orgs', { body: { slug: 'x' } });
      assert.deepEqual(missing.body.errors[0], { field: '/name', in: 'body', message: 'is required' });
      const wrongType = await t.call('POST', '/v1/orgs', { body: { slug: 'x', name: 42 } });
      assert.equal(wrongType.status, 400);
      assert.equal(wrongType.body.errors[0].field, '/name');
      const notArray = await t.call('POST', '/v1/orgs', { body: [] });
      assert.equal(notArray.status, 400);
    });

    it('query and path parameters are validated and named', async () => {
      const res = await t.call('GET', '/v1/orgs/acme/devices?limit=9999');
      assert.equal(res.status, 400);
      assert.deepEqual(res.body.errors[0].field, '/limit');
      assert.equal(res.body.errors[0].in, 'querystring');
      const unknown = await t.call('GET', '/v1/orgs/acme/devices?colour=red');
      assert.equal(unknown.status, 400);
      const badId = await t.call('GET', '/v1/orgs/acme/devices/not-an-id');
      assert.equal(badId.status, 400);
      assert.equal(badId.body.errors[0].in, 'params');
    });

    it('an oversized body is 413', async () => {
      const res = await t.call('POST', '/v1/orgs', { body: { slug: 'big', name: 'x'.repeat(100 * 1024) } });
      assert.equal(res.status, 413);
      assert.equal(res.body.code, 'payload-too-large');
    });

    it('a body that is not JSON is 415', async () => {
      const res = await t.app.http.inject({
        method: 'POST',
        url: '/v1/orgs',
        headers: { authorization: `Bearer ${t.rootToken}`, 'content-type': 'application/xml' },
        payload: '<org/>',
      });
      assert.equal(res.statusCode, 415);
      assert.equal(JSON.parse(res.body).code, 'unsupported-media-type');
    });

    it('hostile strings are stored as data and returned intact, never interpreted', async () => {
      const hostile = `Robert'); DROP TABLE devices;-- <script>alert(1)</script> \u202e ☃ "quotes"`;
      const res = await t.call('POST', '/v1/orgs/acme/brands', {
        body: { name: hostile, responsibleParty: hostile, securityContact: 'https://x.example/%3Cscript%3E' },
      });
      assert.equal(res.status, 201, res.raw);
      const back = await t.call('GET', `/v1/orgs/acme/brands/${res.body.id}`);
      assert.equal(back.body.name, hostile);
      assert.equal((await t.call('GET', '/v1/orgs/acme/devices')).status, 200, 'devices table still there');
      const control = await t.call('POST', '/v1/orgs/acme/brands', {
        body: { name: 'bell\u0007', responsibleParty: 'x', securityContact: 'mailto:a@b.c' },
      });
      assert.equal(control.status, 400, 'control characters are refused');
    });

    it('a missing, malformed, unknown or revoked token gets the same 401', async () => {
      const created = await t.call('POST', '/v1/orgs/acme/tokens', {
        body: { name: 'temp', role: 'operator' },
      });
      await t.call('DELETE', `/v1/orgs/acme/tokens/${created.body.record.id}`);
      const bodies = [];
      for (const token of [null, 'nonsense', `bkl_${'A'.repeat(43)}`, created.body.token]) {
        const res = await t.call('GET', '/v1/orgs/acme/devices', { token });
        assert.equal(res.status, 401);
        assert.equal(res.headers['www-authenticate'], 'Bearer');
        bodies.push(res.raw);
      }
      assert.equal(new Set(bodies).size, 1, 'the 401 does not say which part was wrong');
      const metrics = await t.app.http.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /brickless_auth_failures_total\{surface="api"\} [4-9]/);
    });

    it('an expired token stops working at its expiry (manual clock)', async () => {
      const created = await t.call('POST', '/v1/orgs/acme/tokens', {
        body: { name: 'short', role: 'auditor', expiresAt: '2026-03-01T13:00:00.000Z' },
      });
      assert.equal(created.status, 201, created.raw);
      assert.equal((await t.call('GET', '/v1/orgs/acme', { token: created.body.token })).status, 200);
      t.clock.advance(60 * 60 * 1000);
      assert.equal((await t.call('GET', '/v1/orgs/acme', { token: created.body.token })).status, 401);
      t.clock.set('2026-03-01T12:00:00.000Z');
      const past = await t.call('POST', '/v1/orgs/acme/tokens', {
        body: { name: 'p', role: 'auditor', expiresAt: '2020-01-01T00:00:00Z' },
      });
      assert.equal(past.status, 400);
    });

    it('unknown routes are 404 problem+json; health, readiness and metrics answer without a token', async () => {
      const res = await t.call('GET', '/v1/nothing-here');
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'not-found');
      assert.deepEqual((await t.call('GET', '/healthz', { token: null })).body, { status: 'ok' });
      assert.deepEqual((await t.call('GET', '/readyz', { token: null })).body, {
        status: 'ready',
        database: dialect,
      });
      const metrics = await t.app.http.inject({ method: 'GET', url: '/metrics' });
      assert.equal(metrics.statusCode, 200);
      assert.match(
        metrics.body,
        /brickless_http_requests_total\{method="GET",route="\/v1\/orgs\/:org\/devices",status="200"\}/,
      );
      assert.doesNotMatch(metrics.body, /acme|org_[0-9a-f]{28}/, 'no tenant data in metrics');
    });

    it('admin responses are not cacheable', async () => {
      const res = await t.call('GET', '/v1/orgs/acme');
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    });
  });
}
