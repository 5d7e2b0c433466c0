import type { Migration } from 'kysely';
import * as m0001 from './0001-fleet.js';
import * as m0002 from './0002-connectivity.js';
import * as m0003 from './0003-device-identity.js';
import * as m0004 from './0004-updates.js';
import * as m0005 from './0005-vulnerabilities.js';
import * as m0006 from './0006-continuity.js';
import * as m0007 from './0007-update-messages.js';
import * as m0008 from './0008-double-precision.js';
import * as m0009 from './0009-operations.js';
import * as m0010 from './0010-vulnerability-groups.js';
import * as m0011 from './0011-rollout-deadline.js';
import * as m0012 from './0012-product-limits.js';
import * as m0013 from './0013-people.js';
import * as m0014 from './0014-disclosure-messages.js';
import * as m0015 from './0015-oidc-extra.js';
import * as m0016 from './0016-fleet-overview-index.js';
import * as m0017 from './0017-security-metric-snapshots.js';
import * as m0018 from './0018-outbound-events.js';
import * as m0019 from './0019-org-signing-keys.js';
import * as m0020 from './0020-webhooks.js';
import * as m0021 from './0021-notifications.js';
import * as m0022 from './0022-owners.js';
import * as m0023 from './0023-oauth-apps.js';
import * as m0024 from './0024-sharing.js';
import * as m0025 from './0025-owner-notices.js';
import * as m0026 from './0026-data-rights.js';
import * as m0027 from './0027-owner-passkeys.js';
import * as m0028 from './0028-nodes-and-leases.js';
import * as m0029 from './0029-artifact-blobs.js';
import * as m0030 from './0030-telemetry-partitions.js';

/**
 * Every migration this build knows, in order. Static imports (not a folder scan) so the
 * compiled build and tsx see the same set.
 */
export const migrations: Record<string, Migration> = {
  '0001-fleet': m0001,
  '0002-connectivity': m0002,
  '0003-device-identity': m0003,
  '0004-updates': m0004,
  '0005-vulnerabilities': m0005,
  '0006-continuity': m0006,
  '0007-update-messages': m0007,
  '0008-double-precision': m0008,
  '0009-operations': m0009,
  '0010-vulnerability-groups': m0010,
  '0011-rollout-deadline': m0011,
  '0012-product-limits': m0012,
  '0013-people': m0013,
  '0014-disclosure-messages': m0014,
  '0015-oidc-extra': m0015,
  '0016-fleet-overview-index': m0016,
  '0017-security-metric-snapshots': m0017,
  '0018-outbound-events': m0018,
  '0019-org-signing-keys': m0019,
  '0020-webhooks': m0020,
  '0021-notifications': m0021,
  '0022-owners': m0022,
  '0023-oauth-apps': m0023,
  '0024-sharing': m0024,
  '0025-owner-notices': m0025,
  '0026-data-rights': m0026,
  '0027-owner-passkeys': m0027,
  '0028-nodes-and-leases': m0028,
  '0029-artifact-blobs': m0029,
  '0030-telemetry-partitions': m0030,
};
