/** The shapes of the device page, as the server's OpenAPI document declares them. */
export interface Device {
  id: string;
  productId: string;
  brandId: string | null;
  serial: string;
  hardwareId: string | null;
  firmwareVersion: string | null;
  tags: string[];
  status: string;
  claimState: string;
  createdAt: string;
  lastSeenAt: string | null;
  deletedAt: string | null;
  online: boolean;
  connectedNode: string | null;
}

export interface CapabilityModel {
  telemetry: Record<string, { schema: { type: string }; unit?: string; description?: string }>;
  state: Record<string, { schema: unknown; writable?: boolean; description?: string }>;
  commands: Record<string, { description?: string; params?: unknown; result?: unknown }>;
  events?: Record<string, { description?: string; severity?: string }>;
}

export interface Product {
  id: string;
  name: string;
  modelNumber: string;
  capabilities?: CapabilityModel | null;
}

export interface Twin {
  desired: Record<string, unknown>;
  desiredVersion: number;
  reported: Record<string, unknown>;
  reportedVersion: number;
  delta: Record<string, unknown>;
  updatedAt: string | null;
}

export interface TelemetryPoint {
  time: string;
  value?: number | boolean | string;
  min?: number | null;
  max?: number | null;
  avg?: number | null;
  count?: number;
}

export interface Series {
  field: string;
  bucketMs: number | null;
  points: TelemetryPoint[];
}

export type CommandStatus = 'queued' | 'delivered' | 'succeeded' | 'failed' | 'expired';

export interface Command {
  id: string;
  name: string;
  params: unknown;
  status: CommandStatus;
  createdAt: string;
  completedAt: string | null;
  result: unknown;
}

export interface DeviceEvent {
  id: string;
  name: string;
  severity: 'info' | 'warning' | 'critical';
  time: string;
  data: unknown;
}

export interface UpdateStep {
  id: string;
  rolloutId: string | null;
  releaseId: string | null;
  step: string;
  reason: string | null;
  message: string | null;
  time: string;
}

export interface DeviceVulnerability {
  id: string;
  status: string;
  severity: { rating: string | null; score: number | null };
  knownExploited: boolean;
  summary: string | null;
  components: { name: string; version: string }[];
}

export interface Credential {
  id: string;
  kind: string;
  fingerprint: string | null;
  notAfter: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface IssuedCredential {
  credential: Credential;
  secret?: string;
  certificate?: string;
  privateKey?: string;
}

/** Props every part of the device page gets. */
export interface PartProps {
  org: string;
  device: Device;
  product: Product | null;
  canWrite: boolean;
}
