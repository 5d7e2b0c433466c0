import { formatNumber } from '../../i18n/index.js';
import { FAILED_STATES, FINISHED_STATES, sum } from './types.js';

/**
 * How far a set of devices got: a <progress> element with its meaning in text next to it, so the
 * numbers are there for everyone, not only for those who see the bar (WCAG 1.1.1).
 */
export function DeviceProgress(props: {
  states: Record<string, number> | undefined;
  label: (done: string, total: string, failed: string) => string;
  id: string;
}) {
  const total = sum(props.states);
  const done = sum(props.states, FINISHED_STATES);
  const failed = sum(props.states, FAILED_STATES);
  const text = props.label(formatNumber(done), formatNumber(total), formatNumber(failed));
  return (
    <span class="device-progress">
      <progress id={props.id} max={Math.max(total, 1)} value={done} aria-label={text} />
      <span class="progress-text">{text}</span>
    </span>
  );
}
