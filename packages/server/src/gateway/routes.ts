import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { authorizeOrg } from '../http/authorize.js';
import { Id, IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { type CredentialRequest, credentialKinds } from './credentials.js';

export const Credential = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  kind: Type.Union(credentialKinds.map((k) => Type.Literal(k))),
  fingerprint: Nullable(Type.String({ description: 'SHA-256 of the certificate (DER), hex' })),
  notAfter: Nullable(IsoDateTime),
  createdAt: IsoDateTime,
  revokedAt: Nullable(IsoDateTime),
});

/** A CSR in PEM; 16 KiB holds any sane request. */
export const Csr = Type.String({ minLength: 1, maxLength: 16_384 });

export const CredentialRequestBody = Type.Object(
  {
    kind: Type.Optional(
      Type.Union([Type.Literal('secret'), Type.Literal('certificate')], {
        description: 'secret (default) or an X.509 client certificate from the organisation device CA',
      }),
    ),
    csr: Type.Optional(Csr),
  },
  { additionalProperties: false },
);

export const IssuedCredential = Type.Object({
  credential: Credential,
  secret: Type.Optional(Type.String({ description: 'MQTT password and HTTP credential; shown once' })),
  certificate: Type.Optional(Type.String({ description: 'the client certificate (PEM)' })),
  privateKey: Type.Optional(
    Type.String({ description: 'PKCS#8 PEM, only when no CSR was given; shown once, stored nowhere' }),
  ),
  caCertificate: Type.Optional(Type.String({ description: 'the organisation device CA certificate (PEM)' })),
});

export function toCredentialRequest(body: { kind?: string; csr?: string } | undefined): CredentialRequest {
  return body?.kind === 'certificate' || body?.csr
    ? { kind: 'certificate', csr: body.csr }
    : { kind: 'secret' };
}

const Params = Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') });
const DeviceCa = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  certificate: Type.String({ description: 'PEM' }),
  fingerprint: Type.String(),
  notAfter: IsoDateTime,
  createdAt: IsoDateTime,
});

export function credentialRoutes(
  app: FastifyInstance,
  { orgs, credentials, deviceCa }: Pick<Services, 'orgs' | 'credentials' | 'deviceCa'>,
): void {
  const tags = ['devices'];

  app.post<{
    Params: { org: string; deviceId: string };
    Body: { kind?: 'secret' | 'certificate'; csr?: string };
  }>(
    '/v1/orgs/:org/devices/:deviceId/credentials',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary:
          'Issue the device a new credential (a secret, or a client certificate from its CSR); the previous one is revoked and its connection closed',
        params: Params,
        body: CredentialRequestBody,
        response: { 201: IssuedCredential, ...problemResponses },
      },
      // No body at all means the default: a new secret.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const issued = await credentials.issue(
        principal.actor,
        orgId,
        request.params.deviceId,
        toCredentialRequest(request.body),
      );
      return reply.status(201).header('cache-control', 'no-store').send(issued);
    },
  );

  app.get<{ Params: { org: string; deviceId: string } }>(
    '/v1/orgs/:org/devices/:deviceId/credentials',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: "List the device's credentials (never the secrets)",
        params: Params,
        response: { 200: Type.Object({ items: Type.Array(Credential) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await credentials.list(orgId, request.params.deviceId) };
    },
  );

  app.delete<{ Params: { org: string; deviceId: string } }>(
    '/v1/orgs/:org/devices/:deviceId/credentials',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Revoke every credential of the device and disconnect it at once',
        params: Params,
        response: { 200: Type.Object({ revoked: Type.Integer() }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return { revoked: await credentials.revokeAll(principal.actor, orgId, request.params.deviceId) };
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/device-ca',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: "The organisation's device CA certificate (created with the first device certificate)",
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        response: { 200: DeviceCa, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const ca = await deviceCa.get(orgId);
      if (!ca)
        throw new DomainError(
          'not-found',
          'this organisation has no device CA yet: it is created with the first device certificate',
        );
      return ca;
    },
  );
}
