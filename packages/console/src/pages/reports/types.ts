/** What the report-case API answers (packages/server/src/vulnerabilities/report-cases.ts). */
export const reportStages = ['early-warning', 'notification', 'final-report'] as const;
export type ReportStage = (typeof reportStages)[number];

export interface StageClock {
  stage: ReportStage;
  /** Null while it cannot be known yet (no corrective measure, no notification submitted). */
  dueAt: string | null;
  submittedAt: string | null;
  state: 'submitted' | 'submitted-late' | 'due' | 'overdue' | 'waiting';
}

export interface ReportCase {
  id: string;
  kind: 'vulnerability' | 'incident' | string;
  vulnerabilityId: string | null;
  productId: string;
  title: string;
  source: 'kev' | 'manual' | 'incident';
  awareAt: string;
  correctiveAvailableAt: string | null;
  fixedReleaseId: string | null;
  details: {
    memberStates?: string[];
    natureOfExploitation?: string;
    mitigations?: string;
    description?: string;
  };
  status: 'open' | 'closed';
  clocks: StageClock[];
  nextDueAt: string | null;
  submissions: {
    id: string;
    stage: ReportStage;
    submittedAt: string;
    submittedBy: string;
    reference: string | null;
  }[];
  createdAt: string;
  createdBy: string;
}

export interface Draft {
  missing?: { field: string; message: string }[];
  [key: string]: unknown;
}
