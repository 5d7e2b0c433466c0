import { randomUUID } from 'node:crypto';
import type { Organization } from '../../fleet/organizations.js';
import type { Release } from '../../updates/releases.js';
import { releasePurl } from '../publication/statements.js';
import type { Sbom, StoredComponent } from './service.js';

const cdxTypes = new Set([
  'application',
  'framework',
  'library',
  'container',
  'platform',
  'operating-system',
  'device',
  'device-driver',
  'firmware',
  'file',
  'machine-learning-model',
  'data',
  'cryptographic-asset',
]);
const cdxHash = new Set([
  'MD5',
  'SHA-1',
  'SHA-256',
  'SHA-384',
  'SHA-512',
  'SHA3-256',
  'SHA3-384',
  'SHA3-512',
  'BLAKE2b-256',
  'BLAKE2b-384',
  'BLAKE2b-512',
  'BLAKE3',
]);

/**
 * The stored SBOM as CycloneDX 1.6 JSON: the release is the metadata component (type firmware),
 * every stored component keeps name, version, purl, CPE, hashes and supplier. Validated against
 * the CycloneDX 1.6 schema in the tests.
 */
export function exportCycloneDx(input: {
  sbom: Sbom;
  components: StoredComponent[];
  release: Release;
  product: { name: string; modelNumber: string };
  org: Organization;
  now: Date;
}): Record<string, unknown> {
  const refs = new Set<string>();
  const components = input.components.map((c) => {
    let ref = c.bomRef ?? `component-${c.index}`;
    if (refs.has(ref)) ref = `${ref}#${c.index}`;
    refs.add(ref);
    const hashes = c.hashes.filter((h) => cdxHash.has(h.alg) && /^[0-9a-fA-F]+$/.test(h.content));
    return {
      type: cdxTypes.has(c.type) ? c.type : 'library',
      'bom-ref': ref,
      name: c.name,
      ...(c.version ? { version: c.version } : {}),
      ...(c.supplier ? { supplier: { name: c.supplier } } : {}),
      ...(hashes.length ? { hashes } : {}),
      ...(c.cpe ? { cpe: c.cpe } : {}),
      ...(c.purl ? { purl: c.purl } : {}),
    };
  });
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: input.now.toISOString(),
      tools: { components: [{ type: 'application', name: 'brickless' }] },
      component: {
        type: 'firmware',
        'bom-ref': input.release.id,
        name: input.product.name,
        version: input.release.version,
        purl: releasePurl(input.org.slug, input.product.modelNumber, input.release.version),
        hashes: [{ alg: 'SHA-256', content: input.release.sha256 }],
      },
      manufacturer: { name: input.org.name },
      properties: [
        { name: 'brickless:sbom:source-format', value: `${input.sbom.format} ${input.sbom.specVersion}` },
        { name: 'brickless:sbom:source-sha256', value: input.sbom.documentSha256 },
      ],
    },
    components,
  };
}
