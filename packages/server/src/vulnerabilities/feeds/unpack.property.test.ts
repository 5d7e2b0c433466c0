import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { documentsOf } from './unpack.js';

/**
 * Property-based tests of reading feed bodies (one JSON document or a zip of them): arbitrary
 * bytes, cut and corrupted archives. fast-check prints the seed and the shrunk counterexample of
 * a failure; `FC_SEED=<seed>` replays it.
 */
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number) => ({ numRuns, ...(seed !== undefined ? { seed } : {}) });
const data = join(fileURLToPath(new URL('.', import.meta.url)), '../../../../../test/data');
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** The real OSV records as one archive, as the OSV project ships `all.zip`. */
const realRecords = Object.fromEntries(
  [
    'GHSA-p6mc-m468-83gw.json',
    'GHSA-35jh-r3h4-6jhm.json',
    'GHSA-vh95-rmgr-6w4m.json',
    'GO-2023-2102.json',
    'USN-5844-1.json',
  ].map((f) => [f, JSON.parse(readFileSync(join(data, 'osv', f), 'utf8')) as unknown]),
);
const realZip = (level: 0 | 6) =>
  zipSync(Object.fromEntries(Object.entries(realRecords).map(([n, v]) => [n, encode(v)])), { level });

/** Resolves within `ms` or fails the property: a reader that waits forever is a defect. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every document read from a damaged archive is one of the originals, unchanged. */
function assertOnlyOriginals(documents: Array<{ name: string; content: unknown }>): void {
  for (const d of documents) {
    const entry = d.name.slice(d.name.indexOf(':') + 1);
    assert.deepEqual(d.content, realRecords[entry], `${d.name} came out changed`);
  }
}

describe('feed bodies: property-based', () => {
  it('a changed byte in an entry name of a local header is reported (CI seed 489950215)', async () => {
    for (const level of [0, 6] as const) {
      const zip = realZip(level);
      // The first local header's name starts at byte 30 (APPNOTE 4.3.7); ".json" stays, so
      // only the cross-check against the central directory can see the damage.
      zip[30] = (zip[30] ?? 0) ^ 1;
      const read = await documentsOf('all.zip', zip);
      assert.equal(read.documents.length, Object.keys(realRecords).length - 1);
      assert.match(read.problems.map((p) => p.message).join('\n'), /not listed in the central directory/);
      assert.match(
        read.problems.map((p) => p.message).join('\n'),
        /listed in the central directory but not found/,
      );
      assertOnlyOriginals(read.documents);
    }
  });

  it('arbitrary bytes, with or without a zip signature, are read or reported, never thrown', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.boolean(), async (body, zipLike) => {
        const bytes = zipLike ? new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...body]) : body;
        const read = await within(10_000, documentsOf('feed', bytes));
        assert.equal(read.documents.length + read.problems.length > 0 || bytes.length === 0, true);
        for (const p of read.problems) assert.equal(typeof p.message, 'string');
      }),
      params(300),
    );
  });

  it('an archive of generated documents reads back exactly those documents', async () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,30}$/).map((n) => `${n}.json`);
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(name, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 8 }),
        fc.constantFrom(0 as const, 6 as const),
        async (entries, level) => {
          const normalised = JSON.parse(JSON.stringify(entries)) as Record<string, unknown>;
          const zip = zipSync(
            {
              ...Object.fromEntries(Object.entries(normalised).map(([n, v]) => [n, encode(v)])),
              'README.txt': new Uint8Array([1, 2]),
            },
            { level },
          );
          const read = await within(10_000, documentsOf('all.zip', zip));
          assert.deepEqual(read.problems, []);
          assert.deepEqual(
            Object.fromEntries(read.documents.map((d) => [d.name.replace(/^all\.zip:/, ''), d.content])),
            normalised,
          );
        },
      ),
      params(50),
    );
  });

  it('every prefix of a real archive is reported as broken and yields only unchanged documents', async () => {
    for (const level of [0, 6] as const) {
      const zip = realZip(level);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: zip.length - 1 }), async (cut) => {
          const read = await within(10_000, documentsOf('all.zip', zip.subarray(0, cut)));
          assert.ok(read.problems.length > 0, `a prefix of ${cut} of ${zip.length} bytes passed as whole`);
          assert.ok(read.documents.length < Object.keys(realRecords).length);
          assertOnlyOriginals(read.documents);
        }),
        params(150),
      );
    }
  });

  it('a real archive with bytes changed or cut out of its middle never yields changed content', async () => {
    for (const level of [0, 6] as const) {
      const zip = realZip(level);
      // Described, not materialised, so that a counterexample prints as a few numbers.
      const damage = fc.oneof(
        fc.record({
          flips: fc.array(
            fc.tuple(fc.integer({ min: 0, max: zip.length - 1 }), fc.integer({ min: 1, max: 255 })),
            { minLength: 1, maxLength: 4 },
          ),
        }),
        fc.record({
          cutAt: fc.integer({ min: 0, max: zip.length - 2 }),
          length: fc.integer({ min: 1, max: 400 }),
        }),
      );
      const apply = (d: { flips: Array<[number, number]> } | { cutAt: number; length: number }) => {
        if ('cutAt' in d)
          return new Uint8Array([...zip.subarray(0, d.cutAt), ...zip.subarray(d.cutAt + d.length)]);
        const copy = new Uint8Array(zip);
        for (const [at, xor] of d.flips) copy[at] = (copy[at] ?? 0) ^ xor;
        return copy;
      };
      await fc.assert(
        fc.asyncProperty(damage, async (d) => {
          const read = await within(10_000, documentsOf('all.zip', apply(d)));
          assertOnlyOriginals(read.documents);
          if (read.documents.length < Object.keys(realRecords).length)
            assert.ok(read.problems.length > 0, 'documents went missing without a word');
        }),
        params(100),
      );
    }
  });
});
