import { EVENT_TYPES } from '../notifications/catalogue.js';
import { MAX_ATTEMPTS } from './dispatcher.js';

const header = (name: string, description: string) => ({
  name,
  in: 'header',
  required: true,
  description,
  schema: { type: 'string' },
});

/**
 * The OpenAPI 3.1 `webhooks` object: one entry per event type of the catalogue, the request
 * brickless sends to a receiver (Standard Webhooks headers, the payload with the type's data
 * schema). Built from the catalogue, so the document cannot miss a type.
 */
export function openApiWebhooks(): Record<string, unknown> {
  const entries = EVENT_TYPES.map((t) => [
    t.type,
    {
      post: {
        operationId: `webhook:${t.type}`,
        tags: ['webhooks'],
        summary: t.summary,
        description:
          'Sent to every enabled webhook of the organisation subscribed to this type, signed by the Standard Webhooks ' +
          `scheme (docs/webhooks.md). A 2xx answer within 10 s is success; otherwise it is retried, ${MAX_ATTEMPTS} attempts in all.`,
        security: [],
        parameters: [
          header('webhook-id', 'the event id: the same on every retry and replay (drop duplicates by it)'),
          header('webhook-timestamp', 'unix seconds of this attempt'),
          header(
            'webhook-signature',
            'v1, and the base64 HMAC-SHA256 of id.timestamp.body under the whsec_ key',
          ),
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['type', 'timestamp', 'data'],
                additionalProperties: false,
                properties: {
                  type: { type: 'string', const: t.type },
                  timestamp: { type: 'string', format: 'date-time', description: 'when the event happened' },
                  data: t.schema,
                },
              },
            },
          },
        },
        responses: {
          '2XX': { description: 'received' },
          default: { description: 'not received: the delivery is retried' },
        },
      },
    },
  ]);
  return Object.fromEntries(entries);
}
