import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, type Page, type Query } from '../api/client.js';

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads what a page shows; a newer load aborts the older one, so a fast filter change never shows
 * stale rows. `key` is what the load depends on (a path and its query).
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, key: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    load(controller.signal).then(
      (data) => !controller.signal.aborted && setState({ data, error: null, loading: false }),
      (error: unknown) => !controller.signal.aborted && setState({ data: null, error, loading: false }),
    );
    return () => controller.abort();
  }, [...key, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/** GET a path with a query, reloading when either changes. */
export function useGet<T>(path: string | null, query?: Query): Loaded<T> {
  const queryKey = JSON.stringify(query ?? {});
  return useLoad<T>(
    (signal) => (path ? api.get<T>(path, query, signal) : Promise.resolve(null as T)),
    [path, queryKey],
  );
}

export interface Paged<T> extends Loaded<Page<T>> {
  /** 1-based page number. */
  page: number;
  hasPrevious: boolean;
  hasNext: boolean;
  previous: () => void;
  next: () => void;
}

/**
 * A server-side paged list (cursor paging, PageOf in the server's schemas): the console never
 * loads more than one page, so a list of 100,000 devices costs what a list of 50 does. Changing
 * the query starts again at the first page.
 */
export function usePaged<T>(path: string, query: Query = {}, limit = 50): Paged<T> {
  // The path is part of the key: another organisation's list starts at its own first page.
  const queryKey = `${path}?${JSON.stringify(query)}`;
  const [paging, setPaging] = useState<{ key: string; cursors: (string | null)[] }>({
    key: queryKey,
    cursors: [null],
  });
  // A changed query starts again at the first page, in this very render (no request with the
  // old cursor goes out).
  const cursors = paging.key === queryKey ? paging.cursors : [null];
  const setCursors = (next: (list: (string | null)[]) => (string | null)[]) =>
    setPaging((current) => ({
      key: queryKey,
      cursors: next(current.key === queryKey ? current.cursors : [null]),
    }));
  const cursor = cursors[cursors.length - 1] ?? null;
  const loaded = useLoad<Page<T>>(
    (signal) => api.get<Page<T>>(path, { ...query, limit, cursor: cursor ?? undefined }, signal),
    [path, queryKey, cursor, limit],
  );
  return {
    ...loaded,
    page: cursors.length,
    hasPrevious: cursors.length > 1,
    // Not while a page loads: a second click would skip a page.
    hasNext: !loaded.loading && Boolean(loaded.data?.nextCursor),
    previous: () => setCursors((list) => (list.length > 1 ? list.slice(0, -1) : list)),
    next: () => {
      const nextCursor = loaded.data?.nextCursor;
      if (nextCursor && !loaded.loading) setCursors((list) => [...list, nextCursor]);
    },
  };
}
