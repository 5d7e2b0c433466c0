import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { CONSOLE_SECTIONS } from '../console/routes.js';
import { type TestApp, testApp } from '../test-support/app.js';

describe('OpenAPI document', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp('sqlite');
  });
  after(async () => {
    await t.close();
  });

  it('is a valid OpenAPI 3.1 document (swagger-parser)', async () => {
    const spec = (await t.call('GET', '/openapi.json', { token: null })).body;
    assert.equal(spec.openapi, '3.1.0');
    const validated = await SwaggerParser.validate(structuredClone(spec));
    assert.ok(validated.paths);
  });

  it('documents every route the server has, each with its problem+json errors', async () => {
    const spec = (await t.call('GET', '/openapi.json', { token: null })).body;
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(spec.paths as Record<string, object>)) {
      for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    // The console's pages and assets are files for a browser, not API operations (console/routes.ts).
    const consolePages = new Set([
      'GET /',
      'GET /assets/{name}',
      ...CONSOLE_SECTIONS.flatMap((s) => [`GET /${s}`, `GET /${s}/*`]),
    ]);
    const undocumented = t.app.http.routeList.filter(
      (r) => !documented.has(r) && r !== 'GET /openapi.json' && !consolePages.has(r),
    );
    assert.deepEqual(undocumented, [], 'every route is in the OpenAPI document');
    for (const key of documented) {
      if (!key.includes(' /v1/')) continue;
      const [method, path] = key.split(' ') as [string, string];
      const responses = spec.paths[path][method.toLowerCase()].responses;
      for (const status of ['400', '401', '403', '404'])
        assert.ok(responses[status], `${key} documents ${status}`);
    }
    for (const expected of [
      'POST /v1/orgs',
      'GET /v1/orgs/{org}/devices',
      'PATCH /v1/orgs/{org}/products/{productId}',
      'DELETE /v1/orgs/{org}/tokens/{tokenId}',
      'GET /v1/orgs/{org}/audit/verify',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
    ]) {
      assert.ok(documented.has(expected), `${expected} documented`);
    }
    assert.ok(spec.components.schemas.Problem, 'Problem schema');
    assert.ok(spec.components.schemas.CapabilityModel, 'CapabilityModel schema');
  });
});
