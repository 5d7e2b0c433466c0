import { messages } from '../../i18n/index.js';

export const p = messages({
  en: {
    listTitle: 'People in this organisation',
    person: 'Person',
    email: 'E-mail address',
    roles: 'Roles',
    rolesOf: (name: string) => `Roles of ${name}`,
    signIn: 'Sign-in',
    lastSignIn: 'Last sign-in',
    saveRoles: 'Save roles',
    saveRolesOf: (name: string) => `Save roles (${name})`,
    rolesSaved: (name: string) => `Roles of ${name} saved.`,
    noRole: 'Choose at least one role. To take every role away, remove the person instead.',
    remove: 'Remove',
    removeOf: (name: string) => `Remove ${name}`,
    removeQuestion: 'Remove from the organisation? Their tokens here stop working.',
    removed: (name: string) => `${name} removed from the organisation.`,
    factors: (passkeys: number, totp: boolean) =>
      [
        passkeys > 0 ? `${passkeys} passkey${passkeys === 1 ? '' : 's'}` : null,
        totp ? 'authenticator app' : null,
      ]
        .filter(Boolean)
        .join(', ') || 'password only',
    you: '(you)',
    inviteTitle: 'Invite a person',
    inviteIntro:
      'The person gets a one-time link to set up their account; you pass it on yourself (brickless sends no e-mail).',
    inviteRoles: 'Roles to give',
    expiresInDays: 'Link valid for (days)',
    expiresHint: '1 to 30 days.',
    invite: 'Create invitation link',
    invitationLink: (email: string) => `Invitation link for ${email}`,
    pendingTitle: 'Pending invitations',
    pendingEmpty: 'No pending invitations.',
    readOnly: 'You can read people, roles and invitations for a review; an administrator changes them.',
    revokeInvitationOf: (email: string) => `Revoke the invitation of ${email}`,
    revokeInvitationQuestion: 'Revoke this invitation? Its link stops working.',
    invitationRevoked: (email: string) => `The invitation of ${email} was revoked.`,
  },
  de: {
    listTitle: 'Personen in dieser Organisation',
    person: 'Person',
    email: 'E-Mail-Adresse',
    roles: 'Rollen',
    rolesOf: (name: string) => `Rollen von ${name}`,
    signIn: 'Anmeldung',
    lastSignIn: 'Letzte Anmeldung',
    saveRoles: 'Rollen speichern',
    saveRolesOf: (name: string) => `Rollen speichern (${name})`,
    rolesSaved: (name: string) => `Rollen von ${name} gespeichert.`,
    noRole:
      'Wählen Sie mindestens eine Rolle. Um alle Rollen zu entziehen, entfernen Sie die Person stattdessen.',
    remove: 'Entfernen',
    removeOf: (name: string) => `${name} entfernen`,
    removeQuestion: 'Aus der Organisation entfernen? Ihre Tokens hier funktionieren dann nicht mehr.',
    removed: (name: string) => `${name} wurde aus der Organisation entfernt.`,
    factors: (passkeys: number, totp: boolean) =>
      [
        passkeys > 0 ? `${passkeys} Passkey${passkeys === 1 ? '' : 's'}` : null,
        totp ? 'Authenticator-App' : null,
      ]
        .filter(Boolean)
        .join(', ') || 'nur Passwort',
    you: '(Sie)',
    inviteTitle: 'Person einladen',
    inviteIntro:
      'Die Person erhält einen einmaligen Link, um ihr Konto einzurichten; Sie geben ihn selbst weiter (brickless versendet keine E-Mails).',
    inviteRoles: 'Zu vergebende Rollen',
    expiresInDays: 'Link gültig für (Tage)',
    expiresHint: '1 bis 30 Tage.',
    invite: 'Einladungslink erstellen',
    invitationLink: (email: string) => `Einladungslink für ${email}`,
    pendingTitle: 'Offene Einladungen',
    pendingEmpty: 'Keine offenen Einladungen.',
    readOnly:
      'Sie können Personen, Rollen und Einladungen zur Prüfung lesen; ändern können sie Administratoren.',
    revokeInvitationOf: (email: string) => `Einladung von ${email} widerrufen`,
    revokeInvitationQuestion: 'Diese Einladung widerrufen? Ihr Link funktioniert dann nicht mehr.',
    invitationRevoked: (email: string) => `Die Einladung von ${email} wurde widerrufen.`,
  },
});
