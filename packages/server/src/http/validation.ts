import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS; its default export is the plugin function at run time.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

function makeAjv(coerce: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    // Unknown fields are an error, never silently dropped: a typo in a field name must not
    // look like success (Fastify's default removes them).
    removeAdditional: false,
    useDefaults: true,
    // Bodies are JSON and keep their types: "5" is not a number. Path and query parameters are
    // text by nature and are coerced.
    coerceTypes: coerce ? 'array' : false,
    allErrors: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

const forBody = makeAjv(false);
const forText = makeAjv(true);

export function schemaCompilerWith(shared: object[]): FastifySchemaCompiler<object> {
  for (const schema of shared) {
    forBody.addSchema(schema);
    forText.addSchema(schema);
  }
  return ({ schema, httpPart }) => (httpPart === 'body' ? forBody : forText).compile(schema);
}
