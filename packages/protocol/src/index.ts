/**
 * @brickless/protocol: the device contract shared by the server and the device SDK: the protocol
 * version, the topic map, payload types and schemas, the reply shape and the capability model.
 * docs/protocol.md is the normative description.
 */
export const PROTOCOL_VERSION = 1;

export * from './capabilities.js';
export * from './endpoint.js';
export * from './payloads.js';
export * from './topics.js';
export * from './updates.js';
