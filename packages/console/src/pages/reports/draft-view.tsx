import type { ComponentChildren } from 'preact';
import { common } from '../../i18n/common.js';

/** "affectedVersions" → "Affected versions": the draft's own field names, made readable. */
function label(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * A report draft as nested definition lists, so a person can read it before sending it through the
 * reporting platform; the field names stay the draft's own, so they match the JSON sent.
 */
export function DraftValue(props: { value: unknown }): ComponentChildren {
  const { value } = props;
  if (value === null || value === undefined || value === '') return <span>–</span>;
  if (typeof value === 'boolean') return <span>{value ? common.yes : common.no}</span>;
  if (typeof value !== 'object') return <span>{String(value)}</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span>{common.none}</span>;
    return (
      <ul>
        {value.map((item, i) => (
          <li key={i}>
            <DraftValue value={item} />
          </li>
        ))}
      </ul>
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return (
    <dl>
      {entries.map(([key, item]) => (
        <div key={key}>
          <dt>{label(key)}</dt>
          <dd>
            <DraftValue value={item} />
          </dd>
        </div>
      ))}
    </dl>
  );
}
