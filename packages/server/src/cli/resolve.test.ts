import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../config.js';
import type { DomainError } from '../errors.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { ApiError } from './client.js';
import type { CommandContext } from './context.js';
import { pick, resolveRef, slug } from './resolve.js';

describe('pick: one candidate by an exact key, else by its slug; none or several are refused', () => {
  const candidates = [
    { id: 'brd_1', keys: ['Acme Home'], label: 'Acme Home (brd_1)' },
    { id: 'brd_2', keys: ['Acme Pro'], label: 'Acme Pro (brd_2)' },
    { id: 'brd_3', keys: ['acme pro'], label: 'acme pro (brd_3)' },
  ];
  it('takes the exact key first, then a key that differs only in case or punctuation', () => {
    assert.equal(pick('brand', 'Acme Home', candidates), 'brd_1');
    assert.equal(pick('brand', 'acme-home', candidates), 'brd_1');
    assert.equal(pick('brand', 'Acme Pro', candidates), 'brd_2', 'exact wins over a second loose match');
    assert.equal(slug('Ächt Smart! Plug'), 'acht-smart-plug');
  });
  it('refuses an ambiguous key, listing the candidates with their ids', () => {
    assert.throws(
      () => pick('brand', 'ACME-PRO', candidates),
      (error: DomainError) =>
        error.code === 'validation-failed' &&
        error.message.includes('names 2 brands') &&
        error.message.includes('brd_2') &&
        error.message.includes('brd_3'),
    );
  });
  it('refuses an unknown key, listing what there is', () => {
    assert.throws(
      () => pick('brand', 'Beta', candidates),
      (error: DomainError) => error.code === 'not-found' && error.message.includes('Acme Home (brd_1)'),
    );
    assert.throws(
      () => pick('rollout', 'x', []),
      (error: DomainError) => error.message.includes('there are no rollouts yet'),
    );
  });
});

for (const dialect of testDialects) {
  describe(`resolveRef against the API (${dialect})`, () => {
    let t: TestApp;
    let ctx: CommandContext;
    const ids: Record<string, string> = {};

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      // The CLI's client, over the in-process API.
      const client = {
        mode: 'direct' as const,
        app: null,
        async request<T>(method: string, path: string, body?: unknown): Promise<T> {
          const res = await t.call(method as 'GET', path, body === undefined ? {} : { body });
          if (res.status >= 400) throw new ApiError(res.body);
          return res.body as T;
        },
        upload: () => Promise.reject(new Error('not used')),
        download: () => Promise.reject(new Error('not used')),
        close: async () => {},
      };
      ctx = { client, config: {} as Config, json: false, quiet: false, options: {} };
      const brand = await t.call('POST', '/v1/orgs/acme/brands', {
        body: { name: 'Acme Home', responsibleParty: 'Acme GmbH', securityContact: 'mailto:s@acme.test' },
      });
      ids.brand = brand.body.id;
      for (const revision of ['A', 'B']) {
        const product = await t.call('POST', '/v1/orgs/acme/products', {
          body: {
            modelNumber: 'PLUG-1',
            name: 'Smart plug',
            hardwareRevision: revision,
            supportEnds: '2032-01-01',
            capabilities: plugCapabilities,
          },
        });
        assert.equal(product.status, 201, product.raw);
        ids[`product${revision}`] = product.body.id;
      }
      for (const revision of ['A', 'B']) {
        const device = await t.call('POST', '/v1/orgs/acme/devices', {
          body: { productId: ids[`product${revision}`], serial: 'SN-1' },
        });
        assert.equal(device.status, 201, device.raw);
        ids[`device${revision}`] = device.body.id;
      }
    });
    after(async () => t.close());

    it('passes an id through and finds a brand by name or slug', async () => {
      assert.equal(await resolveRef(ctx, 'acme', 'brand', ids.brand as string), ids.brand);
      assert.equal(await resolveRef(ctx, 'acme', 'brand', 'Acme Home'), ids.brand);
      assert.equal(await resolveRef(ctx, 'acme', 'brand', 'acme-home'), ids.brand);
    });

    it('asks for the revision when two products share a model number', async () => {
      await assert.rejects(
        resolveRef(ctx, 'acme', 'product', 'PLUG-1'),
        (error: DomainError) =>
          error.code === 'validation-failed' &&
          error.message.includes('PLUG-1/A') &&
          error.message.includes(ids.productB as string),
      );
      assert.equal(await resolveRef(ctx, 'acme', 'product', 'PLUG-1/B'), ids.productB);
    });

    it('finds a device by serial, within a product when the serial repeats', async () => {
      await assert.rejects(resolveRef(ctx, 'acme', 'device', 'SN-1'), /names 2 devices/);
      assert.equal(await resolveRef(ctx, 'acme', 'device', 'SN-1', { productId: ids.productA }), ids.deviceA);
      await assert.rejects(
        resolveRef(ctx, 'acme', 'device', 'SN-404'),
        (error: DomainError) => error.code === 'not-found',
      );
    });

    it('says so when there is no release to call latest', async () => {
      await assert.rejects(
        resolveRef(ctx, 'acme', 'release', 'latest'),
        (error: DomainError) => error.code === 'not-found' && /no release/.test(error.message),
      );
    });
  });
}
