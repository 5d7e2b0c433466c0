import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify';

// ajv-formats is CommonJS; its default export is the plugin function at run time.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

function makeAjv(coerce: boolean, shared: object[]): Ajv2020 {
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
  for (const schema of shared) ajv.addSchema(schema);
  return ajv;
}

type Validator = ((data: unknown) => boolean) & { errors?: unknown };

/**
 * Compiles on first use; the wrapper mirrors `errors`, which Fastify reads after a failed call.
 * Compiling is synchronous, so concurrent first requests cannot interleave: the first call
 * compiles and stores the validator before any other request runs. A compile that throws is not
 * stored and throws again on the next request (a 500, never an unvalidated request).
 */
export function lazyValidator(compile: () => Validator): Validator {
  let compiled: Validator | undefined;
  const validate: Validator = (data) => {
    compiled ??= compile();
    const ok = compiled(data);
    validate.errors = compiled.errors;
    return ok;
  };
  return validate;
}

/**
 * One Ajv per kind (JSON bodies, coerced text) and set of shared schemas, built on first use.
 * Fastify builds a validator compiler for every encapsulated context (each `register`); they all
 * see the same shared schemas (http/server.ts adds them at the root only), so they can share one
 * Ajv pair instead of building (and compiling Ajv's meta-schema into) eight of them.
 */
function ajvPool(): (coerce: boolean, shared: object[]) => Ajv2020 {
  const pool = new Map<string, { shared: object[]; ajv: Ajv2020 }[]>();
  return (coerce, shared) => {
    const key = `${coerce}`;
    const entries = pool.get(key) ?? [];
    pool.set(key, entries);
    const same = entries.find(
      (entry) => entry.shared.length === shared.length && entry.shared.every((s, i) => s === shared[i]),
    );
    if (same) return same.ajv;
    const ajv = makeAjv(coerce, shared);
    entries.push({ shared, ajv });
    return ajv;
  };
}

/**
 * Fastify's compiler factories with our validation rules. With `lazy`, a route's schemas compile
 * on its first request instead of at start (issue 15: start to ready in a few seconds; compiling
 * every route's validators and serializers upfront was most of a start). The same schemas
 * validate every request either way; eager compilation (the default of `createApp`, so every test
 * app) is what catches a broken schema, and http/validation.test.ts compiles all of them.
 */
export function schemaControllerOptions(
  lazy: boolean,
): NonNullable<FastifyServerOptions['schemaController']> {
  const ajvFor = ajvPool();
  return {
    compilersFactory: {
      buildValidator: (externalSchemas: unknown) => {
        const shared = Object.values((externalSchemas ?? {}) as Record<string, object>);
        const compiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
          const compile = () => ajvFor(httpPart !== 'body', shared).compile(schema) as Validator;
          return (lazy ? lazyValidator(compile) : compile()) as ReturnType<FastifySchemaCompiler<object>>;
        };
        // Fastify's factory type is wider than the route compiler it calls; the shapes agree at run time.
        return compiler as never;
      },
      buildSerializer: (externalSchemas: unknown, serializerOptions: unknown) => {
        const factory = SerializerSelector()(externalSchemas as never, serializerOptions as never);
        return (route: Parameters<typeof factory>[0]) => {
          if (!lazy) return factory(route);
          // As above: synchronous, so the first response builds it and later ones reuse it.
          let serialize: ((data: unknown) => string) | undefined;
          return (data: unknown) => {
            serialize ??= factory(route);
            return serialize(data);
          };
        };
      },
    },
  };
}
