import { Spec, Validation } from '@cyclonedx/cyclonedx-library';

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

/** A document that is not a usable SBOM; `problems` lists every finding, each with where it is. */
export class SbomInvalid extends Error {
  constructor(readonly problems: string[]) {
    super(
      `the SBOM is not valid: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
    );
  }
}

export const MAX_COMPONENTS = 100_000;
const validators = new Map<Spec.Version, Validation.JsonStrictValidator>();
const cyclonedxVersions: Record<string, Spec.Version> = {
  '1.4': Spec.Version.v1dot4,
  '1.5': Spec.Version.v1dot5,
  '1.6': Spec.Version.v1dot6,
};

/** Recognises CycloneDX JSON 1.4–1.6 and SPDX 2.3 JSON; validates, then reads the components. */
export async function parseSbom(document: unknown): Promise<ParsedSbom> {
  if (!document || typeof document !== 'object' || Array.isArray(document))
    throw new SbomInvalid([
      'expected a JSON object: a CycloneDX (bomFormat "CycloneDX") or SPDX 2.3 (spdxVersion "SPDX-2.3") document',
    ]);
  const d = document as Record<string, unknown>;
  if (d.bomFormat === 'CycloneDX') return parseCycloneDx(d);
  if (typeof d.spdxVersion === 'string') return parseSpdx(d);
  throw new SbomInvalid(['not an SBOM: neither bomFormat "CycloneDX" nor spdxVersion is present']);
}

async function parseCycloneDx(d: Record<string, unknown>): Promise<ParsedSbom> {
  const specVersion = String(d.specVersion ?? '');
  const version = cyclonedxVersions[specVersion];
  if (!version)
    throw new SbomInvalid([
      `/specVersion: CycloneDX ${specVersion || '(missing)'} is not supported; use 1.4, 1.5 or 1.6`,
    ]);
  // The CycloneDX project's own validator and schemas (strict: unknown properties are errors).
  // One per spec version: building it compiles the schema, which takes longer than validating.
  let validator = validators.get(version);
  if (!validator) {
    validator = new Validation.JsonStrictValidator(version);
    validators.set(version, validator);
  }
  const errors = (await validator.validate(JSON.stringify(d))) as Array<{
    instancePath?: string;
    message?: string;
    params?: unknown;
  }> | null;
  if (errors && errors.length > 0)
    throw new SbomInvalid(
      errors
        .slice(0, 100)
        .map(
          (e) =>
            `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
        ),
    );
  const components: SbomComponent[] = [];
  const visit = (list: unknown): void => {
    for (const item of Array.isArray(list) ? list : []) {
      const c = item as Record<string, unknown>;
      if (components.length >= MAX_COMPONENTS)
        throw new SbomInvalid([`more than ${MAX_COMPONENTS} components`]);
      const supplier = (c.supplier as { name?: unknown } | undefined)?.name ?? c.publisher ?? c.author;
      components.push({
        bomRef: typeof c['bom-ref'] === 'string' ? c['bom-ref'] : null,
        type: String(c.type ?? 'library'),
        name: String(c.group ? `${c.group}/${c.name}` : c.name),
        version: typeof c.version === 'string' ? c.version : null,
        purl: typeof c.purl === 'string' ? c.purl : null,
        cpe: typeof c.cpe === 'string' ? c.cpe : null,
        hashes: (Array.isArray(c.hashes) ? c.hashes : []).map((h) => ({
          alg: String((h as { alg?: unknown }).alg),
          content: String((h as { content?: unknown }).content),
        })),
        supplier: typeof supplier === 'string' ? supplier : null,
      });
      visit(c.components);
    }
  };
  visit(d.components);
  return {
    format: 'cyclonedx',
    specVersion,
    serialNumber: typeof d.serialNumber === 'string' ? d.serialNumber : null,
    components,
  };
}

const spdxChecksum: Record<string, string> = {
  SHA1: 'SHA-1',
  SHA256: 'SHA-256',
  SHA384: 'SHA-384',
  SHA512: 'SHA-512',
  MD5: 'MD5',
  'SHA3-256': 'SHA3-256',
  'SHA3-384': 'SHA3-384',
  'SHA3-512': 'SHA3-512',
  'BLAKE2b-256': 'BLAKE2b-256',
  'BLAKE2b-384': 'BLAKE2b-384',
  'BLAKE2b-512': 'BLAKE2b-512',
  BLAKE3: 'BLAKE3',
};

