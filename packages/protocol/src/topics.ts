/**
 * The device topic map. Every device lives under `brickless/v1/{deviceId}/`; the device may
 * publish only to the upstream channels and subscribe only to the downstream ones of its own
 * space (docs/protocol.md, "Topics"). The same map serves the cloud broker and the LAN.
 */
export const TOPIC_ROOT = 'brickless/v1';

/** Channels a device publishes to (device → server). */
export const upstreamChannels = [
  'telemetry',
  'state/reported',
  'commands/result',
  'events',
  'presence',
  'updates/status',
  'endpoint/status',
] as const;

/** Channels a device subscribes to (server → device). */
export const downstreamChannels = [
  'state/desired',
  'state/delta',
  'commands/request',
  'errors',
  'updates/offer',
  'endpoint',
] as const;

export type UpstreamChannel = (typeof upstreamChannels)[number];
export type DownstreamChannel = (typeof downstreamChannels)[number];
export type Channel = UpstreamChannel | DownstreamChannel;

export function deviceTopic(deviceId: string, channel: Channel): string {
  return `${TOPIC_ROOT}/${deviceId}/${channel}`;
}

/** The device's whole space, for subscriptions: `brickless/v1/{deviceId}/#`. */
export function deviceSpace(deviceId: string): string {
  return `${TOPIC_ROOT}/${deviceId}/#`;
}

export interface ParsedTopic {
  deviceId: string;
  channel: Channel;
}

const channelSet = new Set<string>([...upstreamChannels, ...downstreamChannels]);

/** Splits a concrete topic into device and channel; null for anything outside the map. */
export function parseTopic(topic: string): ParsedTopic | null {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return null;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const deviceId = rest.slice(0, slash);
  const channel = rest.slice(slash + 1);
  if (!channelSet.has(channel)) return null;
  return { deviceId, channel: channel as Channel };
}

export function isUpstream(channel: Channel): channel is UpstreamChannel {
  return (upstreamChannels as readonly string[]).includes(channel);
}
