import type { Services } from '../services.js';
import { VERSION } from '../version.js';
import { annexII } from './annex-ii.js';
import { collectEvidence, type EvidenceData } from './collect.js';
import { craAnnexI, etsiEn303645 } from './etsi-303-645.js';
import { indexHtml } from './index-html.js';
import { EVIDENCE_FORMAT, type EvidenceManifest, MANIFEST_FILE, sealPack } from './manifest.js';

const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
/** A release version as a file name: anything but letters, digits, dot, dash and underscore becomes `_`. */
const fileSafe = (value: string): string => value.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');

/** The pack's files, by path: the documents of issue 21 §1 and the ETSI/CRA table of §2. */
export function packFiles(
  data: EvidenceData,
  meta: { createdAt: string; signingKey: string },
): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set(
    'product.json',
    json({
      product: data.product,
      supportPeriod: { ends: data.product.supportEnds, placedOnMarket: data.product.placedOnMarket },
      manufacturer: { organization: data.org.name, brands: data.brands },
      securityContact: data.org.securityContact,
      releases: data.releases,
    }),
  );
  for (const { files: sbomFiles } of data.sboms)
    for (const f of sbomFiles) files.set(`sboms/${fileSafe(f.name)}`, f.bytes);
  files.set('update-mechanism.json', json(data.updateMechanism));
  files.set('security-updates.json', json(data.securityUpdates));
  files.set('metrics.json', json(data.metrics));
  files.set('cvd.json', json(data.cvd));
  files.set('report-cases.json', json({ cases: data.reportCases }));
  files.set('audit-excerpt.json', json(data.audit));
  files.set('annex-ii.en.md', Buffer.from(annexII(data, 'en')));
  files.set('annex-ii.de.md', Buffer.from(annexII(data, 'de')));
  files.set(
    'etsi-en-303-645.json',
    json({ standard: 'ETSI EN 303 645 V2.1.1', provisions: etsiEn303645, craAnnexI }),
  );
  const listed = [...files.keys(), 'index.html', MANIFEST_FILE].sort();
  files.set(
    'index.html',
    Buffer.from(
      indexHtml({
        title: `Evidence pack: ${data.product.name} (${data.product.modelNumber})${data.release ? `, release ${data.release.version}` : ''}, ${data.org.name}`,
        createdAt: meta.createdAt,
        signingKey: meta.signingKey,
        files: listed,
        etsi: etsiEn303645,
        craAnnexI,
      }),
    ),
  );
  return files;
}

/**
 * Builds and signs the evidence pack of one product, or of one of its releases (`releaseId`). The
 * manifest is signed with the organisation's own key (evidence/org-key.ts, decision 0022): the
 * pack is the organisation's statement, and a verifier pins the key the organisation publishes.
 */
export async function buildEvidencePack(
  services: Services,
  orgId: string,
  productId: string,
  readSecurityTxt: (slug: string) => Promise<string | null>,
  options: { releaseId?: string } = {},
): Promise<{ archive: Buffer; manifest: EvidenceManifest }> {
  const data = await collectEvidence(services, orgId, productId, readSecurityTxt, options);
  const key = await services.orgKeys.current(orgId);
  const createdAt = services.clock.now().toISOString();
  const files = packFiles(data, { createdAt, signingKey: key.publicKey });
  return sealPack(
    files,
    {
      format: EVIDENCE_FORMAT,
      createdAt,
      brickless: VERSION,
      organization: { id: data.org.id, slug: data.org.slug, name: data.org.name },
      product: { id: data.product.id, modelNumber: data.product.modelNumber, name: data.product.name },
      ...(data.release ? { release: { id: data.release.id, version: data.release.version } } : {}),
    },
    key,
  );
}
