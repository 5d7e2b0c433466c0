import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease } from '../test-support/updates.js';
import { orgRoles, type Role } from './roles.js';
import { type Operation, operationsOf, roleMay } from './roles-doc.js';

/**
 * The role walk (issue 16 §1): every operation of the OpenAPI document under /v1, called by a token
 * of every role of two organisations and by the platform admin, against the table docs/roles.md is
 * made of. A role without the declared permission gets 403, even with a body that does not parse
 * (authorisation runs before the body is read, so refused roles send one); a role with it gets past
 * authorisation (400, 404, 409 are fine); a token of organisation B on A's paths gets 404, as if A
 * did not exist; no token is ever refused as unauthenticated, and no token at all always is.
 */
interface Caller {
  name: string;
  role: Role;
  /** 'A', 'B' or null for the platform admin. */
  org: 'A' | 'B' | null;
  token: string;
}

type PathParameter = { in: string; name: string; schema?: { pattern?: string } };
type OpenApi = {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: PathParameter[];
        requestBody?: unknown;
        responses?: Record<string, { content?: Record<string, unknown> }>;
      }
    >
  >;
};

/**
 * A server-sent event stream (the rollout's live progress) never ends by itself, and an in-process
 * request waits for the end: the walk calls it with ids nobody has, so every caller's answer still
 * comes after authorisation (403, or 404 for the unknown object) without a stream opening.
 * rollout-stream.api.test.ts streams for real, over a socket.
 */
const isStream = (
  described: { responses?: Record<string, { content?: Record<string, unknown> }> } | undefined,
) => Object.keys(described?.responses?.['200']?.content ?? {}).includes('text/event-stream');

/** A well-formed id nobody has: the prefix of the parameter's `^pfx_[0-9a-f]{28}$` pattern. */
function unknownId(parameter: PathParameter | undefined): string {
  const prefix = /^\^([a-z]+)_/.exec(parameter?.schema?.pattern ?? '')?.[1];
  return prefix ? `${prefix}_${'0'.repeat(28)}` : 'unknown';
}

// Deletions go last, the organisation's own deletion very last, so that a permitted role's
// deletion cannot turn the operations after it into 404s for the wrong reason.
const order = (op: Operation): number => (op.method !== 'DELETE' ? 0 : op.path === '/v1/orgs/{org}' ? 2 : 1);

