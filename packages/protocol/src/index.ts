/**
 * @brickless/protocol: the device contract shared by the server and the device SDK.
 * The topic map, payload schemas and reply shape arrive with the connectivity issue; the
 * capability model, which products are defined by, is part of the contract from the start.
 */
export const PROTOCOL_VERSION = 1;

export * from './capabilities.js';
