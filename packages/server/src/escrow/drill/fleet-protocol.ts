/** Messages between the drill (fleet.ts) and its device processes (fleet-worker.ts), over Node IPC. */

export interface WorkerOptions {
  credentials: { deviceId: string; secret: string }[];
  mqttUrl: string;
  httpUrl: string;
  ca: string;
  root: string;
  productId: string;
  dir: string;
  /** Connections this process opens at once at start. */
  concurrency: number;
  /** How long a device waits at most before it follows an endpoint record (spreads arrivals). */
  moveSpreadMs: number;
}

export type FleetCall =
  | { op: 'start'; options: WorkerOptions }
  | { op: 'telemetry'; ids: string[]; values: Record<string, number> }
  | { op: 'state'; ids: string[]; state: Record<string, unknown> }
  | { op: 'stop'; ids: string[] }
  | { op: 'restart'; ids: string[]; recordUrls: string[] }
  | { op: 'versions'; ids: string[] }
  | { op: 'close' };

export type FleetRequest = FleetCall & { id: number };

export type FleetReply =
  | { reply: number; ok: true; result: unknown }
  | { reply: number; ok: false; error: string };

export type FleetEvent =
  | { event: 'arrived'; device: string; at: number }
  | { event: 'delta'; device: string; state: Record<string, unknown> }
  | { event: 'command'; device: string };
