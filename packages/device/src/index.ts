/**
 * @brickless/device: the device SDK. A device connects with its own credential, sends telemetry
 * (buffered while offline), reports state and applies deltas, answers commands, and reconnects
 * with exponential backoff and jitter. It speaks the protocol in docs/protocol.md.
 */
export { type CapabilityModel, PROTOCOL_VERSION } from '@brickless/protocol';
export { Backoff } from './backoff.js';
export { type ClaimedCredential, type ClaimOptions, claim } from './claim.js';
export {
  type DeviceInfo,
  type DiscoveryMessage,
  discoveryMessages,
  localTopics,
} from './continuity/home-assistant.js';
export type { LocalModeOptions } from './continuity/local.js';
export { type RecordVerdict, verifyEndpointRecord } from './continuity/verify.js';
export {
  BricklessDevice,
  CommandError,
  type CommandHandler,
  type DeltaHandler,
  type DeviceOptions,
  FACTORY_RESET_COMMAND,
  type FactoryResetHandler,
} from './device.js';
export { type DeviceSettings, SettingsFile } from './settings.js';
export { type SlotState, UpdateAgent, type UpdateOptions, UpdateRefused } from './updates/agent.js';
export { DeviceFetcher } from './updates/fetcher.js';
