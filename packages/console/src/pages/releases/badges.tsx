import { Badge } from '../../components/badge.js';
import { t } from './messages.js';
import type { Release } from './types.js';

/** A release's kind and signing state in a word each (the word carries the meaning). */
export function KindBadge(props: { kind: Release['kind'] }) {
  return props.kind === 'security' ? <Badge tone="warn">{t.security}</Badge> : <Badge>{t.feature}</Badge>;
}

export function StatusBadge(props: { status: Release['status'] }) {
  return props.status === 'published' ? (
    <Badge tone="good">{t.published}</Badge>
  ) : (
    <Badge tone="info">{t.draft}</Badge>
  );
}
