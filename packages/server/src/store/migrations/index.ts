import type { Migration } from 'kysely';
import * as m0001 from './0001-fleet.js';
import * as m0002 from './0002-connectivity.js';
import * as m0003 from './0003-device-identity.js';
import * as m0004 from './0004-updates.js';
import * as m0005 from './0005-vulnerabilities.js';
import * as m0006 from './0006-continuity.js';

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
};
