import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addCalendarMonth, stageClocks } from './report-clock.js';

describe('CRA Art. 14 clocks', () => {
  const awareAt = '2026-11-02T08:00:00.000Z';

  it('vulnerability: 24 h, 72 h, and 14 days after the corrective measure', () => {
    const clocks = stageClocks(
      { kind: 'vulnerability', awareAt, correctiveAvailableAt: null },
      [],
      new Date('2026-11-03T09:00:00Z'),
    );
    assert.deepEqual(
      clocks.map((c) => [c.stage, c.dueAt, c.state]),
      [
        ['early-warning', '2026-11-03T08:00:00.000Z', 'overdue'],
        ['notification', '2026-11-05T08:00:00.000Z', 'due'],
        ['final-report', null, 'waiting'],
      ],
    );
    const fixed = stageClocks(
      { kind: 'vulnerability', awareAt, correctiveAvailableAt: '2026-11-10T12:00:00.000Z' },
      [{ stage: 'early-warning', submittedAt: '2026-11-02T20:00:00.000Z' }],
      new Date('2026-11-03T09:00:00Z'),
    );
    assert.equal(fixed[0]?.state, 'submitted');
    assert.equal(fixed[2]?.dueAt, '2026-11-24T12:00:00.000Z');
  });

  it('severe incident: final report one month after the notification was submitted', () => {
    const clocks = stageClocks(
      { kind: 'severe-incident', awareAt, correctiveAvailableAt: null },
      [
        { stage: 'early-warning', submittedAt: '2026-11-03T09:00:00.000Z' },
        { stage: 'notification', submittedAt: '2026-11-04T10:00:00.000Z' },
      ],
      new Date('2026-11-05T00:00:00Z'),
    );
    assert.equal(clocks[0]?.state, 'submitted-late');
    assert.equal(clocks[1]?.state, 'submitted');
    assert.equal(clocks[2]?.dueAt, '2026-12-04T10:00:00.000Z');
  });

  it('adds calendar months without spilling into the next month', () => {
    assert.equal(addCalendarMonth('2027-01-31T10:00:00.000Z'), '2027-02-28T10:00:00.000Z');
    assert.equal(addCalendarMonth('2028-01-31T10:00:00.000Z'), '2028-02-29T10:00:00.000Z');
    assert.equal(addCalendarMonth('2026-12-15T00:00:00.000Z'), '2027-01-15T00:00:00.000Z');
  });
});
