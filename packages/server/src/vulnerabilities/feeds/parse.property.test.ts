import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  assertCleanOutput,
  assertNoPollution,
  assertTypedError,
  fcParams,
  hostileValue,
  mutate,
  mutation,
  nested,
  withProtoKey,
} from '../../test-support/hostile-input.js';
import { parseFeedDocument } from './detect.js';
import { identifierProblem } from './input.js';
import { FeedFormatError, type ParsedDocument } from './record.js';
import { documentsOf } from './unpack.js';

/**
 * Property-based tests of the advisory parsers (OSV, NVD CVE 2.0, CISA KEV, CSAF 2.0) on the
 * real records in test/data: arbitrary JSON, mutated real records (fields dropped, types changed,
 * `__proto__` keys, 1e309, deep nesting, hostile strings) and truncated files. Each either parses
 * into a clean record or throws FeedFormatError with a clean message; nothing else.
 * fast-check prints the seed of a failure; `FC_SEED=<seed>` replays it.
 */
const data = join(fileURLToPath(new URL('.', import.meta.url)), '../../../../../test/data');
const files = ['osv', 'nvd', 'csaf', 'kev'].flatMap((dir) =>
  readdirSync(join(data, dir))
    .filter((f) => f.endsWith('.json') && !f.includes('schema'))
    .map((f) => join(data, dir, f)),
);
const small = files.filter((f) => !f.includes('/kev/'));
const documents = new Map(small.map((f) => [f, JSON.parse(readFileSync(f, 'utf8')) as unknown]));
/** The KEV catalog is 1.2 MB; its mutations run on a slice of it. */
const kev = JSON.parse(readFileSync(join(data, 'kev/known_exploited_vulnerabilities.json'), 'utf8')) as {
  vulnerabilities: unknown[];
};
documents.set('kev (first 20 entries)', { ...kev, vulnerabilities: kev.vulnerabilities.slice(0, 20) });

/** Other-typed stand-ins for any value: the shapes a careless parser trips over. */
const standIns: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  '',
  'x',
  [],
  [null],
  [[]],
  [{}],
  {},
  { x: 1 },
  { toString: 1 },
];

/**
 * The document with each value replaced, with probability `share`, by one of `standIns`
 * (a small seeded generator, so a counterexample is its seed).
 */
function retype(document: unknown, seed: number, share: number): unknown {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  return JSON.parse(JSON.stringify(document), (key, value) =>
    key !== '' && next() < share ? structuredClone(standIns[Math.floor(next() * standIns.length)]) : value,
  );
}

/** The identifier fields of a parsed document: short, no controls or bidirectional characters. */
function assertIdentifiers(parsed: ParsedDocument): void {
  const clean = (value: string | null, max: number, what: string) => {
    if (value !== null) assert.equal(identifierProblem(value, max), null, `${what} ${JSON.stringify(value)}`);
  };
  if (parsed.kind === 'kev') {
    for (const e of parsed.entries) assert.match(e.cveId, /^CVE-\d{4}-\d{4,}$/);
    return;
  }
  for (const r of parsed.records) {
    clean(r.id, 200, 'id');
    assert.ok(r.id.length > 0);
    assert.ok(!Number.isNaN(Date.parse(r.modified)));
    for (const a of r.aliases) clean(a, 200, 'alias');
    for (const u of r.references) clean(u, 2000, 'reference');
    const { score } = r.severity;
    assert.ok(score === null || (Number.isFinite(score) && score >= 0 && score <= 10), `score ${score}`);
    clean(r.severity.rating, 20, 'rating');
    clean(r.severity.vector, 200, 'vector');
    for (const a of r.affected) {
      assert.equal(typeof a.key, 'string');
      for (const v of a.versions) clean(v, 200, 'version');
      for (const i of a.intervals)
        for (const bound of [i.start, i.end])
          assert.ok(bound === undefined || typeof bound === 'string', `interval bound ${String(bound)}`);
    }
  }
}

/** The one property every outcome must have. */
function parsesCleanlyOrRefuses(document: unknown): void {
  let parsed: ParsedDocument | undefined;
  try {
    parsed = parseFeedDocument(document);
  } catch (error) {
    assertTypedError(error, FeedFormatError);
  }
  assertNoPollution();
  if (parsed) {
    assertCleanOutput(parsed);
    assertIdentifiers(parsed);
  }
}

