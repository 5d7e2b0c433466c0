import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Id, Nullable, problemResponses, Serial, Tag } from '../http/schemas.js';
import type { Services } from '../services.js';
import { MAX_PROVISION_BATCH, type ProvisionRequest } from './provisioning.js';

export function provisioningRoutes(
  app: FastifyInstance,
  { orgs, provisioning }: Pick<Services, 'orgs' | 'provisioning'>,
): void {
  app.post<{ Params: { org: string }; Body: ProvisionRequest }>(
    '/v1/orgs/:org/provisioning',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags: ['devices'],
        summary:
          'Register a batch of devices with a unique credential each, in one transaction (factory line)',
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        body: Type.Object(
          {
            productId: Id('prd'),
            brandId: Type.Optional(Nullable(Id('brd'))),
            firmwareVersion: Type.Optional(
              Nullable(Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$' })),
            ),
            tags: Type.Optional(Type.Array(Tag, { maxItems: 32 })),
            serials: Type.Array(Serial, { minItems: 1, maxItems: MAX_PROVISION_BATCH }),
            credential: Type.Optional(
              Type.Union([Type.Literal('secret'), Type.Literal('factory'), Type.Literal('certificate')], {
                description:
                  'secret (default); factory: a one-time secret the device exchanges for its credential (claim); certificate: a client certificate and key',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            devices: Type.Array(
              Type.Object({
                deviceId: Type.String(),
                serial: Type.String(),
                secret: Type.Optional(Type.String()),
                factorySecret: Type.Optional(Type.String()),
                certificate: Type.Optional(Type.String()),
                privateKey: Type.Optional(Type.String()),
                claimCode: Type.String({
                  description:
                    "the owner's claim code for the label or QR code (80 bits, 4 groups of 4); shown only here, stored as a hash",
                }),
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const devices = await provisioning.provision(principal.actor, orgId, request.body);
      return reply.status(201).header('cache-control', 'no-store').send({ devices });
    },
  );
}
