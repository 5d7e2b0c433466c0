/**
 * @brickless/device: the device SDK. It builds on the shared contract; the connection, telemetry,
 * state and command handling arrive with the connectivity issue (docs/architecture.md).
 */
export { type CapabilityModel, PROTOCOL_VERSION } from '@brickless/protocol';
