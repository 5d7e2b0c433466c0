import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { IsoDateTime } from '../http/schemas.js';
import type { Services } from '../services.js';
import { CHECKPOINT_FORMAT } from './checkpoints.js';
import { latestPublished, PUBLISHED_FORMAT, PUBLISHED_PATH } from './publisher.js';

const SignedCheckpointSchema = Type.Object({
  checkpoint: Type.Object({
    format: Type.Literal(CHECKPOINT_FORMAT),
    chain: Type.String({ description: 'the audit chain: an organisation id, or "platform"' }),
    size: Type.Integer({ description: 'entries in the chain' }),
    head: Type.String({ description: 'SHA-256 (hex) of the last entry' }),
    at: IsoDateTime,
    key: Type.String({ description: 'the deposit public key that signed it (base64url Ed25519)' }),
  }),
  signature: Type.String({ description: 'Ed25519 over the RFC 8785 canonical JSON of `checkpoint`' }),
});

const KeyRotationSchema = Type.Object({
  statement: Type.Object({
    format: Type.String(),
    from: Type.String(),
    to: Type.String(),
    at: IsoDateTime,
  }),
  signature: Type.String({ description: 'by `from` over the canonical JSON of `statement`' }),
});

const PublishedSchema = Type.Object({
  format: Type.Literal(PUBLISHED_FORMAT),
  publishedAt: IsoDateTime,
  key: Type.String(),
  keyRotations: Type.Array(KeyRotationSchema),
  checkpoints: Type.Array(SignedCheckpointSchema),
});

/**
 * The signed audit checkpoints, public (no token) so that anyone outside the operator (an escrow
 * agent, a monitor) can fetch and keep them; `brickless audit verify --checkpoints URL` checks the
 * log against them (decision 0013).
 */
export function auditCheckpointRoutes(app: FastifyInstance, { audit }: Pick<Services, 'audit'>): void {
  app.get(
    PUBLISHED_PATH,
    {
      schema: {
        tags: ['public', 'audit'],
        summary:
          'The latest signed checkpoint of every audit chain, for outside witnesses to keep (no token needed)',
        response: { 200: PublishedSchema, 404: Type.Ref('Problem') },
      },
    },
    async (_request, reply) => {
      const set = latestPublished(audit);
      if (!set)
        throw new DomainError(
          'not-found',
          'this server publishes no audit checkpoints (audit.checkpointIntervalMinutes is 0)',
        );
      // Witnesses poll: let caches keep a set briefly, never a stale one for long.
      reply.header('cache-control', 'public, max-age=60');
      return set;
    },
  );
}
