import { t } from './messages.js';

/** A JSON schema as OpenAPI and AsyncAPI documents hold it (only what the tree shows). */
export interface Schema {
  $ref?: string;
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  nullable?: boolean;
  [key: string]: unknown;
}

/** Resolves a local `$ref` (`#/components/schemas/X`) inside the document it came from. */
export type Resolve = (ref: string) => Schema | null;

export function resolver(document: unknown): Resolve {
  return (ref) => {
    if (!ref.startsWith('#/')) return null;
    let node: unknown = document;
    for (const part of ref.slice(2).split('/')) {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
    return node && typeof node === 'object' ? (node as Schema) : null;
  };
}

const MAX_DEPTH = 10;

/** One line saying what a schema is: its type and its constraints, in the words of JSON Schema. */
function describe(schema: Schema): string {
  const parts: string[] = [];
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type;
  if (schema.const !== undefined) parts.push(`= ${JSON.stringify(schema.const)}`);
  else if (schema.enum) parts.push(schema.enum.map((v) => JSON.stringify(v)).join(' | '));
  else if (type) parts.push(type === 'array' && schema.items ? `array of ${schemaName(schema.items)}` : type);
  else if (schema.anyOf || schema.oneOf)
    parts.push((schema.anyOf ?? schema.oneOf ?? []).map(optionName).join(' | '));
  if (schema.format) parts.push(schema.format);
  if (schema.minLength !== undefined) parts.push(`≥ ${schema.minLength} chars`);
  if (schema.maxLength !== undefined) parts.push(`≤ ${schema.maxLength} chars`);
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  if (schema.maxItems !== undefined) parts.push(`≤ ${schema.maxItems} items`);
  if (schema.pattern) parts.push(`pattern ${schema.pattern}`);
  if (schema.nullable) parts.push('nullable');
  return parts.join(', ');
}

/** An alternative of anyOf/oneOf in a word: `null`, a constant, a named component or a type. */
function optionName(schema: Schema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  return schemaName(schema);
}

function schemaName(schema: Schema): string {
  if (schema.$ref) return schema.$ref.split('/').pop() ?? schema.$ref;
  return (Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type) ?? 'value';
}

function children(schema: Schema): [string, Schema, boolean][] {
  const out: [string, Schema, boolean][] = [];
  const required = new Set(schema.required ?? []);
  for (const [name, child] of Object.entries(schema.properties ?? {}))
    out.push([name, child, required.has(name)]);
  if (schema.items && !schema.properties) out.push([`[${t.items}]`, schema.items, false]);
  (schema.anyOf ?? schema.oneOf ?? []).forEach((option, i) => {
    out.push([`#${i + 1}`, option, false]);
  });
  (schema.allOf ?? []).forEach((part, i) => {
    out.push([`& ${i + 1}`, part, false]);
  });
  if (typeof schema.additionalProperties === 'object') out.push(['{*}', schema.additionalProperties, false]);
  return out;
}

/**
 * A schema as a tree of native disclosure widgets (<details>): keyboard and screen readers know
 * them without scripting. `$ref`s resolve to the document's components, named; a reference to a
 * schema already open above is shown, not followed (recursive schemas).
 */
export function SchemaTree(props: { schema: Schema; resolve: Resolve; name?: string; required?: boolean }) {
  return <Node {...props} depth={0} seen={[]} />;
}

function Node(props: {
  schema: Schema;
  resolve: Resolve;
  name?: string | undefined;
  required?: boolean | undefined;
  depth: number;
  seen: string[];
}) {
  const ref = props.schema.$ref;
  const circular = ref ? props.seen.includes(ref) : false;
  const resolved = ref && !circular ? (props.resolve(ref) ?? {}) : props.schema;
  const seen = ref ? [...props.seen, ref] : props.seen;
  const label = (
    <>
      {props.name ? <code class="schema-name">{props.name}</code> : null}
      {props.required ? <span class="schema-required"> {t.required}</span> : null}
      {ref ? <span class="schema-ref"> {ref.split('/').pop()}</span> : null}{' '}
      <span class="schema-type">{circular ? t.circular : describe(resolved)}</span>
      {resolved.description ? <span class="schema-description"> — {resolved.description}</span> : null}
    </>
  );
  const kids = circular ? [] : children(resolved);
  if (kids.length === 0) return <div class="schema-leaf">{label}</div>;
  if (props.depth >= MAX_DEPTH)
    return (
      <div class="schema-leaf">
        {label} {t.schemaDepth}
      </div>
    );
  return (
    <details class="schema-node" open={props.depth === 0}>
      <summary>{label}</summary>
      <div class="schema-children">
        {kids.map(([name, child, required]) => (
          <Node
            key={name}
            schema={child}
            resolve={props.resolve}
            name={name}
            required={required}
            depth={props.depth + 1}
            seen={seen}
          />
        ))}
      </div>
    </details>
  );
}
