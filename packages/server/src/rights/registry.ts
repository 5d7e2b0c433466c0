import { commandSource, telemetrySource, twinSource, updateSource } from './device-sources.js';
import { accountSource, auditSource, claimSource, signInSource } from './owner-sources.js';
import { type OwnerDataSource, ownerTable } from './sources.js';

/**
 * Every kind of data about an owner, in deletion order: what refers to the owner before the
 * account itself (GDPR Art. 15, 17, 20; docs/data-rights.md). A table that holds owner data
 * (sharing's shares, owner notices, app grants) joins with one entry here, usually
 * `ownerTable({ name, table, column: 'owner_id', orderBy: 'id', describe })` from ./sources.js,
 * placed before `accountSource`.
 */
export const OWNER_DATA_SOURCES: readonly OwnerDataSource[] = [
  telemetrySource,
  commandSource,
  twinSource,
  updateSource,
  auditSource,
  signInSource,
  ownerTable({
    name: 'notices',
    table: 'owner_notices',
    column: 'owner_id',
    orderBy: 'id',
    describe: 'what you were told about your devices: support period, updates, end of support, sunset',
  }),
  ownerTable({
    name: 'passkeys',
    table: 'owner_passkeys',
    column: 'owner_id',
    orderBy: 'id',
    describe: 'your passkeys: their names, public keys and when they were used (no private key is ever here)',
  }),
  ownerTable({
    name: 'app-grants',
    table: 'oauth_grants',
    column: 'owner_id',
    orderBy: 'id',
    // Its codes and tokens go with each grant (foreign keys, on delete cascade).
    describe: 'the apps you allowed to act for you, with what (scopes) and since when',
  }),
  ownerTable({
    name: 'share-invitations',
    table: 'device_share_invitations',
    column: 'invited_by',
    orderBy: 'token_hash',
    describe: 'invitations you sent to share a device (the link itself is never stored)',
    deposited: false,
  }),
  claimSource,
  accountSource,
];
