import { useEffect, useRef, useState } from 'preact/hooks';
import { lang } from '../../i18n/index.js';
import { t } from './messages.js';

/** "2 d 03:04:05": days, then a clock face, so every second visibly changes. */
export function clockText(ms: number): string {
  let rest = Math.floor(Math.abs(ms) / 1000);
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const pad = (n: number) => String(n).padStart(2, '0');
  const face = `${pad(Math.floor(rest / 3600))}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`;
  return days > 0 ? `${days} ${lang === 'de' ? 'T' : 'd'} ${face}` : face;
}

/**
 * A live countdown to one deadline. Only this component re-renders each second (its own state
 * and interval), not the page. The ticking text is aria-live off, since a screen reader reading
 * every second would drown everything else; the moment the deadline passes is announced once,
 * in a status region.
 */
export function Countdown(props: { dueAt: string; stage: string }) {
  const due = new Date(props.dueAt).getTime();
  const [now, setNow] = useState(() => Date.now());
  const overdueAtStart = useRef(due <= Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = due - now;
  const passedWhileWatching = left <= 0 && !overdueAtStart.current;
  // The wrapper is the hidden status's containing block: inside a scrolling table, an absolutely
  // placed element would otherwise escape the scroller and widen the page at 360 px.
  return (
    <span class="countdown-wrap">
      <span class={left > 0 ? 'countdown' : 'countdown countdown-overdue'} aria-live="off">
        {left > 0 ? t.left(clockText(left)) : t.overdueBy(clockText(left))}
      </span>
      <span class="visually-hidden" role="status">
        {passedWhileWatching ? t.passed(props.stage) : ''}
      </span>
    </span>
  );
}