/**
 * SPDX 2.3 JSON (spec clauses 6 and 7): the document fields every SPDX 2.3 document must have,
 * then each package's required fields. Packages become components; files and snippets are not
 * components of the device image and are left out.
 */
function parseSpdx(d: Record<string, unknown>): ParsedSbom {
  const problems: string[] = [];
  if (d.spdxVersion !== 'SPDX-2.3')
    problems.push(`/spdxVersion: ${String(d.spdxVersion)} is not supported; use SPDX-2.3`);
  if (d.SPDXID !== 'SPDXRef-DOCUMENT')
    problems.push('/SPDXID: must be "SPDXRef-DOCUMENT" (SPDX 2.3 clause 6.3)');
  if (typeof d.name !== 'string' || d.name === '') problems.push('/name: required (clause 6.4)');
  if (typeof d.dataLicense !== 'string') problems.push('/dataLicense: required (clause 6.2)');
  if (typeof d.documentNamespace !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(d.documentNamespace))
    problems.push('/documentNamespace: required, a URI (clause 6.5)');
  const creation = d.creationInfo as { created?: unknown; creators?: unknown } | undefined;
  if (!creation || typeof creation.created !== 'string' || Number.isNaN(Date.parse(creation.created)))
    problems.push('/creationInfo/created: required, a date-time (clause 6.9)');
  if (!creation || !Array.isArray(creation.creators) || creation.creators.length === 0)
    problems.push('/creationInfo/creators: required, at least one (clause 6.8)');
  if (d.packages !== undefined && !Array.isArray(d.packages)) problems.push('/packages: must be a list');
  const packages = Array.isArray(d.packages) ? d.packages : [];
  if (packages.length > MAX_COMPONENTS) problems.push(`/packages: more than ${MAX_COMPONENTS} packages`);
  const components: SbomComponent[] = [];
  for (const [i, item] of packages.entries()) {
    const p = (item ?? {}) as Record<string, unknown>;
    const where = `/packages/${i}`;
    if (typeof p.SPDXID !== 'string' || !p.SPDXID.startsWith('SPDXRef-'))
      problems.push(`${where}/SPDXID: required, "SPDXRef-…" (clause 7.2)`);
    if (typeof p.name !== 'string' || p.name === '') problems.push(`${where}/name: required (clause 7.1)`);
    if (typeof p.downloadLocation !== 'string')
      problems.push(`${where}/downloadLocation: required (clause 7.7)`);
    const refs = Array.isArray(p.externalRefs) ? (p.externalRefs as Array<Record<string, unknown>>) : [];
    for (const [j, ref] of refs.entries())
      if (
        typeof ref.referenceCategory !== 'string' ||
        typeof ref.referenceType !== 'string' ||
        typeof ref.referenceLocator !== 'string'
      )
        problems.push(
          `${where}/externalRefs/${j}: referenceCategory, referenceType and referenceLocator are required (clause 7.21)`,
        );
    const locator = (type: string): string | null =>
      (refs.find((r) => r.referenceType === type)?.referenceLocator as string | undefined) ?? null;
    const supplier =
      typeof p.supplier === 'string' && p.supplier !== 'NOASSERTION'
        ? p.supplier.replace(/^(Organization|Person):\s*/, '')
        : null;
    components.push({
      bomRef: typeof p.SPDXID === 'string' ? p.SPDXID : null,
      type: 'library',
      name: String(p.name ?? ''),
      version: typeof p.versionInfo === 'string' ? p.versionInfo : null,
      purl: locator('purl'),
      cpe: locator('cpe23Type') ?? locator('cpe22Type'),
      hashes: (Array.isArray(p.checksums) ? (p.checksums as Array<Record<string, unknown>>) : []).map(
        (c) => ({
          alg: spdxChecksum[String(c.algorithm)] ?? String(c.algorithm),
          content: String(c.checksumValue),
        }),
      ),
      supplier,
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
