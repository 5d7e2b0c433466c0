import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  assertCleanOutput,
  assertNoPollution,
  assertTypedError,
  fcParams,
  mutate,
  mutation,
  nested,
  withProtoKey,
} from '../../test-support/hostile-input.js';
import { identifierProblem } from '../feeds/input.js';
import { FIELD_LIMITS, type ParsedSbom, parseSbom, SbomInvalid } from './parse.js';

/**
 * Property-based tests of the SBOM parser (CycloneDX JSON 1.4–1.6, SPDX 2.3 JSON) on the real
 * SBOMs in test/data: arbitrary JSON, mutated real SBOMs, generated valid documents (round trip)
 * and cut component lists. A document either parses into clean components or is refused with
 * SbomInvalid (validation-failed, every problem with its JSON pointer); nothing else.
 * fast-check prints the seed of a failure; `FC_SEED=<seed>` replays it.
 */
const data = join(fileURLToPath(new URL('.', import.meta.url)), '../../../../../test/data/sbom');
const read = (f: string) => JSON.parse(readFileSync(join(data, f), 'utf8')) as Record<string, unknown>;
/** Real SBOMs, the large ones cut to their first components so that a run stays short. */
const firstComponents = (doc: Record<string, unknown>, n: number) => ({
  ...doc,
  components: (doc.components as unknown[]).slice(0, n),
});
const sboms: Record<string, Record<string, unknown>> = {
  keycloak: read('cyclonedx-1.4-obom-keycloak-rhel8-os.json'),
  debian: firstComponents(read('cyclonedx-1.5-debian-12-dpkg.json'), 15),
  laravel: firstComponents(read('cyclonedx-1.4-laravel-7.12.0-composer.json'), 10),
  spdxExample: read('spdx-2.3-SPDXJSONExample-v2.3.spdx.json'),
  spdxSecurity: read('spdx-2.3-spdx-examples-04-SBOMwSecurity.json'),
};

function assertCleanComponents(parsed: ParsedSbom): void {
  assertCleanOutput(parsed);
  for (const c of parsed.components) {
    for (const [field, max] of [
      ['bomRef', FIELD_LIMITS.bomRef],
      ['type', FIELD_LIMITS.type],
      ['name', FIELD_LIMITS.name],
      ['version', FIELD_LIMITS.version],
      ['purl', FIELD_LIMITS.purl],
      ['cpe', FIELD_LIMITS.cpe],
      ['supplier', FIELD_LIMITS.supplier],
    ] as const) {
      const value = c[field];
      if (value !== null)
        assert.equal(identifierProblem(value, max), null, `${field} ${JSON.stringify(value)}`);
    }
    assert.ok(c.hashes.length <= FIELD_LIMITS.hashes);
  }
}

async function parsesCleanlyOrRefuses(document: unknown): Promise<void> {
  let parsed: ParsedSbom | undefined;
  try {
    parsed = await parseSbom(document);
  } catch (error) {
    assertTypedError(error, SbomInvalid);
    const invalid = error as SbomInvalid;
    assert.equal(invalid.code, 'validation-failed');
    assert.ok((invalid.fields ?? []).length > 0);
  }
  assertNoPollution();
  if (parsed) assertCleanComponents(parsed);
}

// Identifiers the generators build documents from: the CycloneDX schema's purl and name rules
// accept them, and they make the round trip exact.
const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const version = fc.tuple(fc.nat(30), fc.nat(30), fc.nat(30)).map(([a, b, c]) => `${a}.${b}.${c}`);
interface Generated {
  name: string;
  version: string;
  children: Generated[];
}
const component: fc.Arbitrary<Generated> = fc.letrec<{ node: Generated }>((tie) => ({
  node: fc.record({
    name: word,
    version,
    children: fc.oneof(
      { depthSize: 'small' },
      fc.constant<Generated[]>([]),
      fc.array(tie('node'), { maxLength: 3 }),
    ),
  }),
})).node;

/** Pre-order: a component, then the components nested in it (CycloneDX `components[].components`). */
function flatten(list: Generated[]): Generated[] {
  return list.flatMap((c) => [c, ...flatten(c.children)]);
}

