import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InputRefused, MAX_DEPTH, parseInput } from './input.js';

/** Whether a parsed value obeys every input rule (an independent restatement of them). */
function obeys(value: unknown, depth = 0): boolean {
  if (depth > MAX_DEPTH) return false;
  if (typeof value === 'number') return Number.isFinite(value);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is about control characters
  if (typeof value === 'string') return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(value);
  if (Array.isArray(value)) return value.every((v) => obeys(v, depth + 1));
  if (value && typeof value === 'object')
    return Object.entries(value).every(
      ([k, v]) =>
        k !== '__proto__' &&
        obeys(k) &&
        obeys(v, depth + 1) &&
        !(k === 'constructor' && v && typeof v === 'object' && Object.hasOwn(v, 'prototype')),
    );
  return true;
}

describe('the input rules', () => {
  it('accept exactly the documents that obey them, and refuse the others with InputRefused', () => {
    const text = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc
        .tuple(
          fc.json({ maxDepth: 2 }),
          fc.constantFrom('1e309', '"\\u0000"', '"\\u0085"', '{"__proto__":1}', '"\\t\\n"'),
        )
        .map(([json, bad]) => `[${json},${bad}]`),
    );
    fc.assert(
      fc.property(text, (input) => {
        let parsed: unknown;
        try {
          parsed = parseInput(input);
        } catch (error) {
          assert.ok(error instanceof InputRefused, String(error));
          let plain: unknown;
          try {
            plain = JSON.parse(input);
          } catch {
            assert.equal(error.code, 'malformed-payload');
            return;
          }
          assert.equal(obeys(plain), false, `refused ${input}: ${error.message}`);
          return;
        }
        assert.ok(obeys(parsed), `accepted ${input}`);
      }),
      { numRuns: 500 },
    );
  });

  it('name the place and keep prose', () => {
    assert.throws(() => parseInput('{"a":[1,{"b":-1e309}]}'), { code: 'invalid-number', path: '/a/1/b' });
    assert.throws(() => parseInput('{"a~/b":"x\\u0000"}'), { code: 'invalid-text', path: '/a~0~1b' });
    assert.throws(() => parseInput(`${'['.repeat(100)}${']'.repeat(100)}`), { code: 'too-deep' });
    assert.deepEqual(parseInput('{"toString":"line\\n\\tnext \\u202e"}'), {
      toString: 'line\n\tnext \u202e',
    });
  });
});
