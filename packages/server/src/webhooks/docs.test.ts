import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES } from '../notifications/catalogue.js';
import { renderWebhooksDoc, WEBHOOKS_DOC } from './docs.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..');

describe('docs/webhooks.md', () => {
  it('lists every event type of the catalogue with its data schema, as npm run webhooks-doc writes it', () => {
    const text = readFileSync(join(root, WEBHOOKS_DOC), 'utf8');
    assert.equal(text, renderWebhooksDoc(text), `${WEBHOOKS_DOC} is stale: run npm run webhooks-doc`);
    for (const t of EVENT_TYPES) assert.ok(text.includes(`### \`${t.type}\``), t.type);
  });
});
