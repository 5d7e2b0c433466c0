/** The continuity API's shapes (GET /v1/orgs/{org}/continuity, /handover, /endpoint-records). */
export interface DepositEntry {
  kind: 'deposit' | 'refused';
  auditId: string;
  at: string;
  actor: string;
  depositId: string;
  sequence: number | null;
  rows: number | null;
  artifacts: number | null;
  newBytes: number | null;
  seconds: number | null;
  manifestSha256: string | null;
  signedBy: string | null;
  check: 'verified' | 'failed' | 'unavailable' | null;
  checkDetail: string | null;
  reason: string | null;
}

export interface DrillEntry {
  at: string;
  actor: string;
  ok: boolean;
  seconds: number | null;
  devices: number | null;
  source: string | null;
  target: string | null;
  depositSeconds: number | null;
  rows: number | null;
  megabytes: number | null;
  restoreSeconds: number | null;
  reconnect99Seconds: number | null;
  served99FromRestoreSeconds: number | null;
  devicesLost: number | null;
  rowsLost: number | null;
  featuresPassed: number | null;
  featuresTotal: number | null;
  failed: string[];
}

export interface PublishedRecord {
  version: number;
  mode: 'cloud' | 'local';
  products: string[] | null;
  notice: { message: string } | null;
  record: { signed?: { mqtt?: string; http?: string; issued?: string } };
  createdAt: string;
  createdBy: string;
}

export interface HandoverStatus {
  current: PublishedRecord | null;
  devices: {
    total: number;
    arrived: number;
    movedAway: number;
    local: number;
    refused: number;
    pending: number;
  };
  share: number;
}

export interface ContinuityOverview {
  scope: { deposits: 'platform'; handover: 'organization' };
  schedule: { intervalHours: number; recipients: number; configured: boolean };
  depositKey: { publicKey: string } | null;
  deposits: DepositEntry[];
  lastDrill: DrillEntry | null;
  handover: HandoverStatus;
}
