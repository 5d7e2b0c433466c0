import { useMemo, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api } from '../../api/client.js';
import { ErrorMessage } from '../../components/alert.js';
import { describedBy, Field, inputValue } from '../../components/form.js';
import { Empty, Loading, PageTitle, Section } from '../../components/page.js';
import { useLoad } from '../../components/use-api.js';
import { DeviceProtocol } from './asyncapi.js';
import { t } from './messages.js';
import { type Operation, OperationItem, operationsOf, searchText } from './openapi.js';
import { resolver } from './schema-tree.js';
import './docs.css';

interface OpenApiDocument {
  info?: { title?: string; version?: string };
  tags?: { name: string; description?: string }[];
  paths?: Record<string, Record<string, unknown>>;
}

/**
 * The API reference, from the documents the server publishes (same origin, no permission beyond
 * being signed in): /openapi.json grouped by tag with a search, and the device protocol from
 * /asyncapi.json. `/docs/:tag` shows one tag.
 */
export default function ApiDocs() {
  const { params } = useRoute();
  const tag = params.tag ? decodeURIComponent(params.tag) : null;
  const openapi = useLoad((signal) => api.get<OpenApiDocument>('/openapi.json', undefined, signal), []);
  const asyncapi = useLoad(
    (signal) => api.get<Record<string, unknown>>('/asyncapi.json', undefined, signal).catch(() => null),
    [],
  );
  const [query, setQuery] = useState('');
  const operations = useMemo(() => (openapi.data ? operationsOf(openapi.data) : []), [openapi.data]);
  const resolve = useMemo(() => resolver(openapi.data), [openapi.data]);
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = operations.filter(
    (op) =>
      (!tag || (op.tags ?? ['other']).includes(tag)) && words.every((word) => searchText(op).includes(word)),
  );
  const groups = new Map<string, Operation[]>();
  for (const op of shown) {
    const name = op.tags?.[0] ?? 'other';
    groups.set(name, [...(groups.get(name) ?? []), op]);
  }
  const allTags = [...new Set(operations.map((op) => op.tags?.[0] ?? 'other'))].sort();

  return (
    <>
      <PageTitle title={tag ? t.tagTitle(tag) : t.title} />
      <p>{t.intro}</p>
      <p>
        <a href="/openapi.json">{t.rawOpenApi}</a> · <a href="/asyncapi.json">{t.rawAsyncApi}</a>
      </p>
      <Section title={t.httpTitle} id="http-api">
        <ErrorMessage error={openapi.error} retry={openapi.reload} />
        {openapi.loading && !openapi.data ? <Loading /> : null}
        {openapi.data ? (
          <>
            <nav aria-label={t.tags} class="tag-nav">
              <a href="/docs" aria-current={tag ? undefined : 'page'}>
                {t.allTags}
              </a>
              {allTags.map((name) => (
                <a
                  key={name}
                  href={`/docs/${encodeURIComponent(name)}`}
                  aria-current={tag === name ? 'page' : undefined}
                >
                  {name}
                </a>
              ))}
            </nav>
            <div class="docs-search">
              <Field id="docs-search" label={t.search} hint={t.searchHint}>
                <input
                  id="docs-search"
                  type="search"
                  value={query}
                  aria-describedby={describedBy('docs-search', t.searchHint)}
                  onInput={(e) => setQuery(inputValue(e))}
                />
              </Field>
            </div>
            <p role="status" class="muted">
              {t.matches(
                shown.length,
                tag
                  ? operations.filter((op) => (op.tags ?? ['other']).includes(tag)).length
                  : operations.length,
              )}
            </p>
            {shown.length === 0 ? <Empty title={t.noMatches} /> : null}
            {[...groups.entries()].map(([name, ops]) => (
              <div key={name} class="tag-group">
                <h3 id={`tag-${name}`}>{name}</h3>
                {openapi.data?.tags?.find((x) => x.name === name)?.description ? (
                  <p>{openapi.data.tags.find((x) => x.name === name)?.description}</p>
                ) : null}
                {ops.map((op) => (
                  <OperationItem key={`${op.method} ${op.path}`} op={op} resolve={resolve} />
                ))}
              </div>
            ))}
          </>
        ) : null}
      </Section>
      {asyncapi.data ? (
        <DeviceProtocol document={asyncapi.data} />
      ) : asyncapi.loading ? null : (
        <Section title={t.deviceTitle} id="device-protocol">
          <p>{t.deviceUnavailable}</p>
        </Section>
      )}
    </>
  );
}
