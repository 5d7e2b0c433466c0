// Writes docs/roles.md from the code (issue 16 §1): builds the app in-process on a throwaway SQLite
// database, reads its OpenAPI document and the grants of access/roles.ts. Run: npm run roles-doc.
// packages/server/src/access/roles-doc.test.ts fails when the committed file differs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROLES_DOC, renderRolesDoc } from '../packages/server/src/access/roles-doc.js';
import { testApp } from '../packages/server/src/test-support/app.js';

const root = join(import.meta.dirname, '..');
const t = await testApp('sqlite');
try {
  writeFileSync(join(root, ROLES_DOC), renderRolesDoc(t.app.http.swagger()));
  console.log(`wrote ${ROLES_DOC}`);
} finally {
  await t.close();
}
