import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { parse } from 'yaml';
import { notFound } from '../errors.js';

/** The device protocol's AsyncAPI document (docs/asyncapi.yaml), from src/ and dist/ alike. */
export const ASYNCAPI_FILE = fileURLToPath(new URL('../../../../docs/asyncapi.yaml', import.meta.url));

/**
 * The AsyncAPI document of the device protocol as JSON at `/asyncapi.json`, next to
 * `/openapi.json`: public like it, and what the console's API docs page renders. Parsed once at
 * start (decision 0020); an install without the docs folder answers 404 rather than failing to start.
 */
export function asyncApiRoutes(app: FastifyInstance, file = ASYNCAPI_FILE): void {
  const document: unknown = existsSync(file) ? parse(readFileSync(file, 'utf8')) : null;
  const schema = {
    tags: ['operations'],
    summary: 'The device protocol (MQTT) as an AsyncAPI 3 document: docs/asyncapi.yaml as JSON',
    response: { 200: Type.Object({}, { additionalProperties: true }) },
  };
  app.get('/asyncapi.json', { schema }, async () => {
    if (!document) throw notFound('AsyncAPI document', 'docs/asyncapi.yaml');
    return document;
  });
}
