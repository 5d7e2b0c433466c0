import type { ComponentChildren } from 'preact';

export type Tone = 'neutral' | 'good' | 'warn' | 'bad' | 'info';

/** A status word with a colour; the word carries the meaning, the colour only repeats it (WCAG 1.4.1). */
export function Badge(props: { tone?: Tone; children: ComponentChildren }) {
  return <span class={`badge badge-${props.tone ?? 'neutral'}`}>{props.children}</span>;
}

/** The tone of a severity (CVSS qualitative rating, FIRST CVSS v3.1 §5). */
export function severityTone(severity: string | null | undefined): Tone {
  switch ((severity ?? '').toLowerCase()) {
    case 'critical':
    case 'high':
      return 'bad';
    case 'medium':
      return 'warn';
    case 'low':
      return 'info';
    default:
      return 'neutral';
  }
}
