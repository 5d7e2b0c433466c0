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

/** Compiles on first use; the wrapper mirrors `errors`, which Fastify reads after a failed call. */
function lazyValidator(compile: () => Validator): Validator {
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
 * Fastify's compiler factories with our validation rules. With `lazy`, schemas compile on a
 * route's first request instead of at start: the in-process CLI runs one route per invocation and
 * would otherwise spend most of its time compiling the other forty. The server compiles eagerly,
 * so a broken schema stops it at start.
 */
export function schemaControllerOptions(
  lazy: boolean,
): NonNullable<FastifyServerOptions['schemaController']> {
  return {
    compilersFactory: {
      buildValidator: (externalSchemas: unknown) => {
        const shared = Object.values((externalSchemas ?? {}) as Record<string, object>);
        const forBody = makeAjv(false, shared);
        const forText = makeAjv(true, shared);
        const compiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
          const ajv = httpPart === 'body' ? forBody : forText;
          return (
            lazy ? lazyValidator(() => ajv.compile(schema) as Validator) : ajv.compile(schema)
          ) as ReturnType<FastifySchemaCompiler<object>>;
        };
        // Fastify's factory type is wider than the route compiler it calls; the shapes agree at run time.
        return compiler as never;
      },
      buildSerializer: (externalSchemas: unknown, serializerOptions: unknown) => {
        const factory = SerializerSelector()(externalSchemas as never, serializerOptions as never);
        return (route: Parameters<typeof factory>[0]) => {
          if (!lazy) return factory(route);
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
