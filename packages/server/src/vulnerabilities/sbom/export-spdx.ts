import { randomUUID } from 'node:crypto';
import type { Organization } from '../../fleet/organizations.js';
import type { Release } from '../../updates/releases.js';
import { releasePurl } from '../publication/statements.js';
import type { Sbom, StoredComponent } from './service.js';

/** Stored hash algorithm (CycloneDX spelling) → SPDX 2.3 checksum algorithm (clause 7.10). */
const spdxAlgorithm = new Map<string, string>([
  ['SHA-1', 'SHA1'],
  ['SHA-256', 'SHA256'],
  ['SHA-384', 'SHA384'],
  ['SHA-512', 'SHA512'],
  ['MD5', 'MD5'],
  ['SHA3-256', 'SHA3-256'],
  ['SHA3-384', 'SHA3-384'],
  ['SHA3-512', 'SHA3-512'],
  ['BLAKE2b-256', 'BLAKE2b-256'],
  ['BLAKE2b-384', 'BLAKE2b-384'],
  ['BLAKE2b-512', 'BLAKE2b-512'],
  ['BLAKE3', 'BLAKE3'],
]);

const RELEASE_ID = 'SPDXRef-Release';
/** The SPDX document's namespace prefix: a URI that names brickless's exports, never fetched. */
export const SPDX_NAMESPACE_BASE = 'https://spdx.brickless.invalid/sbom';

/**
 * The stored SBOM as SPDX 2.3 JSON (issue 21 §1): the release is the described package
 * (primaryPackagePurpose FIRMWARE), every stored component is a package with name, version, purl
 * and CPE as external references, checksums and supplier, CONTAINed by the release. The
 * namespace is unique per export (a new UUID), as SPDX clause 6.5 asks of every document.
 * No library: none of the SPDX generators kept up today targets SPDX 2.3 JSON from plain data
 * without pulling in a whole model, and the document is small and checked by the tests.
 */
export function exportSpdx(input: {
  sbom: Sbom;
  components: StoredComponent[];
  release: Release;
  product: { name: string; modelNumber: string };
  org: Organization;
  now: Date;
}): Record<string, unknown> {
  const packages = input.components.map((c) => {
    const checksums = c.hashes
      .filter((h) => spdxAlgorithm.has(h.alg) && /^[0-9a-fA-F]+$/.test(h.content))
      .map((h) => ({ algorithm: spdxAlgorithm.get(h.alg), checksumValue: h.content.toLowerCase() }));
    const externalRefs = [
      ...(c.purl
        ? [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: c.purl }]
        : []),
      ...(c.cpe
        ? [
            {
              referenceCategory: 'SECURITY',
              referenceType: c.cpe.startsWith('cpe:2.3:') ? 'cpe23Type' : 'cpe22Type',
              referenceLocator: c.cpe,
            },
          ]
        : []),
    ];
    return {
      SPDXID: `SPDXRef-Package-${c.index}`,
      name: c.name,
      ...(c.version ? { versionInfo: c.version } : {}),
      supplier: c.supplier ? `Organization: ${c.supplier}` : 'NOASSERTION',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      ...(checksums.length ? { checksums } : {}),
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      ...(externalRefs.length ? { externalRefs } : {}),
    };
  });
  const release = {
    SPDXID: RELEASE_ID,
    name: input.product.name,
    versionInfo: input.release.version,
    supplier: `Organization: ${input.org.name}`,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: input.release.sha256.toLowerCase() }],
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'FIRMWARE',
    externalRefs: [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: releasePurl(input.org.slug, input.product.modelNumber, input.release.version),
      },
    ],
  };
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.product.modelNumber} ${input.release.version}`,
    documentNamespace: `${SPDX_NAMESPACE_BASE}/${encodeURIComponent(input.org.slug)}/${input.release.id}/${randomUUID()}`,
    creationInfo: {
      created: `${input.now.toISOString().slice(0, 19)}Z`,
      creators: [`Organization: ${input.org.name}`, 'Tool: brickless'],
      comment: `Exported by brickless from the stored components of the SBOM uploaded as ${input.sbom.format} ${input.sbom.specVersion} (SHA-256 ${input.sbom.documentSha256}).`,
    },
    documentDescribes: [RELEASE_ID],
    packages: [release, ...packages],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: RELEASE_ID },
      ...packages.map((p) => ({
        spdxElementId: RELEASE_ID,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: p.SPDXID,
      })),
    ],
  };
}
