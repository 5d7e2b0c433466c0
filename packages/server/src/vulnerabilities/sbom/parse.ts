import type { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { DomainError } from '../../errors.js';
import {
  identifierProblem,
  isRecord,
  jsonProblems,
  list,
  printable,
  record,
  stringOr,
} from '../feeds/input.js';

/** A component as stored: what matching, exposure and export need (issue: name, version, purl, CPE, hashes, supplier). */
export interface SbomComponent {
  bomRef: string | null;
  type: string;
  name: string;
  version: string | null;
  purl: string | null;
  cpe: string | null;
  hashes: Array<{ alg: string; content: string }>;
  supplier: string | null;
}

export interface ParsedSbom {
  format: 'cyclonedx' | 'spdx';
  specVersion: string;
  serialNumber: string | null;
  components: SbomComponent[];
}

/**
 * A document that is not a usable SBOM; `problems` lists every finding, each with where it is
 * (`/json/pointer: what`), and becomes the error's `fields`.
 */
export class SbomInvalid extends DomainError {
  constructor(readonly problems: string[]) {
    super(
      'validation-failed',
      `the SBOM is not valid: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
      problems.map((p) => {
        const at = p.indexOf(': ');
        return at > 0 && p.startsWith('/')
          ? { field: p.slice(0, at), message: p.slice(at + 2) }
          : { field: '/', message: p };
      }),
    );
    this.name = 'SbomInvalid';
  }
}

export const MAX_COMPONENTS = 100_000;
const validators = new Map<Spec.Version, Validation.JsonStrictValidator>();
// A Map, not an object: `specVersion: "constructor"` must not find Object's own properties.
// The values are the library's Spec.Version members ("1.4", …); the library itself is loaded on
// the first CycloneDX upload, not at every start (issue 15).
const cyclonedxVersions = new Map<string, Spec.Version>([
  ['1.4', '1.4' as Spec.Version],
  ['1.5', '1.5' as Spec.Version],
  ['1.6', '1.6' as Spec.Version],
]);

/** Longest stored form of each component field (longer ones are refused, never cut). */
export const FIELD_LIMITS = {
  bomRef: 1000,
  type: 50,
  name: 1000,
  version: 200,
  purl: 2000,
  cpe: 1000,
  supplier: 500,
  hashes: 20,
  hashAlg: 50,
  hashContent: 1000,
} as const;

/** Recognises CycloneDX JSON 1.4–1.6 and SPDX 2.3 JSON; validates, then reads the components. */
export async function parseSbom(document: unknown): Promise<ParsedSbom> {
  if (!isRecord(document))
    throw new SbomInvalid([
      'expected a JSON object: a CycloneDX (bomFormat "CycloneDX") or SPDX 2.3 (spdxVersion "SPDX-2.3") document',
    ]);
  // Before anything reads it: the validator and JSON.stringify recurse, and stored text must be clean.
  const shape = jsonProblems(document);
  if (shape.length > 0) throw new SbomInvalid(shape);
  const d = document;
  if (d.bomFormat === 'CycloneDX') return parseCycloneDx(d);
  if (typeof d.spdxVersion === 'string') return parseSpdx(d);
  throw new SbomInvalid(['not an SBOM: neither bomFormat "CycloneDX" nor spdxVersion is present']);
}

async function parseCycloneDx(d: Record<string, unknown>): Promise<ParsedSbom> {
  const specVersion = stringOr(d.specVersion, '');
  const version = cyclonedxVersions.get(specVersion);
  if (!version)
    throw new SbomInvalid([
      `/specVersion: CycloneDX ${printable(specVersion) || '(missing)'} is not supported; use 1.4, 1.5 or 1.6`,
    ]);
  // The CycloneDX project's own validator and schemas (strict: unknown properties are errors).
  // One per spec version: building it compiles the schema, which takes longer than validating.
  let validator = validators.get(version);
  if (!validator) {
    const { Validation } = await import('@cyclonedx/cyclonedx-library');
    validator = new Validation.JsonStrictValidator(version);
    validators.set(version, validator);
  }
  let errors: Array<{ instancePath?: string; message?: string; params?: unknown }> | null;
  try {
    errors = (await validator.validate(JSON.stringify(d))) as typeof errors;
  } catch (error) {
    // The validator itself can trip over hostile shapes: a key named like a built-in method
    // (`valueOf`, `toString`) holding an object makes its deep-equality check throw a TypeError
    // (found by the property test). Such a document is refused like any other invalid one.
    throw new SbomInvalid([
      `/: the document cannot be checked against the CycloneDX ${specVersion} schema (${printable((error as Error).message, 200)}); keys named like JavaScript built-ins (valueOf, toString) are not allowed`,
    ]);
  }
  if (errors && errors.length > 0)
    throw new SbomInvalid(
      errors
        .slice(0, 100)
        .map(
          (e) =>
            `${printable(e.instancePath || '/', 200)}: ${printable(`${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`, 300)}`,
        ),
    );
  const components: SbomComponent[] = [];
  const problems: string[] = [];
  const visit = (items: unknown, where: string): void => {
    for (const [i, item] of list(items).entries()) {
      const c = record(item);
      const at = `${where}/${i}`;
      if (components.length >= MAX_COMPONENTS)
        throw new SbomInvalid([`more than ${MAX_COMPONENTS} components`]);
      const field = fieldReader(at, problems);
      const supplier = record(c.supplier).name ?? c.publisher ?? c.author;
      const group = field(c.group, 'group', FIELD_LIMITS.name);
      const name = field(c.name, 'name', FIELD_LIMITS.name) ?? '';
      if (group && group.length + 1 + name.length > FIELD_LIMITS.name)
        problems.push(`${at}/group: group and name together are longer than ${FIELD_LIMITS.name} characters`);
      components.push({
        bomRef: field(c['bom-ref'], 'bom-ref', FIELD_LIMITS.bomRef),
        type: field(c.type, 'type', FIELD_LIMITS.type) ?? 'library',
        name: group ? `${group}/${name}` : name,
        version: field(c.version, 'version', FIELD_LIMITS.version),
        purl: field(c.purl, 'purl', FIELD_LIMITS.purl),
        cpe: field(c.cpe, 'cpe', FIELD_LIMITS.cpe),
        hashes: hashesOf(list(c.hashes), `${at}/hashes`, problems, (h) => ({
          alg: stringOr(h.alg, ''),
          content: stringOr(h.content, ''),
        })),
        supplier: field(supplier, 'supplier', FIELD_LIMITS.supplier),
      });
      visit(c.components, `${at}/components`);
    }
  };
  visit(d.components, '/components');
  if (problems.length > 0) throw new SbomInvalid(problems);
  return {
    format: 'cyclonedx',
    specVersion,
    serialNumber: typeof d.serialNumber === 'string' ? d.serialNumber : null,
    components,
  };
}

const spdxChecksum = new Map<string, string>([
  ['SHA1', 'SHA-1'],
  ['SHA256', 'SHA-256'],
  ['SHA384', 'SHA-384'],
  ['SHA512', 'SHA-512'],
  ['MD5', 'MD5'],
  ['SHA3-256', 'SHA3-256'],
  ['SHA3-384', 'SHA3-384'],
  ['SHA3-512', 'SHA3-512'],
  ['BLAKE2b-256', 'BLAKE2b-256'],
  ['BLAKE2b-384', 'BLAKE2b-384'],
  ['BLAKE2b-512', 'BLAKE2b-512'],
  ['BLAKE3', 'BLAKE3'],
]);

/**
 * Reads an optional identifier field of the component at `at`: a string that is clean and short
 * enough, or null when absent; a bad one is recorded in `problems` (and read as null).
 */
function fieldReader(at: string, problems: string[]) {
  return (value: unknown, name: string, max: number): string | null => {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') {
      problems.push(`${at}/${name}: must be a string`);
      return null;
    }
    const problem = identifierProblem(value, max);
    if (problem) {
      problems.push(`${at}/${name}: ${problem}`);
      return null;
    }
    return value;
  };
}

function hashesOf(
  items: unknown[],
  at: string,
  problems: string[],
  read: (h: Record<string, unknown>) => { alg: string; content: string },
): SbomComponent['hashes'] {
  if (items.length > FIELD_LIMITS.hashes) {
    problems.push(`${at}: more than ${FIELD_LIMITS.hashes} hashes`);
    return [];
  }
  return items.map((item, i) => {
    const h = read(record(item));
    const bad =
      identifierProblem(h.alg, FIELD_LIMITS.hashAlg) ??
      identifierProblem(h.content, FIELD_LIMITS.hashContent);
    if (!h.alg || !h.content || bad)
      problems.push(`${at}/${i}: ${bad ?? 'algorithm and value are required'}`);
    return h;
  });
}

/**
 * SPDX 2.3 JSON (spec clauses 6 and 7): the document fields every SPDX 2.3 document must have,
 * then each package's required fields. Packages become components; files and snippets are not
 * components of the device image and are left out.
 */
function parseSpdx(d: Record<string, unknown>): ParsedSbom {
  const problems: string[] = [];
  if (d.spdxVersion !== 'SPDX-2.3')
    problems.push(`/spdxVersion: ${printable(stringOr(d.spdxVersion, ''))} is not supported; use SPDX-2.3`);
  if (d.SPDXID !== 'SPDXRef-DOCUMENT')
    problems.push('/SPDXID: must be "SPDXRef-DOCUMENT" (SPDX 2.3 clause 6.3)');
  if (typeof d.name !== 'string' || d.name === '') problems.push('/name: required (clause 6.4)');
  if (typeof d.dataLicense !== 'string') problems.push('/dataLicense: required (clause 6.2)');
  if (typeof d.documentNamespace !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(d.documentNamespace))
    problems.push('/documentNamespace: required, a URI (clause 6.5)');
  else {
    const bad = identifierProblem(d.documentNamespace, 500);
    if (bad) problems.push(`/documentNamespace: ${bad}`);
  }
  const creation = record(d.creationInfo);
  if (typeof creation.created !== 'string' || Number.isNaN(Date.parse(creation.created)))
    problems.push('/creationInfo/created: required, a date-time (clause 6.9)');
  if (!Array.isArray(creation.creators) || creation.creators.length === 0)
    problems.push('/creationInfo/creators: required, at least one (clause 6.8)');
  if (d.packages !== undefined && !Array.isArray(d.packages)) problems.push('/packages: must be a list');
  const packages = list(d.packages);
  if (packages.length > MAX_COMPONENTS) problems.push(`/packages: more than ${MAX_COMPONENTS} packages`);
  const components: SbomComponent[] = [];
  for (const [i, item] of packages.slice(0, MAX_COMPONENTS).entries()) {
    const where = `/packages/${i}`;
    if (!isRecord(item)) {
      problems.push(`${where}: must be an object (clause 7)`);
      continue;
    }
    const p = item;
    const field = fieldReader(where, problems);
    if (typeof p.SPDXID !== 'string' || !p.SPDXID.startsWith('SPDXRef-'))
      problems.push(`${where}/SPDXID: required, "SPDXRef-…" (clause 7.2)`);
    if (typeof p.name !== 'string' || p.name === '') problems.push(`${where}/name: required (clause 7.1)`);
    if (typeof p.downloadLocation !== 'string')
      problems.push(`${where}/downloadLocation: required (clause 7.7)`);
    const refs = list(p.externalRefs).map(record);
    for (const [j, ref] of refs.entries())
      if (
        typeof ref.referenceCategory !== 'string' ||
        typeof ref.referenceType !== 'string' ||
        typeof ref.referenceLocator !== 'string'
      )
        problems.push(
          `${where}/externalRefs/${j}: referenceCategory, referenceType and referenceLocator are required (clause 7.21)`,
        );
    const locator = (type: string): unknown => refs.find((r) => r.referenceType === type)?.referenceLocator;
    const supplier = field(p.supplier, 'supplier', FIELD_LIMITS.supplier);
    components.push({
      bomRef: field(p.SPDXID, 'SPDXID', FIELD_LIMITS.bomRef),
      type: 'library',
      name: field(p.name, 'name', FIELD_LIMITS.name) ?? '',
      version: field(p.versionInfo, 'versionInfo', FIELD_LIMITS.version),
      purl: field(locator('purl'), 'externalRefs(purl)', FIELD_LIMITS.purl),
      cpe: field(locator('cpe23Type') ?? locator('cpe22Type'), 'externalRefs(cpe)', FIELD_LIMITS.cpe),
      hashes: hashesOf(list(p.checksums), `${where}/checksums`, problems, (c) => {
        const algorithm = stringOr(c.algorithm, '');
        return { alg: spdxChecksum.get(algorithm) ?? algorithm, content: stringOr(c.checksumValue, '') };
      }),
      supplier:
        supplier && supplier !== 'NOASSERTION' ? supplier.replace(/^(Organization|Person):\s*/, '') : null,
    });
  }
  if (problems.length > 0) throw new SbomInvalid(problems);
  return {
    format: 'spdx',
    specVersion: 'SPDX-2.3',
    serialNumber: typeof d.documentNamespace === 'string' ? d.documentNamespace : null,
    components,
  };
}
