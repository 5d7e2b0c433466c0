import { useState } from 'preact/hooks';
import { api, type Page } from '../../api/client.js';
import { type Paged, useLoad } from '../../components/use-api.js';

export interface AuditEntry {
  chain: string;
  seq: number;
  id: string;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  details: unknown;
  prevHash: string;
  hash: string;
}

export interface AuditFilters {
  actor: string;
  action: string;
  /** datetime-local values (the person's own time zone); sent as UTC instants. */
  since: string;
  until: string;
}

interface EntriesPage {
  items: AuditEntry[];
  nextBeforeSeq: number | null;
}

function instant(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * The audit log newest first, one server page at a time: the audit API pages by sequence number
 * (beforeSeq / nextBeforeSeq) rather than by cursor, so this keeps the stack of page starts that
 * usePaged keeps for cursors, and offers the same shape to the Pager.
 */
export function useAuditPages(path: string, filters: AuditFilters, limit = 50): Paged<AuditEntry> {
  const key = JSON.stringify([path, filters]);
  const [state, setState] = useState<{ key: string; starts: (number | null)[] }>({ key, starts: [null] });
  const starts = state.key === key ? state.starts : [null];
  if (state.key !== key) setState({ key, starts: [null] });
  const before = starts[starts.length - 1] ?? null;
  const loaded = useLoad<Page<AuditEntry> & { nextBeforeSeq: number | null }>(
    async (signal) => {
      const page = await api.get<EntriesPage>(
        path,
        {
          order: 'desc',
          limit,
          beforeSeq: before ?? undefined,
          actor: filters.actor.trim() || undefined,
          action: filters.action.trim() || undefined,
          since: instant(filters.since),
          until: instant(filters.until),
        },
        signal,
      );
      return { ...page, nextCursor: page.nextBeforeSeq === null ? null : String(page.nextBeforeSeq) };
    },
    [key, before, limit],
  );
  return {
    ...loaded,
    page: starts.length,
    hasPrevious: starts.length > 1,
    hasNext: loaded.data?.nextBeforeSeq != null,
    previous: () =>
      setState((s) => ({ key, starts: s.starts.length > 1 ? s.starts.slice(0, -1) : s.starts })),
    next: () => {
      const next = loaded.data?.nextBeforeSeq;
      if (next != null) setState((s) => ({ key, starts: [...s.starts, next] }));
    },
  };
}
