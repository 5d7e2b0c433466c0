import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRequirement, PERMISSION_KEY } from '../http/authorize.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { ROLES_DOC, ROLES_DOC_COMMAND, renderRolesDoc } from './roles-doc.js';

const root = join(import.meta.dirname, '..', '..', '..', '..');

describe('permissions declared per operation (issue 16 §1)', () => {
  let t: TestApp;
  let spec: any;
  before(async () => {
    t = await testApp('sqlite');
    spec = (await t.call('GET', '/openapi.json', { token: null })).body;
  });
  after(async () => {
    await t.close();
  });

  it(`every operation under /v1 declares ${PERMISSION_KEY} in /openapi.json`, () => {
    const undeclared: string[] = [];
    let declared = 0;
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        if (isRequirement(op[PERMISSION_KEY])) declared++;
        else undeclared.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(undeclared, [], 'operations without a permission');
    assert.ok(declared > 90, `${declared} operations declared`);
  });

  it(`${ROLES_DOC} is what \`${ROLES_DOC_COMMAND}\` writes`, () => {
    const written = readFileSync(join(root, ROLES_DOC), 'utf8');
    assert.ok(
      written === renderRolesDoc(t.app.http.swagger()),
      `${ROLES_DOC} is out of date with the code: run \`${ROLES_DOC_COMMAND}\` and commit the result`,
    );
  });
});
