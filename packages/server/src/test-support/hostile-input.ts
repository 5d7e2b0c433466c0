import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonProblems } from '../vulnerabilities/feeds/input.js';

/**
 * fast-check generators of hostile input for the property tests of the SBOM and feed parsers,
 * and the checks every parser's outcome must pass. Test support only.
 */

/** `FC_SEED=<seed>` replays a failure fast-check printed; otherwise a fresh seed per run. */
export function fcParams(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
  return { numRuns, ...(seed !== undefined ? { seed } : {}) };
}

/** Keys that, read or written carelessly, reach Object.prototype. */
export const prototypeKeys = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
];

const bidi = ['\u202e', '\u202d', '\u2066', '\u2067', '\u2068', '\u2069', '\u200f', '\u061c'];
const controls = ['\u0000', '\u0001', '\u0007', '\u001b', '\u007f', '\u0085', '\u009b', '\r', '\t', '\n'];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...prototypeKeys,
    ...bidi.map((c) => `lodash${c}4.17.20`),
    ...controls.map((c) => `name${c}x`),
    '\ud800',
    'x\udc00y',
    'cpe:/a:%zz:openssl:1.0',
    'cpe:2.3:a:openssl:openssl:\u0000:*:*:*:*:*:*:*',
    'pkg:npm/%zz@1.0.0',
    'pkg:npm/lodash@4.17.20?__proto__=x',
    'vers:generic/>=\u202e1.0|<2',
    '9'.repeat(400),
    '',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    maxLength: 3,
  }),
  fc.integer({ min: 1, max: 6 }).map((n) => 'a'.repeat(10 ** n)),
);

/** An array nested `depth` levels (built without recursion). */
export function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** An object with an own `__proto__` key, as JSON.parse makes one (a plain literal would set the prototype). */
export function withProtoKey(value: unknown): Record<string, unknown> {
  return JSON.parse(`{"__proto__": ${JSON.stringify(value)}, "polluted": true}`) as Record<string, unknown>;
}

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e300, -1, 2 ** 53 + 1, -0),
  fc.integer({ min: 60, max: 20_000 }).map(nested),
  fc.constantFrom(
    withProtoKey({ polluted: 'yes' }),
    { toString: 1, valueOf: 1 },
    { constructor: { prototype: { polluted: 'yes' } } },
    null,
    [],
    {},
    [null],
    true,
  ),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Every place in a document: the container and the key or index of one value. */
function places(root: unknown): Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> {
  const out: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value))
      value.forEach((v, i) => {
        out.push({ parent: value, key: i });
        stack.push(v);
      });
    else if (value !== null && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) {
        out.push({ parent: value as Record<string, unknown>, key: k });
        stack.push(v);
      }
  }
  return out;
}

export type Mutation =
  | { op: 'drop'; at: number }
  | { op: 'replace'; at: number; value: unknown }
  | { op: 'addKey'; at: number; key: string; value: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
  fc.record({
    op: fc.constant('addKey' as const),
    at: fc.nat(),
    key: fc.constantFrom(...prototypeKeys),
    value: hostileValue,
  }),
);

/**
 * A copy of the document with the mutations applied; `at` picks a place modulo their number, so
 * shrinking moves towards the document's first fields.
 */
export function mutate(document: unknown, mutations: Mutation[]): unknown {
  const copy = structuredClone(document);
  for (const m of mutations) {
    const all = places(copy);
    if (all.length === 0) break;
    const place = all[m.at % all.length] as (typeof all)[number];
    if (m.op === 'drop') {
      if (Array.isArray(place.parent)) place.parent.splice(place.key as number, 1);
      else delete place.parent[place.key as string];
    } else if (m.op === 'replace') {
      (place.parent as Record<string | number, unknown>)[place.key] = m.value;
    } else {
      const target = (place.parent as Record<string | number, unknown>)[place.key];
      if (target !== null && typeof target === 'object' && !Array.isArray(target))
        // defineProperty: an own `__proto__` key, never a prototype change.
        Object.defineProperty(target, m.key, {
          value: m.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
  }
  return copy;
}

/** Object.prototype as it was when the tests started: a parser that pollutes it changes this. */
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

export function assertNoPollution(): void {
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
  assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(','), prototypeBefore);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
}

/** A parser's result holds only finite numbers and clean text, however hostile its input. */
export function assertCleanOutput(result: unknown): void {
  assert.deepEqual(jsonProblems(result), [], 'the parsed result carries what the input rules refuse');
}

/** The error is the expected typed one, with a message that is itself clean. */
export function assertTypedError(error: unknown, type: new (...args: never[]) => Error): void {
  if (!(error instanceof type)) throw error;
  assert.ok(error.message.length > 0);
  assert.deepEqual(jsonProblems(error.message), [], 'the error message carries control characters');
}
