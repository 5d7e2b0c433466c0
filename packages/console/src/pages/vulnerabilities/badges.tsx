import { Badge, severityTone, type Tone } from '../../components/badge.js';
import { formatNumber } from '../../i18n/index.js';
import { t } from './messages.js';
import type { TriageStatus } from './types.js';

/** Severity as a word and a score; the colour only repeats the word. */
export function SeverityBadge(props: { rating: string | null; score: number | null }) {
  const word = t.severityLabel(props.rating ?? 'unknown');
  const score = props.score === null ? '' : formatNumber(props.score);
  return <Badge tone={severityTone(props.rating)}>{score ? t.score(word, score) : word}</Badge>;
}

/** CISA's Known Exploited Vulnerabilities catalog lists it: said in words, not by colour alone. */
export function KevBadge() {
  return <Badge tone="bad">{t.knownExploited}</Badge>;
}

const STATUS_TONE: Record<TriageStatus, Tone> = {
  in_triage: 'warn',
  affected: 'bad',
  not_affected: 'good',
  fixed: 'good',
  false_positive: 'neutral',
};

export function StatusBadge(props: { status: TriageStatus }) {
  return <Badge tone={STATUS_TONE[props.status] ?? 'neutral'}>{t.statusLabel(props.status)}</Badge>;
}
