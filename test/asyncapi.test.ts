import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Parser } from '@asyncapi/parser';
import {
  deviceTopic,
  eventBatchSchema,
  telemetryBatchSchema,
  updateStatusSchema,
} from '../packages/protocol/src/index.js';
import { root } from './support/cli.js';

describe('docs/asyncapi.yaml', () => {
  const text = readFileSync(join(root, 'docs', 'asyncapi.yaml'), 'utf8');

  it('is a valid AsyncAPI 3.0 document (@asyncapi/parser)', async () => {
    const { document, diagnostics } = await new Parser().parse(text);
    const errors = diagnostics.filter((d) => d.severity === 0);
    assert.deepEqual(
      errors.map((d) => `${d.path.join('.')}: ${d.message}`),
      [],
    );
    assert.ok(document);
    assert.equal(document.version(), '3.0.0');
  });

  it('names the same topics as the protocol package', async () => {
    const { document } = await new Parser().parse(text);
    assert.ok(document);
    const addresses = document
      .channels()
      .all()
      .map((c) => c.address());
    for (const channel of [
      'telemetry',
      'state/reported',
      'state/delta',
      'commands/request',
      'commands/result',
      'errors',
      'events',
      'presence',
      'updates/offer',
      'updates/status',
    ] as const) {
      assert.ok(addresses.includes(deviceTopic('{deviceId}', channel)), `${channel} in asyncapi.yaml`);
    }
  });

  for (const [name, protocolSchema] of [
    ['telemetryBatch', telemetryBatchSchema],
    ['eventBatch', eventBatchSchema],
    ['updateStatus', updateStatusSchema],
  ] as const) {
    it(`carries the ${name} schema the server validates with`, async () => {
      const { document } = await new Parser().parse(text);
      const message = document?.components().messages().get(name);
      const payload = message?.payload()?.json() as Record<string, unknown>;
      const { $id: _id, ...schema } = protocolSchema as Record<string, unknown>;
      assert.deepEqual(
        JSON.parse(
          JSON.stringify(payload, (k, v) =>
            k.startsWith('x-parser') || k === 'description' ? undefined : v,
          ),
        ),
        schema,
      );
    });
  }
});
