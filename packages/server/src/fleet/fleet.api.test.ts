import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';

for (const dialect of testDialects) {
  describe(`fleet registry over the API (${dialect})`, () => {
    let t: TestApp;
    let org: { id: string; slug: string; token: string };
    let brandA: string;
    let brandB: string;
    let productId: string;

    before(async () => {
      t = await testApp(dialect);
      org = await t.org('acme');
    });
    after(async () => {
      await t.close();
    });

    it('creates brands, with a security contact URI, and refuses a duplicate name with 409', async () => {
      const a = await t.call('POST', '/v1/orgs/acme/brands', {
        token: org.token,
        body: {
          name: 'Acme Home',
          responsibleParty: 'Acme GmbH',
          securityContact: 'mailto:psirt@acme.example',
        },
      });
      assert.equal(a.status, 201, a.raw);
      assert.match(a.headers.location as string, /\/v1\/orgs\/org_[0-9a-f]+\/brands\/brd_/);
      brandA = a.body.id;
      const b = await t.call('POST', `/v1/orgs/${org.id}/brands`, {
        token: org.token,
        body: {
          name: 'CheapCo',
          responsibleParty: 'Cheap Ltd',
          securityContact: 'https://cheap.example/security',
        },
      });
      assert.equal(b.status, 201);
      brandB = b.body.id;
      const dup = await t.call('POST', '/v1/orgs/acme/brands', {
        token: org.token,
        body: { name: 'Acme Home', responsibleParty: 'x', securityContact: 'mailto:x@y.z' },
      });
      assert.equal(dup.status, 409);
      assert.equal(dup.body.code, 'conflict');
      const bad = await t.call('POST', '/v1/orgs/acme/brands', {
        token: org.token,
        body: { name: 'X', responsibleParty: 'x', securityContact: 'call us' },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errors[0].field, '/securityContact');
    });

    it('creates a white-label product sold under two brands, with its capability model', async () => {
      const res = await t.call('POST', '/v1/orgs/acme/products', {
        token: org.token,
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart plug',
          hardwareRevision: 'B',
          placedOnMarket: '2026-01-15',
          supportEnds: '2032-01-15',
          brandIds: [brandA, brandB],
          capabilities: plugCapabilities,
        },
      });
      assert.equal(res.status, 201, res.raw);
      productId = res.body.id;
      assert.deepEqual(res.body.brandIds, [brandA, brandB].sort());
      assert.deepEqual(res.body.capabilities, plugCapabilities);
      assert.deepEqual(res.body.warnings, []);
      const again = await t.call('GET', `/v1/orgs/acme/products/${productId}`, { token: org.token });
      assert.deepEqual(again.body.capabilities, plugCapabilities);
    });

    it('warns when the support period is under five years (CRA Art. 13(8)) but stores the product', async () => {
      const res = await t.call('POST', '/v1/orgs/acme/products', {
        token: org.token,
        body: {
          modelNumber: 'BULB',
          name: 'Bulb',
          hardwareRevision: '1',
          placedOnMarket: '2026-01-01',
          supportEnds: '2028-06-30',
        },
      });
      assert.equal(res.status, 201);
      assert.equal(res.body.warnings[0].code, 'support-period-short');
      assert.match(res.body.warnings[0].message, /29 months/);
      assert.deepEqual(res.body.capabilities, { telemetry: {}, state: {}, commands: {}, events: {} });
      const fixed = await t.call('PATCH', `/v1/orgs/acme/products/${res.body.id}`, {
        token: org.token,
        body: { supportEnds: '2031-01-01' },
      });
      assert.deepEqual(fixed.body.warnings, []);
    });

    it('refuses invalid capability models and names the field', async () => {
      const cases: [unknown, string][] = [
        [{ telemetry: { temp: { schema: { type: 'object' } } } }, '/capabilities/telemetry/temp/schema/type'],
        [{ state: { 'bad name': { schema: { type: 'string' }, writable: true } } }, '/capabilities/state'],
        [{ commands: { go: { params: { type: 'strin' } } } }, '/capabilities/commands/go/params'],
        [
          { telemetry: { t: { schema: { type: 'number', minimun: 3 } } } },
          '/capabilities/telemetry/t/schema',
        ],
        [{ state: { on: { schema: { type: 'boolean' } } } }, '/capabilities/state/on/writable'],
      ];
      for (const [capabilities, field] of cases) {
        const res = await t.call('POST', '/v1/orgs/acme/products', {
          token: org.token,
          body: {
            modelNumber: 'BAD',
            name: 'Bad',
            hardwareRevision: '1',
            supportEnds: '2035-01-01',
            capabilities,
          },
        });
        assert.equal(res.status, 400, `${JSON.stringify(capabilities)} -> ${res.raw}`);
        assert.ok(
          res.body.errors.some((e: { field: string }) => e.field.startsWith(field)),
          `${field} not named in ${JSON.stringify(res.body.errors)}`,
        );
      }
      const list = await t.call('GET', '/v1/orgs/acme/products?modelNumber=BAD', { token: org.token });
      assert.equal(list.body.items.length, 0, 'nothing stored for a refused product');
    });

    it('registers devices, defaults the brand only when unambiguous, and checks it belongs to the product', async () => {
      const noBrand = await t.call('POST', '/v1/orgs/acme/devices', {
        token: org.token,
        body: { productId, serial: 'SN-0001', firmwareVersion: '1.0.0', tags: ['lab', 'eu'] },
      });
      assert.equal(noBrand.status, 201, noBrand.raw);
      assert.equal(noBrand.body.brandId, null, 'two brands: no guess');
      assert.deepEqual(noBrand.body.tags, ['eu', 'lab']);
      assert.equal(noBrand.body.status, 'active');
      assert.equal(noBrand.body.claimState, 'unclaimed');

      const other = await t.call('POST', '/v1/orgs/acme/brands', {
        token: org.token,
        body: { name: 'Other', responsibleParty: 'O', securityContact: 'mailto:o@o.example' },
      });
      const wrongBrand = await t.call('POST', '/v1/orgs/acme/devices', {
        token: org.token,
        body: { productId, serial: 'SN-0002', brandId: other.body.id },
      });
      assert.equal(wrongBrand.status, 400);
      assert.equal(wrongBrand.body.errors[0].field, '/brandId');

      const dup = await t.call('POST', '/v1/orgs/acme/devices', {
        token: org.token,
        body: { productId, serial: 'SN-0001' },
      });
      assert.equal(dup.status, 409);

      for (let i = 2; i <= 12; i++) {
        const res = await t.call('POST', '/v1/orgs/acme/devices', {
          token: org.token,
          body: {
            productId,
            serial: `SN-${String(i).padStart(4, '0')}`,
            brandId: i % 2 ? brandA : brandB,
            firmwareVersion: i < 6 ? '1.0.0' : '1.1.0',
            tags: i % 3 === 0 ? ['eu'] : ['us'],
          },
        });
        assert.equal(res.status, 201, res.raw);
      }
    });

    it('lists devices with cursor pagination that visits every device exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `/v1/orgs/acme/devices?limit=5${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await t.call('GET', url, { token: org.token });
        assert.equal(page.status, 200, page.raw);
        seen.push(...page.body.items.map((d: { serial: string }) => d.serial));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor);
      assert.equal(pages, 3);
      assert.equal(seen.length, 12);
      assert.equal(new Set(seen).size, 12);
      const bad = await t.call('GET', '/v1/orgs/acme/devices?cursor=garbage', { token: org.token });
      assert.equal(bad.status, 400);
    });

    it('filters by product, brand, firmware, status, tags and searches serials', async () => {
      const q = async (query: string) =>
        (await t.call('GET', `/v1/orgs/acme/devices?${query}`, { token: org.token })).body.items.map(
          (d: { serial: string }) => d.serial,
        );
      assert.equal((await q(`brandId=${brandA}`)).length, 5);
      assert.equal((await q('firmwareVersion=1.0.0')).length, 5);
      assert.deepEqual(await q('serial=SN-0007'), ['SN-0007']);
      assert.deepEqual(await q('q=SN-001'), ['SN-0010', 'SN-0011', 'SN-0012']);
      assert.deepEqual(await q('tag=eu&tag=lab'), ['SN-0001']);
      assert.equal((await q('tag=eu')).length, 5);
      assert.equal((await q(`productId=${productId}&status=active`)).length, 12);
      assert.deepEqual(await q('q=%25'), [], 'a LIKE wildcard is an ordinary character');
    });

    it('updates a device, replacing tags in one transaction, and records what changed', async () => {
      const list = await t.call('GET', '/v1/orgs/acme/devices?serial=SN-0001', { token: org.token });
      const id = list.body.items[0].id;
      const res = await t.call('PATCH', `/v1/orgs/acme/devices/${id}`, {
        token: org.token,
        body: { tags: ['field'], firmwareVersion: '2.0.0', status: 'disabled' },
      });
      assert.equal(res.status, 200, res.raw);
      assert.deepEqual(res.body.tags, ['field']);
      const audit = await t.call('GET', `/v1/orgs/acme/audit?targetId=${id}&action=device.update`, {
        token: org.token,
      });
      assert.deepEqual(audit.body.items[0].details.firmwareVersion, { from: '1.0.0', to: '2.0.0' });
      assert.deepEqual(audit.body.items[0].details.tags, { from: ['eu', 'lab'], to: ['field'] });
    });

    it('soft-deletes a device: hidden, still readable on request, serial reusable', async () => {
      const list = await t.call('GET', '/v1/orgs/acme/devices?serial=SN-0002', { token: org.token });
      const id = list.body.items[0].id;
      const del = await t.call('DELETE', `/v1/orgs/acme/devices/${id}`, { token: org.token });
      assert.equal(del.status, 200);
      assert.equal(del.body.status, 'decommissioned');
      assert.equal((await t.call('GET', `/v1/orgs/acme/devices/${id}`, { token: org.token })).status, 404);
      const kept = await t.call('GET', `/v1/orgs/acme/devices/${id}?includeDeleted=true`, {
        token: org.token,
      });
      assert.equal(kept.status, 200);
      assert.ok(kept.body.deletedAt);
      const reuse = await t.call('POST', '/v1/orgs/acme/devices', {
        token: org.token,
        body: { productId, serial: 'SN-0002' },
      });
      assert.equal(reuse.status, 201, reuse.raw);
    });

    it('refuses to delete a brand or product in use (409) and deletes unused ones', async () => {
      assert.equal(
        (await t.call('DELETE', `/v1/orgs/acme/brands/${brandA}`, { token: org.token })).status,
        409,
      );
      assert.equal(
        (await t.call('DELETE', `/v1/orgs/acme/products/${productId}`, { token: org.token })).status,
        409,
      );
      const removeBrand = await t.call('PATCH', `/v1/orgs/acme/products/${productId}`, {
        token: org.token,
        body: { brandIds: [brandB] },
      });
      assert.equal(removeBrand.status, 409, 'devices still sold under brand A');
      const unused = await t.call('POST', '/v1/orgs/acme/brands', {
        token: org.token,
        body: { name: 'Unused', responsibleParty: 'U', securityContact: 'mailto:u@u.example' },
      });
      assert.equal(
        (await t.call('DELETE', `/v1/orgs/acme/brands/${unused.body.id}`, { token: org.token })).status,
        204,
      );
    });

    it('audits every change in a chain that verifies', async () => {
      const report = await t.call('GET', '/v1/orgs/acme/audit/verify', { token: org.token });
      assert.equal(report.status, 200);
      assert.equal(report.body.ok, true, JSON.stringify(report.body.problems));
      assert.ok(report.body.entries >= 20);
      const actions = new Set(
        (await t.call('GET', '/v1/orgs/acme/audit?limit=1000', { token: org.token })).body.items.map(
          (e: { action: string }) => e.action,
        ),
      );
      for (const action of [
        'token.create',
        'brand.create',
        'brand.delete',
        'product.create',
        'product.update',
        'device.create',
        'device.update',
        'device.delete',
      ]) {
        assert.ok(actions.has(action), `${action} audited`);
      }
    });
  });
}
