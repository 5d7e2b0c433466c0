/** The shapes of the release pages, as the server's OpenAPI document declares them. */
export interface Release {
  id: string;
  productId: string;
  version: string;
  kind: 'security' | 'feature';
  securityVersion: number;
  hardware: string[];
  notes: string;
  filename: string;
  targetPath: string;
  sha256: string;
  length: number;
  sbomSha256: string | null;
  status: 'draft' | 'published';
  createdAt: string;
  createdBy: string;
  publishedAt: string | null;
}

export interface ProductName {
  id: string;
  name: string;
  modelNumber: string;
}

/** `GET /v1/orgs/{org}/updates`: the repository's state and the draft's signatures. */
export interface RepositoryStatus {
  initialized: boolean;
  draft: { version: number; releaseIds: string[]; signatures: number; threshold: number } | null;
  warnings: string[];
}

/** One target of TUF targets metadata (TUF 4.5): what the targets key signs. */
export interface TargetFile {
  length: number;
  hashes: Record<string, string>;
  custom?: { brickless?: { releaseId?: string; version?: string } };
}

/** `GET …/updates/targets/draft`. */
export interface TargetsDraft {
  version: number;
  metadata: { signed: { version: number; expires: string; targets: Record<string, TargetFile> } };
  releaseIds: string[];
  signatures: string[];
  threshold: number;
}
