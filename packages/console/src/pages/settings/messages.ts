import { messages } from '../../i18n/index.js';

/** The settings page's frame, its tabs and the words the tabs share (roles, dates). */
export const t = messages({
  en: {
    title: 'Settings',
    tabs: 'Settings sections',
    people: 'People and roles',
    tokens: 'API tokens',
    signIn: 'Sign-in and SSO',
    feeds: 'Escrow and feeds',
    nothingHere:
      'Your roles here do not include managing people or tokens. Your own passkeys, password and tokens are under My account.',
    toAccount: 'Open My account',
    roleNames: 'Roles',
    role_admin: 'Admin: everything in the organisation',
    role_operator: 'Operator: devices and products',
    'role_release-manager': 'Release manager: releases and rollouts',
    role_security: 'Security: vulnerabilities, disclosures, reports',
    role_auditor: 'Auditor: reads everything, including the audit log',
    never: 'never',
    revoke: 'Revoke',
    revoked: 'revoked',
    expired: 'expired',
    active: 'active',
    copyHint: 'Copy it now: it is shown only this once. Select the text and copy it (Ctrl+C or ⌘C).',
    dismiss: 'I have copied it',
    name: 'Name',
    created: 'Created',
    expires: 'Expires',
    status: 'Status',
    actions: 'Actions',
    confirmRevoke: (what: string) => `Revoke ${what}? It stops working at once.`,
  },
  de: {
    title: 'Einstellungen',
    tabs: 'Bereiche der Einstellungen',
    people: 'Personen und Rollen',
    tokens: 'API-Tokens',
    signIn: 'Anmeldung und SSO',
    feeds: 'Escrow und Feeds',
    nothingHere:
      'Ihre Rollen hier umfassen nicht die Verwaltung von Personen oder Tokens. Ihre eigenen Passkeys, Ihr Passwort und Ihre Tokens finden Sie unter Mein Konto.',
    toAccount: 'Mein Konto öffnen',
    roleNames: 'Rollen',
    role_admin: 'Admin: alles in der Organisation',
    role_operator: 'Betrieb: Geräte und Produkte',
    'role_release-manager': 'Release-Management: Releases und Rollouts',
    role_security: 'Sicherheit: Schwachstellen, Meldungen, Berichte',
    role_auditor: 'Prüfung: liest alles, auch das Audit-Log',
    never: 'nie',
    revoke: 'Widerrufen',
    revoked: 'widerrufen',
    expired: 'abgelaufen',
    active: 'aktiv',
    copyHint:
      'Kopieren Sie es jetzt: Es wird nur dieses eine Mal angezeigt. Markieren Sie den Text und kopieren Sie ihn (Strg+C oder ⌘C).',
    dismiss: 'Ich habe es kopiert',
    name: 'Name',
    created: 'Angelegt',
    expires: 'Läuft ab',
    status: 'Status',
    actions: 'Aktionen',
    confirmRevoke: (what: string) => `${what} widerrufen? Es funktioniert sofort nicht mehr.`,
  },
});

export const ORG_ROLES = ['admin', 'operator', 'release-manager', 'security', 'auditor'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

/** A role with what it may do, in the person's language. */
export function roleLabel(role: string): string {
  const key = `role_${role}` as keyof typeof t;
  const label = t[key];
  return typeof label === 'string' ? label : role;
}