for (const dialect of testDialects) {
  describe(`role walk: every /v1 operation with every role (${dialect})`, () => {
    let t: TestApp;
    const callers: Caller[] = [];
    /** Real objects of organisation A, by path parameter name. */
    const known: Record<string, string> = {};

    before(async () => {
      t = await testApp(dialect);
      const a = await t.org('walk-a');
      const b = await t.org('walk-b');
      callers.push({ name: 'platform-admin', role: 'platform-admin', org: null, token: t.rootToken });
      for (const [label, org] of [
        ['A', a],
        ['B', b],
      ] as const) {
        for (const role of orgRoles) {
          const made = await t.call('POST', `/v1/orgs/${org.slug}/tokens`, {
            body: { name: `${role} of ${org.slug}`, role },
          });
          assert.equal(made.status, 201, made.raw);
          callers.push({ name: `${role} of ${label}`, role, org: label, token: made.body.token });
        }
      }

      const post = async (path: string, body: unknown) => {
        const response = await t.call('POST', `/v1/orgs/walk-a${path}`, { body });
        assert.equal(response.status, 201, `${path}: ${response.raw}`);
        return response.body;
      };
      known.org = a.slug;
      known.brandId = (
        await post('/brands', {
          name: 'Walk',
          responsibleParty: 'Walk GmbH',
          securityContact: 'mailto:s@walk.test',
        })
      ).id;
      known.productId = (
        await post('/products', {
          modelNumber: 'WALK-1',
          name: 'Walking plug',
          hardwareRevision: 'rev-a',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
          brandIds: [known.brandId],
        })
      ).id;
      known.deviceId = (await post('/devices', { productId: known.productId, serial: 'SN-WALK-1' })).id;
      known.commandId = (await post(`/devices/${known.deviceId}/commands`, { name: 'reboot' })).id;
      known.releaseId = await createRelease(
        t,
        'walk-a',
        String(known.productId),
        Buffer.from('walk firmware'),
        {
          version: '1.0.0',
        },
      );
      known.sha256 = (await t.call('GET', `/v1/orgs/walk-a/releases/${known.releaseId}`)).body.sha256;
      // A token only there to be revoked: the walking tokens must keep working to the end.
      known.tokenId = (await post('/tokens', { name: 'to revoke', role: 'auditor' })).record.id;
      known.file = 'root.json';
      known.vulnerabilityId = 'CVE-2024-0001';
    });
    after(async () => {
      await t.close();
    });

    it('allows exactly the roles the declared permission names, isolates tenants, never 401s a token', async () => {
      const spec = t.app.http.swagger() as unknown as OpenApi;
      const operations = operationsOf(spec).sort((x, y) => order(x) - order(y));
      assert.ok(operations.length > 90, `${operations.length} operations`);
      const failures: string[] = [];
      let passedAuthorisation = 0;
      let succeeded = 0;
      let forbidden = 0;
      let isolated = 0;

      for (const op of operations) {
        const described = spec.paths[op.path]?.[op.method.toLowerCase()];
        const parameters = (described?.parameters ?? []).filter((p) => p.in === 'path');
        const stream = isStream(described);
        const url = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
          const parameter = parameters.find((p) => p.name === name);
          return (name !== 'org' && stream ? undefined : known[name]) ?? unknownId(parameter);
        });
        const body = described?.requestBody ? {} : undefined;
        const key = `${op.method} ${op.path}`;
        // Sign-in routes need no caller (people/people.api.test.ts covers them).
        if (op.requirement === 'public') continue;

        const anonymous = await t.call(op.method as 'GET', url, { token: null, body });
        if (anonymous.status !== 401) failures.push(`${key} without a token: ${anonymous.status}, not 401`);

        for (const caller of callers) {
          // A role that will be refused sends a body that does not even parse: 403 must come first.
          const denied = caller.org !== 'B' && !roleMay(caller.role, op);
          const response = await t.call(op.method as 'GET', url, {
            token: caller.token,
            body: body && denied ? '{"unparsable":' : body,
          });
          const { status } = response;
          const said = `${key} as ${caller.name}: ${status} ${response.raw.slice(0, 200)}`;
          if (status === 401) {
            failures.push(`${said} (a valid token refused as unauthenticated)`);
          } else if (caller.org === 'B' && op.path.includes('{org}')) {
            // Organisation A does not exist for B's tokens, whatever their role.
            if (status !== 404 || response.body?.code !== 'not-found')
              failures.push(`${said} (expected 404)`);
            else isolated++;
          } else if (roleMay(caller.role, op)) {
            if (status === 403 || status >= 500) failures.push(`${said} (the role holds ${op.requirement})`);
            else {
              passedAuthorisation++;
              if (status < 300) succeeded++;
            }
          } else if (status !== 403 || response.body?.code !== 'forbidden') {
            failures.push(`${said} (expected 403: the role lacks ${op.requirement})`);
          } else {
            forbidden++;
          }
        }
      }
      assert.deepEqual(failures, [], `${failures.length} calls broke the role table`);
      // The walk means something only if permitted calls get through and some succeed outright.
      assert.ok(
        forbidden > 100 && isolated > 100 && passedAuthorisation > 100 && succeeded > 50,
        'walk coverage',
      );
      console.log(
        `# role walk (${dialect}): ${operations.length} operations × ${callers.length} tokens: ` +
          `${passedAuthorisation} past authorisation (${succeeded} 2xx), ${forbidden} forbidden, ${isolated} isolated`,
      );
    });
  });
}
