import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { type TestApp, testApp } from '../../test-support/app.js';
import { refreshAllCoverage } from '../jobs.js';

const data = join(fileURLToPath(new URL('.', import.meta.url)), '../../../../../test/data');

/** `vulns sync` against feed URLs; the remote feed (outside our control) is a local HTTP server. */
describe('feed sync', () => {
  let t: TestApp;
  let server: Server;
  let base: string;

  before(async () => {
    t = await testApp('sqlite');
    const zip = zipSync({
      'GHSA-p6mc-m468-83gw.json': readFileSync(join(data, 'osv/GHSA-p6mc-m468-83gw.json')),
      'README.txt': Buffer.from('not a record'),
    });
    server = createServer((request, response) => {
      if (request.url === '/kev.json')
        response.end(readFileSync(join(data, 'kev/known_exploited_vulnerabilities.json')));
      else if (request.url === '/osv.zip') response.end(Buffer.from(zip));
      else if (request.url === '/truncated.zip') response.end(Buffer.from(zip).subarray(0, 40));
      else {
        response.statusCode = 503;
        response.end('down');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await t.close();
  });

  it('imports every reachable feed and reports each one that is not', async () => {
    const report = await t.app.services.vulnerabilities.sync('test', [
      `${base}/kev.json`,
      `${base}/osv.zip`,
      `${base}/down`,
      `${base}/truncated.zip`,
    ]);
    assert.deepEqual(
      report.feeds.map((f) => f.ok),
      [true, true, false, false],
    );
    assert.match(report.feeds[2]?.message ?? '', /HTTP 503/);
    assert.equal(report.knownExploited?.total, 1404);
    assert.equal(report.records.created, 1);
    const again = await t.app.services.vulnerabilities.sync('test', [`${base}/osv.zip`]);
    assert.equal(again.records.unchanged, 1, 'idempotent');
    assert.equal(await refreshAllCoverage(t.app.services), 0, 'nothing matched, nothing to record');
  });
});
