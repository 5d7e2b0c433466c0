import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import {
  Id,
  IsoDateTime,
  Nullable,
  PageOf,
  PageQuery,
  problemResponses,
  Serial,
  Tag,
} from '../http/schemas.js';
import type { Services } from '../services.js';
import {
  type CreateDevice,
  claimStates,
  type DeviceFilter,
  type DeviceStatus,
  deviceStatuses,
  type UpdateDevice,
} from './devices.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const DeviceSchema = Type.Object(
  {
    id: Type.String(),
    orgId: Type.String(),
    productId: Type.String(),
    brandId: Nullable(Type.String()),
    serial: Type.String(),
    hardwareId: Nullable(Type.String()),
    firmwareVersion: Nullable(Type.String()),
    tags: Type.Array(Type.String()),
    status: literals(deviceStatuses),
    claimState: literals(claimStates),
    createdAt: IsoDateTime,
    updatedAt: IsoDateTime,
    lastSeenAt: Nullable(IsoDateTime),
    deletedAt: Nullable(IsoDateTime),
    online: Type.Boolean({ description: 'holds a connection to the gateway now' }),
    connectedNode: Nullable(Type.String({ description: 'the brickless node holding the connection' })),
    ownership: Type.Optional(
      Type.Object(
        {
          claimed: Type.Boolean(),
          claimedAt: Nullable(IsoDateTime),
          localMode: Type.Optional(
            Type.Object(
              {
                requestedAt: IsoDateTime,
                status: Type.Union([Type.Literal('requested'), Type.Literal('local')]),
              },
              { description: 'the owner switched the device to local mode: it no longer uses this server' },
            ),
          ),
        },
        {
          description:
            'whether an owner claimed the device and when (GET of one device only; never who: docs/owners.md)',
        },
      ),
    ),
  },
  { $id: 'Device' },
);

const Text = (max: number) => Type.String({ minLength: 1, maxLength: max, pattern: '^[\\x21-\\x7e]+$' });
const Tags = Type.Array(Tag, { maxItems: 32 });
const Params = Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') });
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });

interface ListQuery {
  limit?: number;
  cursor?: string;
  productId?: string;
  brandId?: string;
  status?: DeviceStatus;
  online?: boolean;
  firmwareVersion?: string;
  serial?: string;
  q?: string;
  tag?: string[];
  exposed?: boolean;
  claimed?: boolean;
  includeDeleted?: boolean;
}

export function deviceRoutes(
  app: FastifyInstance,
  { orgs, devices, claims }: Pick<Services, 'orgs' | 'devices' | 'claims'>,
): void {
  const tags = ['devices'];

  app.post<{ Params: { org: string }; Body: CreateDevice }>(
    '/v1/orgs/:org/devices',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Register a device',
        params: OrgParams,
        body: Type.Object(
          {
            productId: Id('prd'),
            brandId: Type.Optional(Nullable(Id('brd'))),
            serial: Serial,
            hardwareId: Type.Optional(Nullable(Text(128))),
            firmwareVersion: Type.Optional(Nullable(Text(64))),
            tags: Type.Optional(Tags),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Device'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const device = await devices.create(principal.actor, orgId, request.body);
      return reply.status(201).header('location', `/v1/orgs/${orgId}/devices/${device.id}`).send(device);
    },
  );

  app.get<{ Params: { org: string }; Querystring: ListQuery }>(
    '/v1/orgs/:org/devices',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'List and search devices',
        params: OrgParams,
        querystring: Type.Object(
          {
            ...PageQuery,
            productId: Type.Optional(Id('prd')),
            brandId: Type.Optional(Id('brd')),
            status: Type.Optional(literals(deviceStatuses)),
            online: Type.Optional(Type.Boolean()),
            firmwareVersion: Type.Optional(Text(64)),
            serial: Type.Optional(Serial),
            q: Type.Optional(Type.String({ ...Serial, description: 'serial number prefix' })),
            tag: Type.Optional(
              Type.Array(Tag, { maxItems: 10, description: 'devices carrying all these tags' }),
            ),
            exposed: Type.Optional(
              Type.Boolean({
                description:
                  'true: devices running a release with at least one open vulnerability (in triage or affected); false: the others',
              }),
            ),
            claimed: Type.Optional(
              Type.Boolean({
                description:
                  'true: devices an owner claimed with their claim code (docs/owners.md); false: the others. Not claimState, the factory credential claim',
              }),
            ),
            includeDeleted: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('Device')), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { limit = 50, cursor, q, tag, ...rest } = request.query;
      const filter: DeviceFilter = { ...rest };
      if (q) filter.serialPrefix = q;
      if (tag) filter.tags = tag;
      return devices.list(orgId, { limit, cursor }, filter);
    },
  );

  app.get<{ Params: { org: string; deviceId: string }; Querystring: { includeDeleted?: boolean } }>(
    '/v1/orgs/:org/devices/:deviceId',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Get a device',
        params: Params,
        querystring: Type.Object(
          { includeDeleted: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('Device'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const device = await devices.get(orgId, request.params.deviceId, {
        includeDeleted: request.query.includeDeleted ?? false,
      });
      return { ...device, ownership: await claims.ownership(device.id) };
    },
  );

  app.patch<{ Params: { org: string; deviceId: string }; Body: UpdateDevice }>(
    '/v1/orgs/:org/devices/:deviceId',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Update a device',
        params: Params,
        body: Type.Object(
          {
            brandId: Type.Optional(Nullable(Id('brd'))),
            hardwareId: Type.Optional(Nullable(Text(128))),
            firmwareVersion: Type.Optional(Nullable(Text(64))),
            tags: Type.Optional(Tags),
            status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('Device'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return devices.update(principal.actor, orgId, request.params.deviceId, request.body);
    },
  );

  app.delete<{ Params: { org: string; deviceId: string } }>(
    '/v1/orgs/:org/devices/:deviceId',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Decommission a device (soft delete: its record and history stay)',
        params: Params,
        response: { 200: Type.Ref('Device'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return devices.delete(principal.actor, orgId, request.params.deviceId);
    },
  );
}
