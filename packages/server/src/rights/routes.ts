import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { problemResponses } from '../http/schemas.js';
import { OWNER_SESSION_COOKIE, type OwnerSession } from '../owners/sign-in.js';
import type { Services } from '../services.js';
import { DELETE_FRESH_MINUTES } from './service.js';

const tags = ['owners'];
const owner = { 'x-brickless-permission': 'owner' as const, security: [{ ownerSession: [] }], tags };

/**
 * An owner's data rights (issue 18 §6): the export (GDPR Art. 15, 20) and the deletion of the
 * account with their devices' personal data (Art. 17; ETSI EN 303 645 5.11-1). Registered inside
 * the owner routes' scope, so the owner session and CSRF checks there apply.
 */
export function dataRightsRoutes(
  app: FastifyInstance,
  services: Pick<Services, 'dataRights'>,
  ownerOf: (request: FastifyRequest) => OwnerSession,
): void {
  app.get(
    '/v1/owner/export',
    {
      schema: {
        ...owner,
        summary: 'Download all data about the owner and their devices: one zip of JSON and CSV files',
        description:
          'README.txt in the archive explains every file. Device data covers the time since the owner claimed each device. ' +
          'The archive is streamed as it is made. Audited as owner.export.',
        response: {
          200: Type.String({ format: 'binary', description: 'application/zip' }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { stream, filename } = await services.dataRights.export(ownerOf(request).ownerId);
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .send(stream);
    },
  );

  app.delete<{ Body: { confirmEmail: string } }>(
    '/v1/owner/me',
    {
      schema: {
        ...owner,
        summary:
          'Delete the account: releases every device and deletes the personal data of the devices owned (irreversible)',
        description:
          `Confirm by typing the account's e-mail address in confirmEmail, from a session opened within the last ${DELETE_FRESH_MINUTES} minutes (sign in with a new link first; 403 otherwise). ` +
          "Deletes the readings, events and command history of each owned device since the owner's claim and empties its twin; the devices stay in the maker's fleet. " +
          'Ends every session. Audited as owner.delete with the account id and counts only.',
        body: Type.Object(
          { confirmEmail: Type.String({ minLength: 1, maxLength: 254 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            ownerId: Type.String(),
            devicesReleased: Type.Integer(),
            deleted: Type.Record(Type.String(), Type.Integer()),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const session = ownerOf(request);
      const report = await services.dataRights.deleteAccount(session, request.body.confirmEmail);
      reply.clearCookie(OWNER_SESSION_COOKIE, {
        path: '/',
        secure: true,
        httpOnly: true,
        sameSite: 'strict',
      });
      return report;
    },
  );
}
