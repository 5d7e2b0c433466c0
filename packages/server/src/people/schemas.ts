import { Type } from 'typebox';
import { orgRoles } from '../access/roles.js';
import { IsoDateTime, Name, Nullable } from '../http/schemas.js';
import { PASSWORD_MAX } from './passwords.js';
import { signInRequirements } from './policy.js';

export const Email = Type.String({ minLength: 3, maxLength: 254, description: 'e-mail address' });
export const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX * 4 });
export const OrgRoleSchema = Type.Union(orgRoles.map((r) => Type.Literal(r)));
/**
 * Role names as text: the service refuses an unknown one naming every role there is
 * (people/service.ts `parseRoles`), a clearer answer than a schema's "must be equal to constant".
 */
export const Roles = Type.Array(
  Type.String({ minLength: 1, maxLength: 40, description: orgRoles.join(', ') }),
  {
    minItems: 1,
    maxItems: orgRoles.length,
    uniqueItems: true,
  },
);
export const SecretToken = Type.String({
  pattern: '^[A-Za-z0-9_-]{43}$',
  description: 'the secret of the link',
});

export const PersonSchema = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    displayName: Type.String(),
    platformAdmin: Type.Boolean(),
    createdAt: IsoDateTime,
    lastSignInAt: Nullable(IsoDateTime),
    disabledAt: Nullable(IsoDateTime),
    factors: Type.Object({
      password: Type.Boolean(),
      totp: Type.Boolean(),
      passkeys: Type.Integer(),
      recoveryCodesLeft: Type.Integer(),
    }),
  },
  { $id: 'Person' },
);

export const MemberSchema = Type.Intersect([
  Type.Ref('Person'),
  Type.Object({ roles: Type.Array(Type.String()) }),
]);

export const InvitationSchema = Type.Object(
  {
    id: Type.String(),
    orgId: Nullable(Type.String()),
    email: Nullable(Type.String()),
    roles: Type.Array(Type.String()),
    platformAdmin: Type.Boolean(),
    createdAt: IsoDateTime,
    createdBy: Type.String(),
    expiresAt: IsoDateTime,
    acceptedAt: Nullable(IsoDateTime),
    acceptedBy: Nullable(Type.String()),
    revokedAt: Nullable(IsoDateTime),
  },
  { $id: 'Invitation' },
);

export const CreatedInvitation = Type.Object({
  url: Type.String({ description: 'the one-time link; shown once' }),
  token: Type.String({ description: 'the secret in the link, for scripts' }),
  invitation: Type.Ref('Invitation'),
});

export const CreateInvitation = Type.Object(
  {
    email: Email,
    roles: Roles,
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 })),
  },
  { additionalProperties: false },
);

export const SignedIn = Type.Object({
  person: Type.Ref('Person'),
  csrfToken: Type.String({ description: 'send it in the x-csrf-token header of every change' }),
  session: Type.String(),
  expiresAt: IsoDateTime,
  method: Type.String(),
});

export const SessionSchema = Type.Object({
  handle: Type.String(),
  method: Type.String(),
  createdAt: IsoDateTime,
  lastSeenAt: IsoDateTime,
  expiresAt: IsoDateTime,
  userAgent: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  current: Type.Boolean(),
});

export const PolicySchema = Type.Object(
  { require: Type.Union(signInRequirements.map((r) => Type.Literal(r))) },
  { additionalProperties: false },
);

export const DisplayName = Name;
