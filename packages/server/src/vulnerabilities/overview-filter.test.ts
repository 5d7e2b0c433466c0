import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OverviewItem } from './overview.js';
import { decodeOffset, filterOverview, pageOverview } from './overview-filter.js';

const item = (id: string, over: Partial<OverviewItem> = {}): OverviewItem => ({
  id,
  summary: '',
  severity: { rating: 'HIGH', score: 7.5 },
  knownExploited: false,
  products: 1,
  releasesExposed: 1,
  devicesExposed: 2,
  statuses: ['in_triage'],
  ...over,
});

const items = [
  item('CVE-1', { knownExploited: true, severity: { rating: 'CRITICAL', score: 9.8 } }),
  item('CVE-2'),
  item('CVE-3', { releasesExposed: 0, devicesExposed: 0, statuses: ['not_affected'] }),
  item('CVE-4', { severity: { rating: null, score: null }, statuses: ['affected', 'fixed'] }),
];

describe('the vulnerability list filters and pages', () => {
  it('keeps open ones by default and filters by severity, KEV and triage status', () => {
    assert.deepEqual(
      filterOverview(items, {}).map((v) => v.id),
      ['CVE-1', 'CVE-2', 'CVE-4'],
    );
    assert.equal(filterOverview(items, { status: 'all' }).length, 4);
    assert.deepEqual(
      filterOverview(items, { severity: 'critical' }).map((v) => v.id),
      ['CVE-1'],
    );
    assert.deepEqual(
      filterOverview(items, { severity: 'unknown' }).map((v) => v.id),
      ['CVE-4'],
    );
    assert.deepEqual(
      filterOverview(items, { kev: true }).map((v) => v.id),
      ['CVE-1'],
    );
    assert.deepEqual(
      filterOverview(items, { kev: false }).map((v) => v.id),
      ['CVE-2', 'CVE-4'],
    );
    assert.deepEqual(
      filterOverview(items, { status: 'all', triage: 'not_affected' }).map((v) => v.id),
      ['CVE-3'],
    );
    assert.deepEqual(
      filterOverview(items, { triage: 'fixed' }).map((v) => v.id),
      ['CVE-4'],
    );
  });

  it('returns everything without paging asked for, and walks pages by cursor when it is', () => {
    assert.equal(pageOverview(items, undefined, undefined).items.length, 4);
    const first = pageOverview(items, 3, undefined);
    assert.deepEqual(
      first.items.map((v) => v.id),
      ['CVE-1', 'CVE-2', 'CVE-3'],
    );
    assert.ok(first.nextCursor);
    const second = pageOverview(items, 3, first.nextCursor);
    assert.deepEqual(
      second.items.map((v) => v.id),
      ['CVE-4'],
    );
    assert.equal(second.nextCursor, null);
    assert.throws(() => decodeOffset('bm90LWEtY3Vyc29y'), /not a cursor/);
  });
});
