import { useState } from 'preact/hooks';
import { Badge, type Tone } from '../../components/badge.js';
import { Table } from '../../components/table.js';
import { t } from './messages.js';
import { type Resolve, type Schema, SchemaTree } from './schema-tree.js';

export interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}

interface Content {
  content?: Record<string, { schema?: Schema }>;
  description?: string;
}

export interface Operation {
  method: string;
  path: string;
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  deprecated?: boolean;
  parameters?: Parameter[];
  requestBody?: Content & { required?: boolean };
  responses?: Record<string, Content>;
  'x-brickless-permission'?: string;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Every operation of an OpenAPI document, in its order, with its method and path. */
export function operationsOf(document: { paths?: Record<string, Record<string, unknown>> }): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    const shared = (item.parameters as Parameter[] | undefined) ?? [];
    for (const method of METHODS) {
      const op = item[method] as Omit<Operation, 'method' | 'path'> | undefined;
      if (!op) continue;
      out.push({
        ...op,
        method: method.toUpperCase(),
        path,
        parameters: [...shared, ...(op.parameters ?? [])],
      });
    }
  }
  return out;
}

/** The words a search matches against. */
export function searchText(op: Operation): string {
  return [
    op.method,
    op.path,
    op.summary,
    op.description,
    op.operationId,
    ...(op.tags ?? []),
    op['x-brickless-permission'],
  ]
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
}

const METHOD_TONES: Record<string, Tone> = {
  GET: 'info',
  POST: 'good',
  PUT: 'warn',
  PATCH: 'warn',
  DELETE: 'bad',
};

/**
 * One operation, collapsed to its method, path and summary; its details (parameters and schemas)
 * are built only once it is opened, so a document of hundreds of operations stays light.
 */
export function OperationItem(props: { op: Operation; resolve: Resolve }) {
  const { op } = props;
  const [open, setOpen] = useState(false);
  return (
    <details class="operation" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>
        <Badge tone={METHOD_TONES[op.method] ?? 'neutral'}>{op.method}</Badge>{' '}
        <code class="op-path">{op.path}</code> <span class="op-summary">{op.summary}</span>
        {op.deprecated ? <Badge tone="warn">{t.deprecated}</Badge> : null}
      </summary>
      {open ? <OperationBody op={op} resolve={props.resolve} /> : null}
    </details>
  );
}

function OperationBody({ op, resolve }: { op: Operation; resolve: Resolve }) {
  const permission = op['x-brickless-permission'];
  const body = op.requestBody?.content ? Object.entries(op.requestBody.content) : [];
  return (
    <div class="operation-body">
      {op.description && op.description !== op.summary ? <p>{op.description}</p> : null}
      <dl class="facts">
        <dt>{t.permission}</dt>
        <dd>{permission ? <code>{permission}</code> : t.permissionNone}</dd>
      </dl>
      {op.parameters && op.parameters.length > 0 ? (
        <>
          <h4>{t.parameters}</h4>
          <Table
            caption={`${t.parameters}: ${op.method} ${op.path}`}
            captionHidden
            rows={op.parameters}
            rowKey={(p) => `${p.in}:${p.name}`}
            columns={[
              {
                label: t.paramName,
                cell: (p) => (
                  <>
                    <code>{p.name}</code>
                    {p.required ? <span class="schema-required"> {t.required}</span> : null}
                  </>
                ),
              },
              { label: t.paramIn, cell: (p) => p.in },
              {
                label: t.paramSchema,
                cell: (p) => (p.schema ? <SchemaTree schema={p.schema} resolve={resolve} /> : '–'),
              },
            ]}
          />
        </>
      ) : null}
      {body.length > 0 ? (
        <>
          <h4>{t.requestBody}</h4>
          {body.map(([type, media]) => (
            <div key={type}>
              <p>
                <code>{type}</code>
                {op.requestBody?.required ? <span class="schema-required"> {t.required}</span> : null}
              </p>
              {media.schema ? <SchemaTree schema={media.schema} resolve={resolve} /> : null}
            </div>
          ))}
        </>
      ) : null}
      {op.responses ? (
        <>
          <h4>{t.responses}</h4>
          {Object.entries(op.responses).map(([status, response]) => {
            const media = Object.entries(response.content ?? {})[0];
            return (
              <div key={status} class="response">
                <p>
                  <Badge
                    tone={
                      status.startsWith('2')
                        ? 'good'
                        : status.startsWith('4') || status.startsWith('5')
                          ? 'bad'
                          : 'neutral'
                    }
                  >
                    {status}
                  </Badge>{' '}
                  {response.description}
                  {media ? (
                    <>
                      {' '}
                      <code>{media[0]}</code>
                    </>
                  ) : (
                    <span class="muted"> ({t.noBody})</span>
                  )}
                </p>
                {media?.[1].schema ? <SchemaTree schema={media[1].schema} resolve={resolve} /> : null}
              </div>
            );
          })}
        </>
      ) : null}
    </div>
  );
}
