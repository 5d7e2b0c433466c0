import { CAPABILITY_NAME_PATTERN } from '@brickless/protocol';
import { type TSchema, Type } from 'typebox';

/** Names people type: any characters but control characters, trimmed length 1..200. */
export const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
export const Slug = Type.String({
  pattern: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$',
  description: 'lower-case letters, digits and inner hyphens; 1 to 63 characters',
});
export const Id = (prefix: string) => Type.String({ pattern: `^${prefix}_[0-9a-f]{28}$` });
export const IsoDate = Type.String({
  format: 'date',
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'YYYY-MM-DD',
});
export const IsoDateTime = Type.String({ format: 'date-time' });
export const Serial = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'printable ASCII, no spaces',
});
export const Tag = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:/=-]{0,63}$' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({ field: Type.String(), in: Type.Optional(Type.String()), message: Type.String() }),
      ),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);

export const problemResponses = {
  400: Type.Ref('Problem'),
  401: Type.Ref('Problem'),
  403: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
  409: Type.Ref('Problem'),
};

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};

export const PageOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

export const Warning = Type.Object({ code: Type.String(), message: Type.String() });

const JsonSchemaObject = Type.Object(
  {},
  { additionalProperties: true, description: 'a JSON Schema (2020-12)' },
);
const capabilityName = { propertyNames: { pattern: CAPABILITY_NAME_PATTERN }, maxProperties: 256 };

export const CapabilityModel = Type.Object(
  {
    telemetry: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            schema: Type.Object(
              {
                type: Type.Union([
                  Type.Literal('number'),
                  Type.Literal('integer'),
                  Type.Literal('boolean'),
                  Type.Literal('string'),
                ]),
              },
              { additionalProperties: true },
            ),
            unit: Type.Optional(Type.String({ maxLength: 32 })),
            description: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        capabilityName,
      ),
    ),
    state: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            schema: JsonSchemaObject,
            writable: Type.Boolean(),
            description: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        capabilityName,
      ),
    ),
    commands: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            params: Type.Optional(JsonSchemaObject),
            result: Type.Optional(JsonSchemaObject),
            description: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        capabilityName,
      ),
    ),
    events: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            data: Type.Optional(JsonSchemaObject),
            severity: Type.Optional(
              Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
            ),
            description: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        capabilityName,
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'what devices of the product measure, hold, accept and report',
  },
);
