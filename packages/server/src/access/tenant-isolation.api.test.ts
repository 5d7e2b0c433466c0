import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Metadata, MetadataKind, type Targets } from '@tufjs/models';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { signerFor } from '../updates/keys.js';
import { buildRoot } from '../updates/metadata.js';

/**
 * Walks every route of the OpenAPI document with organisation A's admin token against
 * organisation B's objects, and proves A can neither read nor change them.
 */
for (const dialect of testDialects) {
  describe(`tenant isolation over every route (${dialect})`, () => {
    let t: TestApp;
    let a: { id: string; slug: string; token: string };
    let b: { id: string; slug: string; token: string };
    const bIds: Record<string, string> = {};
    const aIds: Record<string, string> = {};

    const seed = async (org: { slug: string; token: string }, ids: Record<string, string>) => {
      const brand = await t.call('POST', `/v1/orgs/${org.slug}/brands`, {
        token: org.token,
        body: { name: `${org.slug} brand`, responsibleParty: 'P', securityContact: 'mailto:s@x.example' },
      });
      const product = await t.call('POST', `/v1/orgs/${org.slug}/products`, {
        token: org.token,
        body: {
          modelNumber: 'M1',
          name: 'P',
          hardwareRevision: 'A',
          supportEnds: '2035-01-01',
          brandIds: [brand.body.id],
          capabilities: plugCapabilities,
        },
      });
      const device = await t.call('POST', `/v1/orgs/${org.slug}/devices`, {
        token: org.token,
        body: { productId: product.body.id, serial: 'S1' },
      });
      const token = await t.call('POST', `/v1/orgs/${org.slug}/tokens`, {
        token: org.token,
        body: { name: 'x', role: 'auditor' },
      });
      ids.brandId = brand.body.id;
      ids.productId = product.body.id;
      ids.deviceId = device.body.id;
      ids.tokenId = token.body.record.id;
      const command = await t.call('POST', `/v1/orgs/${org.slug}/devices/${device.body.id}/commands`, {
        token: org.token,
        body: { name: 'reboot' },
      });
      ids.commandId = command.body.id;

      // Signed updates: a repository, a published release and a rollout, an open targets draft,
      // and a valid next root, so each route would succeed if isolation failed.
      const keys = makerKeys();
      await initRepository(t, org.slug, keys);
      ids.releaseId = await createRelease(t, org.slug, product.body.id, Buffer.from(`${org.slug} image`), {
        version: '1.0.0',
      });
      await signTargets(t, org.slug, [keys.targets[0] as never]);
      const release = await t.call('GET', `/v1/orgs/${org.slug}/releases/${ids.releaseId}`);
      ids.sha256 = release.body.sha256;
      ids.file = '1.root.json';
      const rollout = await t.call('POST', `/v1/orgs/${org.slug}/rollouts`, {
        token: org.token,
        body: { releaseId: ids.releaseId },
      });
      ids.rolloutId = rollout.body.id;
      await createRelease(t, org.slug, product.body.id, Buffer.from(`${org.slug} image 2`), {
        version: '1.0.1',
      });
      const draft = await t.call('POST', `/v1/orgs/${org.slug}/updates/targets/draft`, { body: {} });
      const metadata = Metadata.fromJSON(MetadataKind.Targets, draft.body.metadata) as Metadata<Targets>;
      metadata.sign(signerFor(keys.targets[0] as never), false);
      const signature = Object.values(metadata.signatures)[0] as { keyID: string; sig: string };
      extra[org.slug] = {
        signatures: {
          version: draft.body.version,
          signatures: [{ keyid: signature.keyID, sig: signature.sig }],
        },
      };
      const online = (await t.call('GET', `/v1/orgs/${org.slug}/updates/online-keys`)).body;
      const next = buildRoot({
        version: 2,
        expires: new Date(Date.now() + 86_400_000 * 30),
        rootKeys: keys.root,
        rootThreshold: 2,
        targetsKeys: keys.targets,
        targetsThreshold: 1,
        escrowKeys: [],
        snapshotKey: online.snapshot,
        timestampKey: online.timestamp,
      });
      for (const key of keys.root) next.sign(signerFor(key), true);
      (extra[org.slug] as Record<string, unknown>).root = next.toJSON();

      // Vulnerability handling: an SBOM that matches a record, a report case, an advisory and a
      // disclosure report, so each route would succeed if isolation failed.
      const sbom = await t.call('PUT', `/v1/orgs/${org.slug}/releases/${ids.releaseId}/sbom`, {
        token: org.token,
        body: tinySbom,
      });
      assert.equal(sbom.status, 201, sbom.raw);
      ids.vulnerabilityId = 'CVE-2020-8203';
      const kase = await t.call('POST', `/v1/orgs/${org.slug}/report-cases`, {
        token: org.token,
        body: { productId: product.body.id, title: 'incident' },
      });
      ids.caseId = kase.body.id;
      const advisory = await t.call('POST', `/v1/orgs/${org.slug}/advisories`, {
        token: org.token,
        body: { vulnerabilities: ['CVE-2020-8203'] },
      });
      assert.equal(advisory.status, 201, advisory.raw);
      ids.advisoryId = advisory.body.id;
      await t.call('POST', `/public/orgs/${org.slug}/report`, {
        token: null,
        body: { title: 'report', description: 'd' },
      });
      ids.disclosureId = (
        await t.call('GET', `/v1/orgs/${org.slug}/disclosures`, { token: org.token })
      ).body.items[0].id;

      // People: a member (by e-mail) and an invitation not used yet.
      const member = await t.call('POST', `/v1/orgs/${org.slug}/invitations`, {
        token: org.token,
        body: { email: `member@${org.slug}.example`, roles: ['operator', 'admin'] },
      });
      const accepted = await t.call('POST', `/v1/auth/invitations/${member.body.token}/accept`, {
        token: null,
        body: { password: 'nobody guesses this long phrase' },
      });
      assert.equal(accepted.status, 200, accepted.raw);
      ids.person = `member@${org.slug}.example`;
      const pending = await t.call('POST', `/v1/orgs/${org.slug}/invitations`, {
        token: org.token,
        body: { email: `pending@${org.slug}.example`, roles: ['auditor'] },
      });
      ids.invitationId = pending.body.invitation.id;
      // A webhook (to a loopback receiver nobody listens on) and one delivery of its test event.
      const hook = await t.call('POST', `/v1/orgs/${org.slug}/webhooks`, {
        token: org.token,
        body: { url: `http://127.0.0.1:9/${org.slug}`, events: ['rollout.halted'] },
      });
      assert.equal(hook.status, 201, hook.raw);
      ids.webhookId = hook.body.webhook?.id ?? hook.body.id;
      const tested = await t.call('POST', `/v1/orgs/${org.slug}/webhooks/${ids.webhookId}/test`, {
        token: org.token,
      });
      assert.ok(tested.status < 300, tested.raw);
      const deliveries = await t.call('GET', `/v1/orgs/${org.slug}/webhooks/${ids.webhookId}/deliveries`, {
        token: org.token,
      });
      ids.deliveryId = deliveries.body.items[0]?.id;
      assert.ok(ids.deliveryId, deliveries.raw);
      // An app (OAuth client) of the app API.
      const oauthApp = await t.call('POST', `/v1/orgs/${org.slug}/apps`, {
        token: org.token,
        body: {
          name: `App of ${org.slug}`,
          clientType: 'confidential',
          redirectUris: [`https://${org.slug}.example/callback`],
          scopes: ['devices:read'],
        },
      });
      assert.equal(oauthApp.status, 201, oauthApp.raw);
      ids.appId = oauthApp.body.app.id;
      ids.handle = 'ses_0000000000000000';
      ids.id = 'pky_0000000000000000000000000000';
    };
    const tinySbom = {
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      components: [{ type: 'library', name: 'lodash', version: '2.4.2', purl: 'pkg:npm/lodash@2.4.2' }],
    };
    const extra: Record<string, Record<string, unknown>> = {};

    /** A body that would succeed if isolation failed; every route with a body must have one here. */
    const bodies = (ids: Record<string, string>): Record<string, unknown> => ({
      'POST /v1/orgs': { slug: 'intruder', name: 'Intruder' },
      'PATCH /v1/orgs/{org}': { name: 'renamed by A' },
      'POST /v1/orgs/{org}/brands': {
        name: 'planted',
        responsibleParty: 'A',
        securityContact: 'mailto:a@a.example',
      },
      'PATCH /v1/orgs/{org}/brands/{brandId}': { name: 'changed by A' },
      'POST /v1/orgs/{org}/products': {
        modelNumber: 'X',
        name: 'X',
        hardwareRevision: 'X',
        supportEnds: '2035-01-01',
      },
      'PATCH /v1/orgs/{org}/products/{productId}': { name: 'changed by A' },
      'POST /v1/orgs/{org}/devices': { productId: ids.productId, serial: 'PLANTED' },
      'PATCH /v1/orgs/{org}/devices/{deviceId}': { firmwareVersion: '6.6.6' },
      'POST /v1/orgs/{org}/tokens': { name: 'backdoor', role: 'admin' },
      'POST /v1/orgs/{org}/devices/{deviceId}/credentials': {},
      'POST /v1/orgs/{org}/devices/{deviceId}/claim-code': {},
      'POST /v1/orgs/{org}/devices/{deviceId}/commands': { name: 'reboot' },
      'PATCH /v1/orgs/{org}/devices/{deviceId}/state': { version: 0, desired: { on: true } },
      'POST /v1/orgs/{org}/provisioning': { productId: ids.productId, serials: ['P-1', 'P-2'] },
      'POST /v1/platform/tokens': { name: 'backdoor', role: 'platform-admin' },
      'PUT /v1/orgs/{org}/updates/root': extra['org-b']?.root,
      'POST /v1/orgs/{org}/updates/targets/draft': {},
      'POST /v1/orgs/{org}/updates/online-keys/rotate': {},
      'POST /v1/orgs/{org}/evidence/key/rotate': {},
      'POST /v1/orgs/{org}/webhooks': { url: 'http://127.0.0.1:9/planted', events: ['rollout.halted'] },
      'PATCH /v1/orgs/{org}/webhooks/{webhookId}': { url: 'http://127.0.0.1:9/changed-by-a' },
      'POST /v1/orgs/{org}/webhooks/{webhookId}/rotate-secret': {},
      'POST /v1/orgs/{org}/webhooks/{webhookId}/test': {},
      'POST /v1/orgs/{org}/webhook-deliveries/{deliveryId}/replay': {},
      'POST /v1/orgs/{org}/updates/targets/signatures': extra['org-b']?.signatures,
      'POST /v1/orgs/{org}/artifacts': {},
      'POST /v1/orgs/{org}/releases': {
        productId: ids.productId,
        version: '9.9.9',
        kind: 'feature',
        securityVersion: 1,
        filename: 'planted.bin',
        sha256: ids.sha256,
      },
      'POST /v1/orgs/{org}/rollouts': { releaseId: ids.releaseId },
      'POST /v1/orgs/{org}/rollouts/{rolloutId}/pause': {},
      'POST /v1/orgs/{org}/rollouts/{rolloutId}/resume': {},
      'POST /v1/orgs/{org}/rollouts/{rolloutId}/cancel': {},
      'POST /v1/orgs/{org}/rollouts/{rolloutId}/complete': {},
      'PUT /v1/orgs/{org}/security-contact': { securityContact: 'mailto:a@a.example', securityPolicy: null },
      'PUT /v1/orgs/{org}/releases/{releaseId}/sbom': tinySbom,
      'POST /v1/platform/vulnerabilities/import': { documents: [] },
      'POST /v1/platform/vulnerabilities/sync': {},
      'POST /v1/platform/vulnerabilities/rematch': {},
      'POST /v1/orgs/{org}/vulnerabilities/{vulnerabilityId}/decisions': {
        productId: ids.productId,
        status: 'affected',
      },
      'POST /v1/orgs/{org}/vulnerabilities/{vulnerabilityId}/exploited': {},
      'POST /v1/orgs/{org}/vulnerabilities/{vulnerabilityId}/remediate': { releaseId: ids.releaseId },
      'POST /v1/orgs/{org}/report-cases': { productId: ids.productId, title: 'planted' },
      'PATCH /v1/orgs/{org}/report-cases/{caseId}': { status: 'closed' },
      'POST /v1/orgs/{org}/report-cases/{caseId}/submissions': { stage: 'early-warning' },
      'POST /v1/orgs/{org}/advisories': { vulnerabilities: ['CVE-2020-8203'] },
      'POST /v1/orgs/{org}/advisories/{advisoryId}/publish': {},
      'POST /v1/orgs/{org}/endpoint-records': { signed: {}, signatures: [] },
      'POST /v1/orgs/{org}/products/{productId}/sunset': { record: {}, message: 'planted' },
      'PATCH /v1/orgs/{org}/disclosures/{disclosureId}': { status: 'closed' },
      'PUT /v1/orgs/{org}/people/{person}/roles': { roles: ['auditor'] },
      'POST /v1/orgs/{org}/invitations': { email: 'planted@a.example', roles: ['admin'] },
      'PUT /v1/orgs/{org}/sign-in-policy': { require: 'passkey' },
      'PUT /v1/orgs/{org}/sso': {
        issuer: 'https://idp.a.example',
        clientId: 'planted',
        clientSecret: 'planted',
        groupRoles: { everyone: ['admin'] },
      },
      'POST /v1/platform/invitations': { email: 'planted@a.example' },
      'POST /v1/orgs/{org}/disclosures/{disclosureId}/messages': { message: 'planted by A' },
      'POST /v1/orgs/{org}/apps': {
        name: 'planted',
        clientType: 'public',
        redirectUris: ['https://a.example/callback'],
        scopes: ['devices:read'],
      },
      'PATCH /v1/orgs/{org}/apps/{appId}': { name: 'changed by A' },
      'POST /v1/orgs/{org}/apps/{appId}/rotate-secret': {},
    });

    /** Required query parameters, so that the request would succeed if isolation failed. */
    const queries: Record<string, string> = {
      'GET /v1/orgs/{org}/devices/{deviceId}/telemetry': '?field=power',
      'GET /v1/orgs/{org}/report-cases/{caseId}/draft': '?stage=notification',
    };

    const snapshotB = async () => {
      const parts = await Promise.all(
        [
          '',
          '/brands',
          '/products',
          '/devices?includeDeleted=true',
          '/tokens',
          '/audit/verify',
          '/updates',
          '/updates/targets/draft',
          '/releases',
          '/rollouts',
          '/report-cases',
          '/advisories',
          '/disclosures',
          '/people',
          '/invitations',
          '/sign-in-policy',
          '/webhooks',
          '/apps',
          '/vulnerabilities?status=all',
          '/vex',
        ].map(async (p) => (await t.call('GET', `/v1/orgs/${b.slug}${p}`)).raw),
      );
      return parts.join('\n').replace(/"lastUsedAt":"[^"]*"/g, '');
    };

    before(async () => {
      t = await testApp(dialect, { webhooksAllowPrivateTargets: true });
      a = await t.org('org-a');
      b = await t.org('org-b');
      const lodash = JSON.parse(
        readFileSync(new URL('../../../../test/data/osv/GHSA-p6mc-m468-83gw.json', import.meta.url), 'utf8'),
      );
      await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: { documents: [{ name: 'lodash', content: lodash }] },
      });
      await seed(a, aIds);
      await seed(b, bIds);
    });
    after(async () => {
      await t.close();
    });

    it("organisation A's admin can neither read nor change organisation B through any route", async () => {
      const spec = (await t.call('GET', '/openapi.json', { token: null })).body;
      const before = await snapshotB();
      const checked: string[] = [];
      for (const [path, operations] of Object.entries(
        spec.paths as Record<string, Record<string, unknown>>,
      )) {
        // Sign-in routes are public (people/people.api.test.ts); a person's own routes refuse tokens.
        // Device owners' routes refuse staff tokens (403, the role walk checks it) and reach only the
        // owner's own devices (owners/owners.api.test.ts keeps two owners apart). The app API takes
        // only OAuth access tokens, bound to one app's organisation (apps/oauth.api.test.ts).
        if (
          !path.startsWith('/v1/') ||
          path.startsWith('/v1/auth/') ||
          path.startsWith('/v1/owner/') ||
          path.startsWith('/v1/app/')
        )
          continue;
        for (const method of Object.keys(operations)) {
          const key = `${method.toUpperCase()} ${path}`;
          const own = path.startsWith('/v1/me');
          const hasBody = ['POST', 'PATCH', 'PUT'].includes(method.toUpperCase()) && !own;
          const body = bodies(bIds)[key];
          if (hasBody) assert.ok(body !== undefined, `add a sample body for ${key} to this test`);

          for (const orgRef of [b.slug, b.id]) {
            const url =
              path.replace('{org}', orgRef).replace(/\{(\w+)\}/g, (_m, name: string) => {
                assert.ok(bIds[name], `no object of B for path parameter ${name} in ${key}`);
                return bIds[name] as string;
              }) + (queries[key] ?? '');
            const res = await t.call(method.toUpperCase() as 'GET', url, {
              token: a.token,
              ...(hasBody ? { body } : {}),
            });
            if (own) {
              assert.ok(
                [400, 403].includes(res.status),
                `${key}: a service token has no account, got ${res.status}`,
              );
            } else if (path.includes('{org}')) {
              assert.equal(res.status, 404, `${key} as ${url}: expected 404, got ${res.status} ${res.raw}`);
            } else if (path.startsWith('/v1/platform') || key === 'POST /v1/orgs') {
              assert.equal(res.status, 403, `${key}: expected 403, got ${res.status}`);
            } else {
              assert.equal(res.status, 200, `${key}: ${res.raw}`);
              assert.doesNotMatch(res.raw, new RegExp(`${b.id}|org-b`), `${key} leaks organisation B`);
            }
          }
          // A's own organisation in the path, B's object ids: still nothing of B.
          if (
            path.includes('{org}') &&
            /\{(brandId|productId|deviceId|tokenId|commandId|releaseId|rolloutId|sha256|caseId|advisoryId|disclosureId|person|invitationId)\}/.test(
              path,
            )
          ) {
            const url = path
              .replace('{org}', a.slug)
              .replace(/\{(\w+)\}/g, (_m, name: string) => bIds[name] as string)
              .concat(queries[key] ?? '');
            const res = await t.call(method.toUpperCase() as 'GET', url, {
              token: a.token,
              ...(hasBody ? { body } : {}),
            });
            assert.equal(res.status, 404, `${key} with B's id inside A: got ${res.status} ${res.raw}`);
          }
          checked.push(key);
        }
      }
      // B's product referenced from A's organisation is refused as a reference, not followed.
      const crossRef = await t.call('POST', `/v1/orgs/${a.slug}/devices`, {
        token: a.token,
        body: { productId: bIds.productId, serial: 'X' },
      });
      assert.equal(crossRef.status, 400);
      const crossBrand = await t.call('POST', `/v1/orgs/${a.slug}/products`, {
        token: a.token,
        body: {
          modelNumber: 'Y',
          name: 'Y',
          hardwareRevision: 'Y',
          supportEnds: '2035-01-01',
          brandIds: [bIds.brandId],
        },
      });
      assert.equal(crossBrand.status, 400);

      assert.ok(checked.length >= 25, `walked ${checked.length} operations`);
      assert.equal(await snapshotB(), before, "organisation B's data is unchanged");
    });

    it("a list only ever shows the caller's own organisation", async () => {
      const orgs = await t.call('GET', '/v1/orgs', { token: a.token });
      assert.deepEqual(
        orgs.body.items.map((o: { slug: string }) => o.slug),
        ['org-a'],
      );
      const devices = await t.call('GET', `/v1/orgs/${a.slug}/devices`, { token: a.token });
      assert.deepEqual(
        devices.body.items.map((d: { id: string }) => d.id),
        [aIds.deviceId],
      );
    });
  });
}
