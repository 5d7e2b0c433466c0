import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { Id, IsoDateTime, problemResponses } from '../http/schemas.js';
import { Email, SecretToken } from '../people/schemas.js';
import type { Services } from '../services.js';
import { DeviceParams, OwnedDeviceSchema, owner, ownerOf } from './routes.js';
import { INVITATION_DAYS, type MemberRole, memberRoles } from './sharing.js';

const MemberRoleSchema = Type.Union(
  memberRoles.map((r) => Type.Literal(r)),
  { description: 'user: sees and controls the device; guest: sees it only' },
);
const RoleSchema = Type.Union(['owner', ...memberRoles].map((r) => Type.Literal(r)));
const InvitationSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: MemberRoleSchema,
  createdAt: IsoDateTime,
  expiresAt: IsoDateTime,
});
const ShareSchema = Type.Object({
  ownerId: Type.String(),
  email: Type.String(),
  role: RoleSchema,
  since: IsoDateTime,
});
const MemberParams = Type.Object({ deviceId: Id('dev'), ownerId: Id('own') });
const InvitationParams = Type.Object({
  deviceId: Id('dev'),
  invitationId: Type.String({ maxLength: 40 }),
});
const LocalModeSchema = Type.Object({
  deviceId: Type.String(),
  status: Type.Union([Type.Literal('requested'), Type.Literal('local')]),
  version: Type.Integer(),
  requestedAt: IsoDateTime,
  record: Type.Unknown({ description: 'the signed endpoint record the device receives' }),
  instructions: Type.Object({
    documentation: Type.String(),
    needs: Type.Array(Type.String()),
    reversible: Type.String(),
  }),
});

/**
 * Sharing with household members, transfer on resale and local mode chosen by the owner (issue
 * 18 §1, §7), on the owner's own routes and session (owners/routes.ts registers them).
 */
export function sharingRoutes(app: FastifyInstance, services: Services): void {
  app.post<{ Params: { deviceId: string }; Body: { email: string; role: MemberRole } }>(
    '/v1/owner/devices/:deviceId/shares',
    {
      schema: {
        ...owner,
        summary: 'Invite a household member to the device by e-mail, as user or guest',
        description:
          `The link is valid for ${INVITATION_DAYS} days and once; its secret follows \`#\`. Only the device's owner invites. ` +
          'At most 20 invitations an hour per owner and 5 per invited address.',
        params: DeviceParams,
        body: Type.Object({ email: Email, role: MemberRoleSchema }, { additionalProperties: false }),
        response: { 201: InvitationSchema, ...problemResponses },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await services.sharing.invite(
            ownerOf(request).ownerId,
            request.params.deviceId,
            request.body.email,
            request.body.role,
          ),
        ),
  );

  app.get<{ Params: { deviceId: string } }>(
    '/v1/owner/devices/:deviceId/shares',
    {
      schema: {
        ...owner,
        summary: 'Who uses the device, and the open invitations (for its owner)',
        params: DeviceParams,
        response: {
          200: Type.Object({ members: Type.Array(ShareSchema), invitations: Type.Array(InvitationSchema) }),
          ...problemResponses,
        },
      },
    },
    async (request) => services.sharing.list(ownerOf(request).ownerId, request.params.deviceId),
  );

  app.patch<{ Params: { deviceId: string; ownerId: string }; Body: { role: MemberRole } }>(
    '/v1/owner/devices/:deviceId/shares/:ownerId',
    {
      schema: {
        ...owner,
        summary: 'Change a household member’s role (user or guest)',
        params: MemberParams,
        body: Type.Object({ role: MemberRoleSchema }, { additionalProperties: false }),
        response: { 200: ShareSchema, ...problemResponses },
      },
    },
    async (request) =>
      services.sharing.changeRole(
        ownerOf(request).ownerId,
        request.params.deviceId,
        request.params.ownerId,
        request.body.role,
      ),
  );

  app.delete<{ Params: { deviceId: string; ownerId: string } }>(
    '/v1/owner/devices/:deviceId/shares/:ownerId',
    {
      schema: {
        ...owner,
        summary: 'End a share: the owner removes a member, or a member leaves (their own id)',
        params: MemberParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await services.sharing.remove(
        ownerOf(request).ownerId,
        request.params.deviceId,
        request.params.ownerId,
      );
      return reply.status(204).send();
    },
  );

  app.delete<{ Params: { deviceId: string; invitationId: string } }>(
    '/v1/owner/devices/:deviceId/invitations/:invitationId',
    {
      schema: {
        ...owner,
        summary: 'Withdraw an open invitation',
        params: InvitationParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await services.sharing.revokeInvitation(
        ownerOf(request).ownerId,
        request.params.deviceId,
        request.params.invitationId,
      );
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { token: string } }>(
    '/v1/owner/shares/accept',
    {
      schema: {
        ...owner,
        summary: 'Accept an invitation, signed in with the address it was sent to',
        description:
          'The token is the part of the link after `#`. Unknown, used and expired invitations get one answer (400).',
        body: Type.Object({ token: SecretToken }, { additionalProperties: false }),
        response: { 201: OwnedDeviceSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const me = ownerOf(request).ownerId;
      const { deviceId } = await services.sharing.accept(me, request.body.token);
      return reply.status(201).send(await services.claims.get(me, deviceId));
    },
  );

  app.post<{ Params: { deviceId: string } }>(
    '/v1/owner/devices/:deviceId/transfer',
    {
      schema: {
        ...owner,
        summary:
          'Transfer the device on resale: a new claim code for the buyer, a factory reset for the device',
        description:
          'Ends the seller’s ownership, every share and open invitation; queues the reserved factory-reset command (valid 7 days); ' +
          'returns a new claim code, shown once, for the buyer. Only the owner transfers.',
        params: DeviceParams,
        response: {
          201: Type.Object({ deviceId: Type.String(), claimCode: Type.String(), commandId: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await services.transfers.transfer(ownerOf(request).ownerId, request.params.deviceId)),
  );

  app.post<{ Params: { deviceId: string } }>(
    '/v1/owner/devices/:deviceId/local-mode',
    {
      schema: {
        ...owner,
        summary: 'Switch the device to local mode on the owner’s network, for good (docs/local-mode.md)',
        description:
          'The same signed record a sunset sends, for this device only. The answer says what the device needs. ' +
          'Asking again returns the same request (200). Only the owner switches it.',
        params: DeviceParams,
        response: { 200: LocalModeSchema, 201: LocalModeSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { created, mode } = await services.ownerLocalMode.request(
        ownerOf(request).ownerId,
        request.params.deviceId,
      );
      return reply.status(created ? 201 : 200).send(mode);
    },
  );

  app.get<{ Params: { deviceId: string } }>(
    '/v1/owner/devices/:deviceId/local-mode',
    {
      schema: {
        ...owner,
        summary: 'Whether the device was switched to local mode, and whether it did',
        params: DeviceParams,
        response: { 200: LocalModeSchema, ...problemResponses },
      },
    },
    async (request) => {
      const mode = await services.ownerLocalMode.get(ownerOf(request).ownerId, request.params.deviceId);
      if (!mode) {
        await services.claims.get(ownerOf(request).ownerId, request.params.deviceId);
        throw new DomainError('not-found', 'this device was not switched to local mode');
      }
      return mode;
    },
  );
}
