import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, orgPath } from '../../api/client.js';
import { ENDED, type Rollout } from './types.js';

export type LiveMode = 'connecting' | 'live' | 'polling' | 'ended';

/** How often the fallback reads the rollout when the event stream is not available. */
const POLL_MS = 5_000;

/**
 * The rollout as it is now: its server-sent event stream (`GET …/rollouts/{id}/stream`, same
 * origin, the session cookie) pushes each change; when the stream fails (a proxy that buffers, the
 * per-organisation cap), the page polls instead, so progress shows either way.
 */
export function useLiveRollout(org: string, id: string) {
  const [rollout, setRollout] = useState<Rollout | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [mode, setMode] = useState<LiveMode>('connecting');
  const ended = useRef(false);

  const reload = useCallback(async () => {
    try {
      const next = await api.get<Rollout>(orgPath(org, 'rollouts', id));
      setRollout(next);
      setError(null);
      return next;
    } catch (caught) {
      setError(caught);
      return null;
    }
  }, [org, id]);

  useEffect(() => {
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setInterval> | null = null;
    let failures = 0;
    ended.current = false;
    void reload();

    const poll = () => {
      source?.close();
      source = null;
      if (timer) return;
      setMode('polling');
      timer = setInterval(async () => {
        const next = await reload();
        if (next && ENDED.includes(next.status)) stop('ended');
      }, POLL_MS);
    };
    const stop = (final: LiveMode) => {
      source?.close();
      source = null;
      if (timer) clearInterval(timer);
      timer = null;
      ended.current = true;
      setMode(final);
    };

    if (typeof EventSource === 'undefined') poll();
    else {
      source = new EventSource(orgPath(org, 'rollouts', id, 'stream'));
      source.addEventListener('open', () => {
        failures = 0;
        setMode('live');
      });
      source.addEventListener('progress', (event) => {
        setRollout(JSON.parse((event as MessageEvent<string>).data) as Rollout);
        setError(null);
      });
      source.addEventListener('end', () => stop('ended'));
      source.addEventListener('error', () => {
        if (ended.current) return;
        // EventSource retries by itself after a dropped connection; a refusal (CLOSED) or
        // repeated failures mean the stream is not coming back: read the rollout instead.
        failures += 1;
        if (source?.readyState === EventSource.CLOSED || failures >= 3) poll();
      });
    }
    return () => {
      source?.close();
      if (timer) clearInterval(timer);
    };
  }, [org, id, reload]);

  return { rollout, error, mode, reload };
}
