/** What the advisory API answers (packages/server/src/vulnerabilities/publication/advisories.ts). */
export interface Advisory {
  id: string;
  trackingId: string;
  title: string;
  vulnerabilities: string[];
  productIds: string[];
  status: 'draft' | 'published';
  version: number;
  filename: string;
  initialReleaseDate: string | null;
  currentReleaseDate: string | null;
  document?: Record<string, unknown>;
  createdAt: string;
  createdBy: string;
}

/** Where the published document is served (public.routes.ts: the TLP:WHITE directory). */
export function publishedUrl(org: string, a: Advisory): string | null {
  if (a.status !== 'published' || !a.initialReleaseDate) return null;
  return `/public/orgs/${encodeURIComponent(org)}/csaf/white/${a.initialReleaseDate.slice(0, 4)}/${encodeURIComponent(a.filename)}`;
}
