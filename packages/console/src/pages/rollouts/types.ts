import { t } from './messages.js';

export type RolloutStatus = 'running' | 'paused' | 'halted' | 'cancelled' | 'completed';

/** `GET …/rollouts/{id}` (and each `progress` event of its stream). */
export interface Rollout {
  id: string;
  releaseId: string;
  name: string;
  kind: 'security' | 'feature';
  waves: number[];
  status: RolloutStatus;
  statusReason: string | null;
  currentWave: number;
  window: string | null;
  deadline: string | null;
  createdAt: string;
  completedAt: string | null;
  totals?: Record<string, number>;
  offline?: number;
  progress?: { wave: number; percent: number; devices: number; states: Record<string, number> }[];
}

export const FINISHED_STATES = ['succeeded', 'failed', 'rolled-back', 'cancelled'];
export const FAILED_STATES = ['failed', 'rolled-back'];
export const ENDED: RolloutStatus[] = ['completed', 'cancelled'];

export function sum(states: Record<string, number> | undefined, which?: string[]): number {
  return Object.entries(states ?? {})
    .filter(([state]) => !which || which.includes(state))
    .reduce((n, [, count]) => n + count, 0);
}

export function statusWord(status: RolloutStatus): string {
  return t[status];
}

export function statusTone(status: RolloutStatus) {
  return status === 'completed'
    ? 'good'
    : status === 'halted'
      ? 'bad'
      : status === 'running'
        ? 'info'
        : 'warn';
}
