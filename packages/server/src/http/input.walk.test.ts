import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';

/**
 * The input rules (http/input.ts) hold for every route, not only the ones someone remembered:
 * this walks every JSON request body schema of the OpenAPI document and puts, into every text
 * field, a NUL and an escape character, and into every numeric field 1e309 (issue 14). Each must be
 * refused with a 400 that names the field, before any route code or database sees it.
 */

type Schema = Record<string, unknown>;
interface Slot {
  path: (string | number)[];
  type: 'text' | 'number';
}

const MARK = '__slot__';

function resolve(schema: Schema, doc: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const name = ref.replace(/^#\/components\/schemas\//, '');
  const target = (doc.components as { schemas: Record<string, Schema> }).schemas[name];
  assert.ok(target, `unresolved ${ref}`);
  return target;
}

/** Every place in a schema where a string or a number can stand, with one path to it. */
function slots(input: Schema, doc: Schema, path: (string | number)[] = [], depth = 0): Slot[] {
  if (depth > 8) return [];
  const schema = resolve(input, doc);
  const found: Slot[] = [];
  for (const keyword of ['anyOf', 'oneOf', 'allOf'] as const)
    for (const branch of (schema[keyword] as Schema[] | undefined) ?? [])
      found.push(...slots(branch, doc, path, depth + 1));
  const types = [schema.type ?? []].flat() as string[];
  if (types.includes('string') || (schema.const !== undefined && typeof schema.const === 'string'))
    found.push({ path, type: 'text' });
  if (types.includes('number') || types.includes('integer')) found.push({ path, type: 'number' });
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [name, property] of Object.entries(properties))
    found.push(...slots(property, doc, [...path, name], depth + 1));
  for (const open of [
    schema.additionalProperties,
    ...Object.values((schema.patternProperties ?? {}) as Schema),
  ])
    if (open && typeof open === 'object')
      found.push(...slots(open as Schema, doc, [...path, 'someKey'], depth + 1));
  if (schema.items && typeof schema.items === 'object')
    found.push(...slots(schema.items as Schema, doc, [...path, 0], depth + 1));
  return found;
}

/** A JSON text with MARK at `path` replaced by a raw JSON fragment. */
function bodyWith(path: (string | number)[], fragment: string): string {
  const root: Record<string, unknown> = {};
  let node: Record<string | number, unknown> = root;
  path.forEach((segment, index) => {
    const next = path[index + 1];
    if (index === path.length - 1) node[segment] = MARK;
    else {
      node[segment] = typeof next === 'number' ? [] : {};
      node = node[segment] as Record<string | number, unknown>;
    }
  });
  const text = JSON.stringify(path.length === 0 ? MARK : root);
  return text.replace(JSON.stringify(MARK), fragment);
}

const pointer = (path: (string | number)[]) => (path.length === 0 ? '/' : path.map((p) => `/${p}`).join(''));

