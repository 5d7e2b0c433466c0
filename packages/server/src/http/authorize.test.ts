import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { type Principal, tokenPrincipal } from '../access/roles.js';
import type { OrganizationService } from '../fleet/organizations.js';
import { registerAuthorization } from './authorize.js';
import { sendProblem, toProblem } from './problem.js';

/** A bare Fastify with the real authorisation hook, the principal set as authentication would. */
async function appFor(principal: Principal) {
  const app = Fastify();
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    request.principal = principal;
  });
  // Only routes under /v1/orgs/:org look organisations up; none here does.
  registerAuthorization(app, { orgs: {} as OrganizationService });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, toProblem(error, request)));
  const ran: string[] = [];
  app.post('/v1/undeclared', async () => ran.push('undeclared'));
  app.post('/v1/misspelt', { schema: { 'x-brickless-permission': 'orgs:manaeg' as never } }, async () =>
    ran.push('misspelt'),
  );
  app.post(
    '/v1/platform-thing',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
      },
    },
    async () => ran.push('platform-thing'),
  );
  await app.ready();
  return { app, ran };
}

const platformAdmin = tokenPrincipal({
  actor: 'token:root',
  tokenId: 'tok_root',
  personId: null,
  role: 'platform-admin',
  orgId: null,
});
const orgAdmin = tokenPrincipal({
  actor: 'token:a',
  tokenId: 'tok_a',
  personId: null,
  role: 'admin',
  orgId: 'org_a',
});

describe('authorisation from the declared permission (http/authorize.ts)', () => {
  it('fails closed with 500 when a route declares no permission, or one that does not exist', async () => {
    const { app, ran } = await appFor(platformAdmin);
    for (const url of ['/v1/undeclared', '/v1/misspelt']) {
      const response = await app.inject({ method: 'POST', url, payload: { name: 'n' } });
      assert.equal(response.statusCode, 500, url);
      assert.equal(response.json().code, 'internal');
    }
    assert.deepEqual(ran, [], 'no undeclared handler ran');
    await app.close();
  });

  it('answers 403 before the body is read or validated, and runs the route for the permitted', async () => {
    const denied = await appFor(orgAdmin);
    for (const payload of ['{"no":', '{}', '{"name":"n"}']) {
      const response = await denied.app.inject({
        method: 'POST',
        url: '/v1/platform-thing',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      assert.equal(response.statusCode, 403, payload);
      assert.match(response.json().detail, /needs orgs:manage/);
    }
    assert.deepEqual(denied.ran, []);
    await denied.app.close();

    const allowed = await appFor(platformAdmin);
    const invalid = await allowed.app.inject({ method: 'POST', url: '/v1/platform-thing', payload: {} });
    assert.equal(invalid.statusCode, 400, 'validation runs once authorised');
    const ok = await allowed.app.inject({
      method: 'POST',
      url: '/v1/platform-thing',
      payload: { name: 'n' },
    });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(allowed.ran, ['platform-thing']);
    await allowed.app.close();
  });
});
