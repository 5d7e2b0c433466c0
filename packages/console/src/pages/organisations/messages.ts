import { messages } from '../../i18n/index.js';

export const t = messages({
  en: {
    title: 'Organisations',
    intro:
      'Each maker works in its own organisation: devices, releases, people and the audit log never cross between them. Only platform administrators create organisations.',
    listTitle: 'All organisations',
    name: 'Name',
    slug: 'Short name',
    slugHint: 'Lower-case letters, digits and hyphens; used in addresses and by the CLI (--org).',
    created: 'Created',
    workHere: (name: string) => `Work in ${name}`,
    current: 'current',
    emptyTitle: 'No organisation yet.',
    emptyText: 'Create the first one below, then add its products and devices.',
    createTitle: 'New organisation',
    create: 'Create organisation',
    createdNotice: (name: string) => `Organisation ${name} created. You are working in it now.`,
    forbidden: 'Only platform administrators manage organisations.',
  },
  de: {
    title: 'Organisationen',
    intro:
      'Jeder Hersteller arbeitet in seiner eigenen Organisation: Geräte, Releases, Personen und Audit-Log bleiben getrennt. Nur Plattform-Administratorinnen legen Organisationen an.',
    listTitle: 'Alle Organisationen',
    name: 'Name',
    slug: 'Kurzname',
    slugHint: 'Kleinbuchstaben, Ziffern und Bindestriche; steht in Adressen und in der CLI (--org).',
    created: 'Angelegt',
    workHere: (name: string) => `In ${name} arbeiten`,
    current: 'aktuell',
    emptyTitle: 'Noch keine Organisation.',
    emptyText: 'Legen Sie unten die erste an, dann ihre Produkte und Geräte.',
    createTitle: 'Neue Organisation',
    create: 'Organisation anlegen',
    createdNotice: (name: string) => `Organisation ${name} angelegt. Sie arbeiten jetzt darin.`,
    forbidden: 'Nur Plattform-Administratorinnen verwalten Organisationen.',
  },
});
