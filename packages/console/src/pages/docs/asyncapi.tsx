import { Badge } from '../../components/badge.js';
import { Section } from '../../components/page.js';
import { t } from './messages.js';
import { resolver, type Schema, SchemaTree } from './schema-tree.js';

interface Ref {
  $ref?: string;
}

interface AsyncApiDocument {
  asyncapi?: string;
  info?: { title?: string; version?: string; description?: string };
  channels?: Record<string, { address?: string; description?: string; messages?: Record<string, Ref> }>;
  operations?: Record<string, { action?: 'send' | 'receive'; channel?: Ref; summary?: string }>;
}

interface Message {
  name?: string;
  title?: string;
  summary?: string;
  description?: string;
  payload?: Schema;
}

/**
 * The device protocol (AsyncAPI 3, served from docs/asyncapi.yaml at /asyncapi.json): each channel
 * with its topic, its direction as the server sees it (`receive`: the device sends), its messages
 * and their payload schemas.
 */
export function DeviceProtocol(props: { document: AsyncApiDocument }) {
  const doc = props.document;
  const resolve = resolver(doc);
  const actions = new Map<string, { action: string; summary?: string | undefined }[]>();
  for (const op of Object.values(doc.operations ?? {})) {
    const key = op.channel?.$ref?.split('/').pop();
    if (!key || !op.action) continue;
    actions.set(key, [...(actions.get(key) ?? []), { action: op.action, summary: op.summary }]);
  }
  return (
    <Section title={t.deviceTitle} id="device-protocol">
      <p>{t.deviceIntro}</p>
      {doc.info?.title ? (
        <p class="muted">
          {doc.info.title} · {doc.info.version} · AsyncAPI {doc.asyncapi}
        </p>
      ) : null}
      <ul class="channels">
        {Object.entries(doc.channels ?? {}).map(([key, channel]) => (
          <li key={key} class="channel">
            <h3>
              {t.channel} <code>{key}</code>
            </h3>
            <dl class="facts">
              <dt>{t.address}</dt>
              <dd>
                <code>{channel.address}</code>
              </dd>
            </dl>
            {(actions.get(key) ?? []).map((a) => (
              <p key={`${a.action}${a.summary}`}>
                <Badge tone={a.action === 'receive' ? 'info' : 'good'}>
                  {a.action === 'receive' ? t.devicePublishes : t.deviceReceives}
                </Badge>{' '}
                {a.summary}
              </p>
            ))}
            {channel.description ? <p>{channel.description}</p> : null}
            {Object.entries(channel.messages ?? {}).map(([name, ref]) => {
              const message = (ref.$ref ? resolve(ref.$ref) : ref) as Message | null;
              return (
                <div key={name} class="message">
                  <p>
                    {t.message} <code>{message?.name ?? name}</code>
                    {message?.summary ? ` — ${message.summary}` : ''}
                  </p>
                  {message?.payload ? (
                    <SchemaTree schema={message.payload} resolve={resolve} name={t.payload} />
                  ) : null}
                </div>
              );
            })}
          </li>
        ))}
      </ul>
    </Section>
  );
}
