import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { craAnnexI, etsiEn303645 } from './etsi-303-645.js';

/** Provision ids of ETSI EN 303 645 V2.1.1: `5.<clause>-<n>` (5.13-1A carries its letter) and `6-<n>`. */
const ETSI_ID = /^(5\.([1-9]|1[0-3])-[1-9][0-9]?A?|6-[1-9])$/;
const CRA_ID = /^I\.(1\.1|1\.2[a-m]|2\.[1-8])$/;

describe('ETSI EN 303 645 and CRA Annex I tables', () => {
  for (const [name, list, pattern] of [
    ['ETSI EN 303 645', etsiEn303645, ETSI_ID],
    ['CRA Annex I', craAnnexI, CRA_ID],
  ] as const)
    it(`${name}: every id well formed and listed once, every row complete`, () => {
      const seen = new Set<string>();
      for (const p of list) {
        assert.match(p.id, pattern);
        assert.ok(!seen.has(p.id), `${p.id} listed twice`);
        seen.add(p.id);
        assert.ok(p.title.length > 0, p.id);
        assert.ok(['brickless', 'shared', 'maker'].includes(p.carrier), p.id);
        assert.equal(
          p.makerProvides.length === 0,
          p.carrier === 'brickless',
          `${p.id}: only brickless rows leave nothing to the maker`,
        );
      }
    });

  it('ETSI: every clause 5 group and clause 6 is covered, with the V2.1.1 counts', () => {
    const counts = new Map<string, number>();
    for (const p of etsiEn303645) {
      const group = p.id.split('-')[0] as string;
      counts.set(group, (counts.get(group) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), {
      '5.1': 5,
      '5.2': 3,
      '5.3': 16,
      '5.4': 4,
      '5.5': 8,
      '5.6': 9,
      '5.7': 2,
      '5.8': 3,
      '5.9': 3,
      '5.10': 1,
      '5.11': 4,
      '5.12': 3,
      '5.13': 1,
      '6': 5,
    });
  });
});