describe('SBOM parser: property-based', () => {
  it('arbitrary JSON is parsed cleanly or refused with SbomInvalid', async () => {
    const shaped = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({
        bomFormat: fc.constant('CycloneDX'),
        specVersion: fc.jsonValue(),
        components: fc.jsonValue({ maxDepth: 4 }),
      }),
      fc.record({
        spdxVersion: fc.constantFrom('SPDX-2.3', 'SPDX-2.2'),
        SPDXID: fc.constant('SPDXRef-DOCUMENT'),
        packages: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }),
        creationInfo: fc.jsonValue({ maxDepth: 2 }),
      }),
    );
    await fc.assert(fc.asyncProperty(shaped, parsesCleanlyOrRefuses), fcParams(300));
  });

  it('mutated real SBOMs are parsed cleanly or refused, and pollute nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(sboms)),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (name, mutations) => parsesCleanlyOrRefuses(mutate(sboms[name], mutations)),
      ),
      fcParams(80),
    );
  });

  it('refuses hostile fields with the JSON pointer of each', async () => {
    const base = sboms.debian as Record<string, unknown>;
    const withFirst = (patch: Record<string, unknown>) => ({
      ...base,
      components: [{ ...(base.components as Array<Record<string, unknown>>)[0], ...patch }],
    });
    for (const [what, doc, where] of [
      ['a NUL in a name', withFirst({ name: 'adduser\u0000' }), '/components/0/name'],
      [
        'a right-to-left override in a version',
        withFirst({ version: '3.134\u202e' }),
        '/components/0/version',
      ],
      ['a name longer than the stored form', withFirst({ name: 'a'.repeat(1001) }), '/components/0/name'],
      ['an infinite number (1e309)', { ...base, version: Number.POSITIVE_INFINITY }, '/version'],
      ['nesting 10,000 levels deep', { ...base, components: nested(10_000) }, '/components/0/0'],
      ['specVersion "constructor"', { ...base, specVersion: 'constructor' }, '/specVersion'],
      ['specVersion "__proto__"', { ...base, specVersion: '__proto__' }, '/specVersion'],
      [
        'an SPDX checksum algorithm "toString" with a NUL value',
        {
          ...sboms.spdxSecurity,
          packages: [
            {
              SPDXID: 'SPDXRef-x',
              name: 'x',
              downloadLocation: 'NONE',
              checksums: [{ algorithm: 'toString', checksumValue: '\u0000' }],
            },
          ],
        },
        '/packages/0/checksums/0/checksumValue',
      ],
      [
        'an SPDX package name "{toString: 1}"',
        {
          ...sboms.spdxSecurity,
          packages: [{ SPDXID: 'SPDXRef-x', name: { toString: 1 }, downloadLocation: 'NONE' }],
        },
        '/packages/0/name',
      ],
    ] as const) {
      await assert.rejects(
        parseSbom(doc),
        (e: unknown) => e instanceof SbomInvalid && (e.fields ?? []).some((f) => f.field.startsWith(where)),
        what,
      );
    }
    assertNoPollution();
  });

  it('a key named valueOf inside an array item is refused, not a TypeError (property test seed -221829019)', async () => {
    const doc = read('cyclonedx-1.4-laravel-7.12.0-composer.json') as {
      components: Array<{ properties: Array<Record<string, unknown>> }>;
    };
    const item = doc.components[2]?.properties[1];
    assert.ok(item, 'the real SBOM has the property this case changes');
    Object.defineProperty(item, 'valueOf', { value: { polluted: true }, enumerable: true });
    await assert.rejects(parseSbom(doc), (error: unknown) => {
      assert.ok(error instanceof SbomInvalid, String(error));
      assert.match(error.message, /keys named like JavaScript built-ins/);
      return true;
    });
  });

  it('an own __proto__ key changes nothing', async () => {
    for (const [name, doc] of Object.entries(sboms)) {
      const parsed = await parseSbom(doc);
      const poisoned = { ...doc, ...withProtoKey({ bomFormat: 'x', polluted: 1 }) };
      // CycloneDX is strict: an unknown property is an error; SPDX ignores it.
      try {
        assert.deepEqual(
          await parseSbom(poisoned),
          parsed,
          `${name}: an own __proto__ key changed the result`,
        );
      } catch (error) {
        assertTypedError(error, SbomInvalid);
      }
      assertNoPollution();
    }
  });

  it('a generated CycloneDX document yields exactly its components with their purls', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('1.4', '1.5', '1.6'),
        fc.array(component, { maxLength: 6 }),
        async (specVersion, tree) => {
          let ref = 0;
          const toCdx = (c: Generated): Record<string, unknown> => ({
            type: 'library',
            'bom-ref': `ref-${ref++}`,
            name: c.name,
            version: c.version,
            purl: `pkg:npm/${c.name}@${c.version}`,
            ...(c.children.length ? { components: c.children.map(toCdx) } : {}),
          });
          const parsed = await parseSbom({
            bomFormat: 'CycloneDX',
            specVersion,
            version: 1,
            components: tree.map(toCdx),
          });
          assert.deepEqual(
            parsed.components.map((c) => [c.name, c.version, c.purl]),
            flatten(tree).map((c) => [c.name, c.version, `pkg:npm/${c.name}@${c.version}`]),
          );
        },
      ),
      fcParams(60),
    );
  });

  it('a generated SPDX 2.3 document yields exactly its packages with their purls', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ name: word, version }), { maxLength: 8 }), async (packages) => {
        const parsed = await parseSbom({
          ...sboms.spdxSecurity,
          packages: packages.map((p, i) => ({
            SPDXID: `SPDXRef-${i}`,
            name: p.name,
            versionInfo: p.version,
            downloadLocation: 'NOASSERTION',
            externalRefs: [
              {
                referenceCategory: 'PACKAGE-MANAGER',
                referenceType: 'purl',
                referenceLocator: `pkg:pypi/${p.name}@${p.version}`,
              },
            ],
          })),
        });
        assert.deepEqual(
          parsed.components.map((c) => [c.name, c.version, c.purl]),
          packages.map((p) => [p.name, p.version, `pkg:pypi/${p.name}@${p.version}`]),
        );
      }),
      fcParams(60),
    );
  });

  it('a real SBOM cut after any component yields exactly the components before the cut', async () => {
    const full = read('cyclonedx-1.5-debian-12-dpkg.json');
    const all = (await parseSbom(full)).components;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: all.length }), async (n) => {
        const parsed = await parseSbom(firstComponents(full, n));
        assert.deepEqual(parsed.components, all.slice(0, n));
      }),
      fcParams(8),
    );
  });
});
