import { EVENT_TYPES } from '../notifications/catalogue.js';

export const WEBHOOKS_DOC = 'docs/webhooks.md';
const START = '<!-- event-types:start -->';
const END = '<!-- event-types:end -->';

/**
 * The "Event types" section of docs/webhooks.md, made from the catalogue: a test compares the
 * document with it, so a new type or a changed schema cannot go undocumented.
 */
export function eventTypesSection(): string {
  return EVENT_TYPES.map(
    (t) => `### \`${t.type}\`\n\n${t.summary}\n\n\`\`\`json\n${JSON.stringify(t.schema, null, 2)}\n\`\`\`\n`,
  ).join('\n');
}

/** The document with its event-types section replaced by the catalogue's. */
export function renderWebhooksDoc(text: string): string {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${WEBHOOKS_DOC}: the ${START} … ${END} markers are missing`);
  return `${text.slice(0, start + START.length)}\n\n${eventTypesSection()}\n${text.slice(end)}`;
}
