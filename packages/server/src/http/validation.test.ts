/**
 * `serve` compiles a route's schemas on its first request (http/validation.ts, issue 15): the
 * first request to a route on a freshly started app must be validated exactly as on an app that
 * compiled everything at build, also when several first requests arrive at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';

const brand = { name: 'A', responsibleParty: 'B', securityContact: 'mailto:a@b.c' };

/** Bad requests, each to a route no request has reached yet on a fresh app. */
const firstRequests: { method: 'GET' | 'POST'; url: string; body?: unknown }[] = [
  { method: 'POST', url: '/v1/orgs', body: { slug: 'x', name: 42 } },
  { method: 'POST', url: '/v1/orgs/acme/brands', body: { ...brand, colour: 'red' } },
  { method: 'GET', url: '/v1/orgs/acme/devices?limit=9999' },
  { method: 'GET', url: '/v1/orgs/acme/devices/not-an-id' },
];

for (const dialect of testDialects) {
  describe(`route schemas compiled on first use validate the first request (${dialect})`, () => {
    let eager: TestApp;
    let lazy: TestApp;
    before(async () => {
      // Eager compilation at build is also the check that every route's schemas compile.
      eager = await testApp(dialect);
      lazy = await testApp(dialect, { lazySchemas: true });
      // A real organisation: authorisation runs before the body is read (http/authorize.ts), so an
      // unknown one would answer 404 first. Only POST /v1/orgs and its tokens route compile here.
      await lazy.org('acme');
      await eager.org('acme');
    });
    after(async () => {
      await lazy.close();
      await eager.close();
    });

    it('a bad first request gets the same 400 problem as on an app compiled at build', async () => {
      for (const { method, url, body } of firstRequests) {
        const fromLazy = await lazy.call(method, url, body === undefined ? {} : { body });
        const fromEager = await eager.call(method, url, body === undefined ? {} : { body });
        assert.equal(fromLazy.status, 400, `${method} ${url}: ${fromLazy.raw}`);
        assert.equal(fromLazy.headers['content-type'], 'application/problem+json; charset=utf-8');
        assert.deepEqual(fromLazy.body, fromEager.body, `${method} ${url}`);
      }
    });

    it('concurrent first requests to one route are each validated; good ones pass, bad ones are refused', async () => {
      await lazy.org('race');
      await eager.org('race');
      // The products route has had no request on either app.
      const bodies = Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0
          ? { modelNumber: `M${i}`, name: 'P', hardwareRevision: '1', supportEnds: 'soon' }
          : { modelNumber: `M${i}`, name: 'P', hardwareRevision: '1', supportEnds: '2036-01-01' },
      );
      const answers = await Promise.all(
        bodies.map((body) => lazy.call('POST', '/v1/orgs/race/products', { body })),
      );
      const expectedBad = await eager.call('POST', '/v1/orgs/race/products', { body: bodies[0] });
      assert.equal(expectedBad.status, 400);
      answers.forEach((answer, i) => {
        if (i % 2 === 0) assert.deepEqual([answer.status, answer.body], [400, expectedBad.body]);
        else assert.equal(answer.status, 201, answer.raw);
      });
    });

    it('a first response is serialized by its schema as on an app compiled at build', async () => {
      const fromLazy = await lazy.call('GET', '/v1/orgs/race');
      const fromEager = await eager.call('GET', '/v1/orgs/race');
      assert.equal(fromLazy.status, 200);
      assert.deepEqual(Object.keys(fromLazy.body).sort(), Object.keys(fromEager.body).sort());
    });
  });
}
