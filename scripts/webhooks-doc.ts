// Writes the "Event types" section of docs/webhooks.md from the catalogue of event types
// (packages/server/src/notifications/catalogue.ts). Run: npm run webhooks-doc.
// packages/server/src/webhooks/docs.test.ts fails when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderWebhooksDoc, WEBHOOKS_DOC } from '../packages/server/src/webhooks/docs.js';

const file = join(import.meta.dirname, '..', WEBHOOKS_DOC);
writeFileSync(file, renderWebhooksDoc(readFileSync(file, 'utf8')));
console.log(`wrote ${WEBHOOKS_DOC}`);
