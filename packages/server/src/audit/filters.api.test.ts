import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';

interface Entry {
  seq: number;
  at: string;
  actor: string;
  action: string;
}

/** The audit log's reader filters (issue 17: the console's audit page): actor, time, newest first. */
for (const dialect of testDialects) {
  describe(`audit log filters (${dialect})`, () => {
    let t: TestApp;
    let ops: string;

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      const made = await t.call('POST', '/v1/orgs/acme/tokens', { body: { name: 'ops', role: 'operator' } });
      assert.equal(made.status, 201, made.raw);
      ops = made.body.token;
      // Three products an hour apart, by the operator's token; one by the admin token.
      for (const [i, hour] of ['13', '14', '15'].entries()) {
        t.clock.set(`2026-03-01T${hour}:00:00.000Z`);
        const created = await t.call('POST', '/v1/orgs/acme/products', {
          token: ops,
          body: { name: `P${i}`, modelNumber: `M-${i}`, hardwareRevision: 'A', supportEnds: '2031-01-01' },
        });
        assert.equal(created.status, 201, created.raw);
      }
    });
    after(async () => {
      await t?.close();
    });

    const read = async (query: string) => {
      const res = await t.call('GET', `/v1/orgs/acme/audit?${query}`);
      assert.equal(res.status, 200, res.raw);
      return res.body as { items: Entry[]; nextAfterSeq: number | null; nextBeforeSeq: number | null };
    };

    it('filters by actor and by a time range, bounds in any offset', async () => {
      const all = await read('limit=1000');
      const opsActor = all.items.find((e) => e.action.startsWith('product'))?.actor;
      assert.ok(opsActor, all.items.map((e) => e.action).join(', '));
      const byOps = await read(`actor=${encodeURIComponent(opsActor)}`);
      assert.equal(byOps.items.length, 3);
      assert.ok(byOps.items.every((e) => e.actor === opsActor));

      const window = await read(
        `actor=${encodeURIComponent(opsActor)}&since=${encodeURIComponent('2026-03-01T15:00:00+01:00')}&until=2026-03-01T15:00:00Z`,
      );
      assert.deepEqual(
        window.items.map((e) => e.at),
        ['2026-03-01T14:00:00.000Z'],
        'since is inclusive, until exclusive',
      );
      assert.equal((await read('actor=token:tok_nobody')).items.length, 0);
    });

    it('pages newest first with beforeSeq', async () => {
      const all = await read('limit=1000');
      const first = await read('order=desc&limit=2');
      assert.deepEqual(
        first.items.map((e) => e.seq),
        all.items
          .map((e) => e.seq)
          .reverse()
          .slice(0, 2),
      );
      assert.equal(first.nextAfterSeq, null);
      assert.equal(first.nextBeforeSeq, first.items[1]?.seq);
      const second = await read(`order=desc&limit=2&beforeSeq=${first.nextBeforeSeq}`);
      assert.deepEqual(
        second.items.map((e) => e.seq),
        all.items
          .map((e) => e.seq)
          .reverse()
          .slice(2, 4),
      );
      const ascending = await read('limit=2');
      assert.equal(ascending.nextBeforeSeq, null);
      assert.equal(ascending.nextAfterSeq, ascending.items[1]?.seq);
    });

    it('refuses a range that ends before it starts, and a malformed instant', async () => {
      const backwards = await t.call(
        'GET',
        '/v1/orgs/acme/audit?since=2026-03-01T15:00:00Z&until=2026-03-01T14:00:00Z',
      );
      assert.equal(backwards.status, 400, backwards.raw);
      assert.match(backwards.body.detail, /until: must be after since/);
      const malformed = await t.call('GET', '/v1/orgs/acme/audit?since=yesterday');
      assert.equal(malformed.status, 400);
      const unknown = await t.call('GET', '/v1/orgs/acme/audit?order=sideways');
      assert.equal(unknown.status, 400);
    });

    it('keeps the filters on the platform log and to auditors', async () => {
      const platform = await t.call('GET', '/v1/platform/audit?order=desc&limit=1');
      assert.equal(platform.status, 200, platform.raw);
      assert.equal(platform.body.items.length, 1);
      assert.equal(platform.body.items[0].action.length > 0, true);
      const other = await t.call('GET', '/v1/orgs/acme/audit?order=desc', { token: ops });
      assert.equal(other.status, 403, 'an operator does not read the audit log');
    });
  });
}
