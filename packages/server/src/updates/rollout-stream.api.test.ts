import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { ROLLOUT_STREAM } from './rollout-stream.routes.js';

interface ServerEvent {
  event: string;
  data: string;
}

/** Reads server-sent events from a fetch response, one at a time (comments and `retry` skipped). */
function eventReader(response: Response) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next(timeoutMs = 5_000): Promise<ServerEvent | null> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
          }
          if (!fields.has('data')) continue;
          return { event: fields.get('event') ?? 'message', data: fields.get('data') ?? '' };
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no event in time');
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event in time')), left)),
        ]);
        if (chunk.done) return null;
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

for (const dialect of testDialects) {
  describe(`rollout progress stream: server-sent events on each change, tenants apart (${dialect})`, () => {
    let t: TestApp;
    let base: string;
    let orgId: string;
    let otherToken: string;
    let releaseId: string;
    let productId: string;

    const provisioned = async (count: number) => {
      const serials = Array.from({ length: count }, () => `SN-${Math.random().toString(36).slice(2, 12)}`);
      const res = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials, credential: 'secret', firmwareVersion: '1.0.0' },
      });
      assert.equal(res.status, 201, res.raw);
      const ids = (res.body.devices as { deviceId: string }[]).map((d) => d.deviceId);
      await t.app.services.store.db
        .updateTable('devices')
        .set({ online: 1 })
        .where('id', 'in', ids)
        .execute();
      return ids;
    };
    const rolloutFor = async (deviceIds: string[]) => {
      const res = await t.call('POST', '/v1/orgs/acme/rollouts', {
        body: { releaseId, selector: { deviceIds }, waves: [100] },
      });
      assert.equal(res.status, 201, res.raw);
      await t.app.services.rolloutEngine.tick();
      return res.body.id as string;
    };
    const open = (path: string, token: string | null = t.rootToken) =>
      fetch(`${base}${path}`, {
        headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });

    before(async () => {
      t = await testApp(dialect);
      orgId = (await t.org('acme')).id;
      otherToken = (await t.org('rival')).token;
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart plug',
          hardwareRevision: 'rev-b',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      assert.equal(product.status, 201, product.raw);
      productId = product.body.id;
      const keys = makerKeys();
      await initRepository(t, 'acme', keys);
      releaseId = await createRelease(t, 'acme', productId, Buffer.from('streamed image'), {
        version: '1.1.0',
      });
      assert.equal((await signTargets(t, 'acme', [keys.targets[0] as never])).published, true);
      await t.app.http.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(t.app.http.server.address() as AddressInfo).port}`;
    });
    after(async () => t.close());

    it('sends the progress at once and again when a device reports; ends when the rollout completes', async () => {
      const [device] = await provisioned(1);
      const rolloutId = await rolloutFor([device as string]);
      const response = await open(`/v1/orgs/acme/rollouts/${rolloutId}/stream`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const events = eventReader(response);
      const first = await events.next();
      assert.equal(first?.event, 'progress');
      const initial = JSON.parse(first?.data ?? '{}');
      assert.equal(initial.id, rolloutId);
      assert.deepEqual(initial.totals, { offered: 1 });

      // The device reports a step: the stream says so before the 2 s poll would.
      const reported = Date.now();
      await t.app.services.rolloutEngine.report(orgId, device as string, {
        rollout: rolloutId,
        step: 'downloading',
      });
      const downloading = JSON.parse((await events.next())?.data ?? '{}');
      assert.deepEqual(downloading.totals, { downloading: 1 });
      assert.ok(Date.now() - reported < ROLLOUT_STREAM.pollMs, 'the in-process event, not the poll');
      assert.deepEqual(downloading.progress[0].states, { downloading: 1 });

      await t.app.services.rolloutEngine.report(orgId, device as string, {
        rollout: rolloutId,
        step: 'succeeded',
        version: '1.1.0',
      });
      assert.deepEqual(JSON.parse((await events.next())?.data ?? '{}').totals, { succeeded: 1 });
      await t.app.services.rolloutEngine.tick();
      const done = await events.next();
      assert.equal(JSON.parse(done?.data ?? '{}').status, 'completed');
      assert.equal((await events.next())?.event, 'end');
      assert.equal(await events.next(), null, 'the stream closes after the end');
    });

    it('sends pause and resume made through the API (the poll catches changes outside the engine)', async () => {
      const rolloutId = await rolloutFor(await provisioned(2));
      const events = eventReader(await open(`/v1/orgs/acme/rollouts/${rolloutId}/stream`));
      assert.equal(JSON.parse((await events.next())?.data ?? '{}').status, 'running');
      assert.equal((await t.call('POST', `/v1/orgs/acme/rollouts/${rolloutId}/pause`)).status, 200);
      assert.equal(JSON.parse((await events.next())?.data ?? '{}').status, 'paused');
      await events.cancel();
    });

    it('refuses without a token, across tenants, and for an unknown rollout, before any stream opens', async () => {
      const rolloutId = await rolloutFor(await provisioned(1));
      const anonymous = await open(`/v1/orgs/acme/rollouts/${rolloutId}/stream`, null);
      assert.equal(anonymous.status, 401);
      const rival = await open(`/v1/orgs/acme/rollouts/${rolloutId}/stream`, otherToken);
      assert.equal(rival.status, 404, 'another organisation does not exist for this token');
      const rivalOwnOrg = await open(`/v1/orgs/rival/rollouts/${rolloutId}/stream`, otherToken);
      assert.equal(rivalOwnOrg.status, 404, "acme's rollout is not found in the rival's organisation");
      assert.match(rivalOwnOrg.headers.get('content-type') ?? '', /problem\+json/);
      const unknown = await open(`/v1/orgs/acme/rollouts/rol_${'0'.repeat(28)}/stream`);
      assert.equal(unknown.status, 404);
    });

    it(`caps open streams per organisation at ${ROLLOUT_STREAM.maxPerOrg}; closing one frees a place`, async () => {
      const rolloutId = await rolloutFor(await provisioned(1));
      const readers = [];
      for (let i = 0; i < ROLLOUT_STREAM.maxPerOrg; i++) {
        const response = await open(`/v1/orgs/acme/rollouts/${rolloutId}/stream`);
        assert.equal(response.status, 200);
        const reader = eventReader(response);
        await reader.next();
        readers.push(reader);
      }
      const refused = await open(`/v1/orgs/acme/rollouts/${rolloutId}/stream`);
      assert.equal(refused.status, 429);
      assert.equal((await refused.json()).code, 'rate-limited');
      await readers.pop()?.cancel();
      // The server sees the disconnect and frees the place.
      let again: Response | null = null;
      for (let attempt = 0; attempt < 50; attempt++) {
        again = await open(`/v1/orgs/acme/rollouts/${rolloutId}/stream`);
        if (again.status === 200) break;
        await again.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(again?.status, 200);
      await again?.body?.cancel();
      for (const reader of readers) await reader.cancel();
    });
  });
}
