import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CLAIM_CODE_ALPHABET,
  CLAIM_CODE_BITS,
  hashClaimCode,
  newClaimCode,
  normaliseClaimCode,
} from './claim-codes.js';

describe('claim codes', () => {
  it('are 4 groups of 4 from a 32-character alphabet without I, L, O and U: 80 bits', () => {
    assert.equal(CLAIM_CODE_ALPHABET.length, 32);
    assert.doesNotMatch(CLAIM_CODE_ALPHABET, /[ILOU]/);
    assert.equal(CLAIM_CODE_BITS, 16 * Math.log2(CLAIM_CODE_ALPHABET.length));
    const codes = Array.from({ length: 2000 }, () => newClaimCode());
    for (const code of codes) assert.match(code, /^([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}$/);
    assert.equal(new Set(codes).size, codes.length);
    // Every character of the alphabet turns up in every position: no position is fixed or biased away.
    for (let position = 0; position < 19; position++) {
      if (position % 5 === 4) continue;
      const seen = new Set(codes.map((c) => c[position]));
      assert.equal(seen.size, 32, `position ${position}`);
    }
  });

  it('read the same whatever the case, spaces and hyphens, and O, I, L as 0, 1, 1', () => {
    const code = '7K3M-QX9D-2HVA-R0TB';
    const canonical = normaliseClaimCode(code);
    assert.equal(canonical, '7K3MQX9D2HVAR0TB');
    for (const typed of ['7k3m qx9d 2hva r0tb', '7K3MQX9D2HVAROTB', ' 7k3m-qx9d-2hva-r0tb ']) {
      assert.equal(normaliseClaimCode(typed), canonical, typed);
    }
    assert.equal(normaliseClaimCode('7K3M-QX9D-2HVA-R0T1'), normaliseClaimCode('7k3m-qx9d-2hva-r0tl'));
    for (const bad of ['', 'hello', '7K3M-QX9D-2HVA-R0T', '7K3M-QX9D-2HVA-R0TBX', '7K3M-QX9D-2HVA-R0TU'])
      assert.equal(normaliseClaimCode(bad), null, bad);
    assert.match(hashClaimCode(canonical as string), /^[0-9a-f]{64}$/);
    assert.notEqual(hashClaimCode('7K3MQX9D2HVAR0TB'), hashClaimCode('7K3MQX9D2HVAR0TC'));
  });
});
