import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isId, newId } from './ids.js';

describe('ids', () => {
  it('are strictly increasing within one millisecond and when the clock steps back', () => {
    const at = new Date('2026-05-01T00:00:00Z');
    const ids = Array.from({ length: 1000 }, () => newId('dev', at));
    ids.push(newId('dev', new Date('2026-04-01T00:00:00Z')));
    for (let i = 1; i < ids.length; i++)
      assert.ok((ids[i] as string) > (ids[i - 1] as string), `${ids[i]} after ${ids[i - 1]}`);
    assert.ok(ids.every((id) => isId('dev', id)));
  });

  it('start with the creation time, so later ids sort after earlier ones', () => {
    const a = newId('org', new Date('2030-01-01T00:00:00Z'));
    const b = newId('org', new Date('2030-01-01T00:00:00.001Z'));
    assert.ok(b > a);
    assert.equal(a.slice(4, 16), new Date('2030-01-01T00:00:00Z').getTime().toString(16).padStart(12, '0'));
  });
});
