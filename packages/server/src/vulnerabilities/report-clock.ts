/**
 * CRA Art. 14 deadlines. For an actively exploited vulnerability (14(2)): early warning within
 * 24 hours of becoming aware, vulnerability notification within 72 hours, final report no later
 * than 14 days after a corrective or mitigating measure is available. For a severe incident
 * (14(4)): early warning 24 hours, incident notification 72 hours, final report within one month
 * after the incident notification was submitted.
 */
export const reportStages = ['early-warning', 'notification', 'final-report'] as const;
export type ReportStage = (typeof reportStages)[number];
export const caseKinds = ['vulnerability', 'severe-incident'] as const;
export type CaseKind = (typeof caseKinds)[number];

const HOUR = 3_600_000;

export interface StageClock {
  stage: ReportStage;
  /** Null while it cannot be known yet (no corrective measure, no notification submitted). */
  dueAt: string | null;
  submittedAt: string | null;
  state: 'submitted' | 'submitted-late' | 'due' | 'overdue' | 'waiting';
}

export function addCalendarMonth(iso: string): string {
  const d = new Date(iso);
  const day = d.getUTCDate();
  const next = new Date(
    Date.UTC(
      d.getUTCFullYear(),
      d.getUTCMonth() + 1,
      1,
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      d.getUTCMilliseconds(),
    ),
  );
  // 31 January + one month is the last day of February, not 3 March.
  const lastDay = new Date(Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 0)).getUTCDate();
  next.setUTCDate(Math.min(day, lastDay));
  return next.toISOString();
}

export function stageClocks(
  c: { kind: CaseKind; awareAt: string; correctiveAvailableAt: string | null },
  submissions: Array<{ stage: string; submittedAt: string }>,
  now: Date,
): StageClock[] {
  const aware = Date.parse(c.awareAt);
  const firstSubmission = (stage: ReportStage): string | null =>
    submissions
      .filter((s) => s.stage === stage)
      .map((s) => s.submittedAt)
      .sort()[0] ?? null;
  const notificationSubmitted = firstSubmission('notification');
  const due: Record<ReportStage, string | null> = {
    'early-warning': new Date(aware + 24 * HOUR).toISOString(),
    notification: new Date(aware + 72 * HOUR).toISOString(),
    'final-report':
      c.kind === 'vulnerability'
        ? c.correctiveAvailableAt
          ? new Date(Date.parse(c.correctiveAvailableAt) + 14 * 24 * HOUR).toISOString()
          : null
        : notificationSubmitted
          ? addCalendarMonth(notificationSubmitted)
          : null,
  };
  return reportStages.map((stage) => {
    const dueAt = due[stage];
    const submittedAt = firstSubmission(stage);
    let state: StageClock['state'];
    if (submittedAt) state = dueAt && submittedAt > dueAt ? 'submitted-late' : 'submitted';
    else if (!dueAt) state = 'waiting';
    else state = Date.parse(dueAt) < now.getTime() ? 'overdue' : 'due';
    return { stage, dueAt, submittedAt, state };
  });
}