for (const dialect of testDialects) {
  describe(`input rules over every API body field (${dialect})`, () => {
    let t: TestApp;
    let deviceAuth: string;
    const bodies: { method: string; url: string; slots: Slot[] }[] = [];

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'P',
          name: 'P',
          hardwareRevision: 'A',
          supportEnds: '2035-01-01',
          capabilities: plugCapabilities,
        },
      });
      const device = await t.call('POST', '/v1/orgs/acme/devices', {
        body: { productId: product.body.id, serial: 'W1' },
      });
      const issued = await t.call('POST', `/v1/orgs/acme/devices/${device.body.id}/credentials`);
      deviceAuth = `Basic ${Buffer.from(`${device.body.id}:${issued.body.secret}`).toString('base64')}`;
      const doc = (await t.call('GET', '/openapi.json')).body as Schema;
      for (const [url, operations] of Object.entries(doc.paths as Record<string, Record<string, Schema>>))
        for (const [method, operation] of Object.entries(operations)) {
          const content = (
            operation.requestBody as { content?: Record<string, { schema: Schema }> } | undefined
          )?.content?.['application/json'];
          // A person's own routes refuse a service token before the body is read; their bodies go
          // through the same parser (people/account-safety.api.test.ts signs in to reach them).
          if (operation['x-brickless-permission'] === 'person') continue;
          // So do a device owner's routes (owners/owners.api.test.ts signs an owner in to reach them).
          if (operation['x-brickless-permission'] === 'owner') continue;
          // And the app API's (apps/oauth.api.test.ts reaches them with an access token).
          if (operation['x-brickless-permission'] === 'app') continue;
          if (content) bodies.push({ method: method.toUpperCase(), url, slots: slots(content.schema, doc) });
        }
    });
    after(() => t.close());

    const send = (method: string, url: string, payload: string) =>
      t.app.http.inject({
        method: method as 'POST',
        // The organisation is real: authorisation (http/authorize.ts) runs before the body is read,
        // so an unknown one would answer 404 before the input rules are reached.
        url: url.replace('{org}', 'acme').replace(/\{[^}]+\}/g, 'x'),
        headers: {
          'content-type': 'application/json',
          authorization: url.startsWith('/device/') ? deviceAuth : `Bearer ${t.rootToken}`,
        },
        payload,
      });

    it('finds the body schemas to walk', () => {
      assert.ok(bodies.length >= 30, `only ${bodies.length} JSON bodies in the OpenAPI document`);
      const total = bodies.reduce((n, b) => n + b.slots.length, 0);
      assert.ok(total >= 100, `only ${total} fields`);
      assert.ok(bodies.some((b) => b.url === '/device/v1/telemetry'));
    });

    it('refuses NUL and control characters in every text field with a 400 naming it', async () => {
      let checked = 0;
      for (const { method, url, slots: fields } of bodies)
        for (const slot of fields.filter((s) => s.type === 'text'))
          for (const bad of ['"a\\u0000b"', '"\\u001b[2J"']) {
            const response = await send(method, url, bodyWith(slot.path, bad));
            assert.equal(
              response.statusCode,
              400,
              `${method} ${url} ${pointer(slot.path)}: ${response.body}`,
            );
            assert.match(
              response.body,
              /control character U\+00(00|1B)/,
              `${method} ${url}: ${response.body}`,
            );
            assert.ok(response.body.includes(JSON.stringify(pointer(slot.path)).slice(1, -1)), response.body);
            checked++;
          }
      assert.ok(checked > 100);
    });

    it('refuses 1e309 in every numeric field with a 400 naming it', async () => {
      let checked = 0;
      for (const { method, url, slots: fields } of bodies)
        for (const slot of fields.filter((s) => s.type === 'number'))
          for (const bad of ['1e309', '-1e309']) {
            const response = await send(method, url, bodyWith(slot.path, bad));
            assert.equal(
              response.statusCode,
              400,
              `${method} ${url} ${pointer(slot.path)}: ${response.body}`,
            );
            assert.match(response.body, /not a finite number/, `${method} ${url}: ${response.body}`);
            checked++;
          }
      assert.ok(checked > 10, `only ${checked} numeric fields`);
    });

    it('keeps tab and newline in prose, refuses __proto__ keys, and checks the query string too', async () => {
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'Q',
          name: 'Q',
          hardwareRevision: 'A',
          supportEnds: '2035-01-01',
          capabilities: { commands: { reboot: { description: 'line one\n\tline two \u202e' } } },
        },
      });
      assert.equal(product.status, 201, product.raw);
      assert.equal(product.body.capabilities.commands.reboot.description, 'line one\n\tline two \u202e');
      const proto = await t.call('POST', '/v1/orgs', {
        body: '{"slug":"x","name":"x","__proto__":{"admin":true}}',
      });
      assert.equal(proto.status, 400, proto.raw);
      assert.match(proto.body.detail, /__proto__/);
      const query = await t.call('GET', '/v1/orgs/acme/devices?cursor=a%00b');
      assert.equal(query.status, 400, query.raw);
      assert.equal(query.body.errors[0].in, 'querystring');
      // A device sees the same rule with its own reply shape.
      const device = await t.app.http.inject({
        method: 'POST',
        url: '/device/v1/telemetry',
        headers: { 'content-type': 'application/json', authorization: deviceAuth },
        payload: '{"readings":[{"values":{"power":1e309}}]}',
      });
      assert.equal(device.statusCode, 400, device.body);
      assert.equal(JSON.parse(device.body).error.code, 'invalid-number');
    });
  });
}
