import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import parseRange from 'range-parser';
import { DomainError } from '../errors.js';
import {
  ArtifactMissing,
  type ArtifactStore,
  ArtifactStoreUnavailable,
  type ByteRange,
} from './artifact-store.js';

/**
 * Opens the bytes before any status is sent, so a store that lost an object or cannot be reached
 * answers 503 with a reason instead of a 200 cut short (issue 19 §4); the cause goes to the log.
 */
async function open(
  request: FastifyRequest,
  reply: FastifyReply,
  store: ArtifactStore,
  artifact: { orgId: string; sha256: string },
  range?: ByteRange,
): Promise<Readable> {
  try {
    return await store.read(artifact.orgId, artifact.sha256, range);
  } catch (error) {
    if (!(error instanceof ArtifactMissing || error instanceof ArtifactStoreUnavailable)) throw error;
    request.log.error({ err: error }, 'artifact read failed');
    reply.removeHeader('content-disposition').removeHeader('etag').removeHeader('accept-ranges');
    throw new DomainError(
      'artifact-store-unavailable',
      error instanceof ArtifactMissing
        ? `the bytes of artifact ${artifact.sha256} are missing from the ${store.kind} artifact store`
        : `the ${store.kind} artifact store cannot be reached; try again later`,
    );
  }
}

/**
 * Streams a stored artifact with the HTTP caching and range semantics a device needs to resume a
 * broken download (RFC 9110 13.1.2 If-None-Match, 13.1.5 If-Range, 14.2 Range, 15.3.7 206,
 * 15.5.17 416). The ETag is the SHA-256, so it never changes for the same address.
 */
export async function sendArtifact(
  request: FastifyRequest,
  reply: FastifyReply,
  store: ArtifactStore,
  artifact: { orgId: string; sha256: string; length: number; filename: string },
): Promise<FastifyReply> {
  const etag = `"${artifact.sha256}"`;
  reply
    .header('etag', etag)
    .header('accept-ranges', 'bytes')
    .header('content-type', 'application/octet-stream')
    .header('content-disposition', `attachment; filename="${artifact.filename}"`);
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*'))
    return reply.status(304).send();
  const rangeHeader = request.headers.range;
  const ifRange = request.headers['if-range'];
  // A range only applies while the representation is the one the client started with.
  if (rangeHeader && (ifRange === undefined || ifRange === etag)) {
    const ranges = parseRange(artifact.length, rangeHeader, { combine: true });
    if (ranges === -1) return reply.status(416).header('content-range', `bytes */${artifact.length}`).send();
    // A malformed header is ignored (RFC 9110 14.2); several ranges get the whole file.
    if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1) {
      const { start, end } = ranges[0] as { start: number; end: number };
      const body = await open(request, reply, store, artifact, { start, end });
      return reply
        .status(206)
        .header('content-range', `bytes ${start}-${end}/${artifact.length}`)
        .header('content-length', end - start + 1)
        .send(body);
    }
  }
  const body = await open(request, reply, store, artifact);
  return reply.header('content-length', artifact.length).send(body);
}
