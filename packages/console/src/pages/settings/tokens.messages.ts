import { messages } from '../../i18n/index.js';

export const k = messages({
  en: {
    intro:
      'Tokens let scripts and CI use the API with one role, one of those you hold here. A token made by a person belongs to them; the audit log names both.',
    listTitle: 'Tokens of this organisation',
    empty: 'No tokens yet.',
    emptyNext: 'Create one below for a script or CI job, with the smallest role that does the job.',
    role: 'Role',
    madeBy: 'Made by',
    lastUsed: 'Last used',
    createTitle: 'New token',
    expiresAt: 'Expires on',
    expiresHint: 'Leave empty for a token that does not expire; an expiry is safer.',
    create: 'Create token',
    secret: (name: string) => `Token ${name}`,
    revokeOf: (name: string) => `Revoke token ${name}`,
    revokeQuestion: 'Revoke this token? It stops working at once.',
    revokedNotice: (name: string) => `Token ${name} revoked.`,
    readOnly: 'You can read the tokens for a review; an administrator creates and revokes them.',
    showRevoked: 'Show revoked and expired tokens',
  },
  de: {
    intro:
      'Mit Tokens nutzen Skripte und CI die API mit einer Rolle, einer von denen, die Sie hier haben. Ein von einer Person erstelltes Token gehört ihr; das Audit-Log nennt beide.',
    listTitle: 'Tokens dieser Organisation',
    empty: 'Noch keine Tokens.',
    emptyNext:
      'Legen Sie unten eines für ein Skript oder einen CI-Job an, mit der kleinsten Rolle, die dafür genügt.',
    role: 'Rolle',
    madeBy: 'Erstellt von',
    lastUsed: 'Zuletzt benutzt',
    createTitle: 'Neues Token',
    expiresAt: 'Läuft ab am',
    expiresHint: 'Leer lassen für ein Token ohne Ablauf; ein Ablaufdatum ist sicherer.',
    create: 'Token erstellen',
    secret: (name: string) => `Token ${name}`,
    revokeOf: (name: string) => `Token ${name} widerrufen`,
    revokeQuestion: 'Dieses Token widerrufen? Es funktioniert sofort nicht mehr.',
    revokedNotice: (name: string) => `Token ${name} widerrufen.`,
    readOnly: 'Sie können die Tokens zur Prüfung lesen; erstellen und widerrufen können sie Administratoren.',
    showRevoked: 'Widerrufene und abgelaufene Tokens zeigen',
  },
});