describe('advisory parsers: property-based', () => {
  it('arbitrary JSON is parsed cleanly or refused with FeedFormatError', () => {
    // Shapes that reach past the format detection, with arbitrary content below them.
    const shaped = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      // A real record with a share of its values (and whole subtrees) swapped for other types:
      // this reaches the inner loops with every type in every field.
      fc
        .record({
          name: fc.constantFrom(...documents.keys()),
          seed: fc.integer(),
          share: fc.double({ min: 0.02, max: 0.5, noNaN: true }),
        })
        .map(({ name, seed, share }) => retype(documents.get(name), seed, share)),
      fc.record({ id: fc.jsonValue(), modified: fc.jsonValue(), affected: fc.jsonValue({ maxDepth: 4 }) }),
      fc.record({
        id: fc.constant('CVE-2024-0001'),
        lastModified: fc.jsonValue(),
        configurations: fc.jsonValue({ maxDepth: 5 }),
        metrics: fc.jsonValue({ maxDepth: 3 }),
        descriptions: fc.jsonValue(),
      }),
      fc.record({ catalogVersion: fc.string(), vulnerabilities: fc.array(fc.jsonValue({ maxDepth: 2 })) }),
      fc.record({
        document: fc.record({
          csaf_version: fc.constant('2.0'),
          tracking: fc.record({ id: fc.string(), current_release_date: fc.constant('2024-01-01T00:00:00Z') }),
        }),
        product_tree: fc.jsonValue({ maxDepth: 5 }),
        vulnerabilities: fc.jsonValue({ maxDepth: 4 }),
      }),
    );
    fc.assert(fc.property(shaped, parsesCleanlyOrRefuses), fcParams(400));
  });

  it('mutated real records are parsed cleanly or refused, and pollute nothing', () => {
    const names = [...documents.keys()];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (name, mutations) => parsesCleanlyOrRefuses(mutate(documents.get(name), mutations)),
      ),
      fcParams(600),
    );
  });

  it('the real records themselves parse, and stay parsed with `__proto__` keys added', () => {
    for (const [name, document] of documents) {
      const parsed = parseFeedDocument(document);
      assertCleanOutput(parsed);
      assertIdentifiers(parsed);
      const poisoned = { ...(document as Record<string, unknown>), ...withProtoKey({ polluted: 1 }) };
      assert.deepEqual(
        parseFeedDocument(poisoned),
        parsed,
        `${name}: an own __proto__ key changed the result`,
      );
      assertNoPollution();
    }
  });

  it('refuses each hostile value in a record with a clear error that names where it is', () => {
    const osv = documents.get(join(data, 'osv/GHSA-p6mc-m468-83gw.json')) as Record<string, unknown>;
    for (const [what, value] of [
      ['an infinite number (1e309 in JSON)', Number.POSITIVE_INFINITY],
      ['a NUL character', 'lodash\u0000'],
      ['a lone surrogate', '\ud800'],
      ['nesting 10,000 levels deep', nested(10_000)],
    ] as const) {
      assert.throws(
        () => parseFeedDocument({ ...osv, database_specific: { x: value } }),
        (e: unknown) => e instanceof FeedFormatError && /\/database_specific\/x/.test(e.message),
        what,
      );
    }
    // Hostile identifiers are left out of the record and said so, never stored.
    const parsed = parseFeedDocument({ ...osv, aliases: ['CVE-2020-8203\u202e', 'CVE-2020-8203'] });
    assert.equal(parsed.kind, 'records');
    if (parsed.kind === 'records') {
      assert.deepEqual(parsed.records[0]?.aliases, ['CVE-2020-8203']);
      assert.match(parsed.skipped.join('\n'), /alias CVE-2020-8203\\u202e: holds a line break/);
    }
  });

  it('every prefix of a real file is reported as not JSON, never half-imported', async () => {
    const bodies = files.filter((f) => !f.includes('/kev/')).map((f) => readFileSync(f));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...bodies.keys()),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (i, at) => {
          const body = bodies[i] as Buffer;
          const complete = body.toString('utf8').trimEnd().length;
          const cut = Math.min(Math.floor(at * complete), complete - 1);
          const read = await documentsOf('feed.json', body.subarray(0, cut));
          assert.equal(read.documents.length, 0);
          assert.match(read.problems[0]?.message ?? '', /^not JSON and not a zip archive/);
        },
      ),
      fcParams(200),
    );
  });
});

// Hostile values are generated on their own too, so that a generator change that makes them
// all harmless shows up as a failing count here rather than as silently weaker tests.
describe('the hostile value generator', () => {
  it('produces values the input rules refuse', () => {
    const samples = fc.sample(hostileValue, { numRuns: 150, seed: 1 });
    const refused = samples.filter((v) => {
      try {
        parseFeedDocument({ id: 'X-1', modified: '2024-01-01T00:00:00Z', x: v });
        return false;
      } catch (e) {
        return e instanceof FeedFormatError;
      }
    });
    assert.ok(refused.length > 25, `only ${refused.length} of 150 hostile values were refused`);
  });
});
