import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { escapeForDisplay } from './text.js';

describe('text shown to a person', () => {
  it('escapes bidirectional overrides and isolates, and control characters', () => {
    assert.equal(escapeForDisplay('abc\u202edcba'), 'abc<U+202E>dcba');
    assert.equal(escapeForDisplay('\u2066x\u2069'), '<U+2066>x<U+2069>');
    assert.equal(escapeForDisplay('a\u0000b\u001b[2J'), 'a<U+0000>b<U+001B>[2J');
    assert.equal(escapeForDisplay('line one\n\tline two, שלום'), 'line one\n\tline two, שלום');
  });

  it('never leaves a bidirectional control in its output', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the property is that none are left
        assert.doesNotMatch(escapeForDisplay(text), /[\u202a-\u202e\u2066-\u2069\u0000\u001b]/);
      }),
    );
  });
});
