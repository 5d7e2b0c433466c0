import { invalid } from '../errors.js';

/**
 * What an app may ask an owner for (issue 18 §2). `devices:read` sees the owner's devices, their
 * state, telemetry and update status; `devices:control` changes desired state and sends commands.
 * Control does not include read: an app asks for both when it needs both (least privilege).
 */
export const APP_SCOPES = ['devices:read', 'devices:control'] as const;
export type AppScope = (typeof APP_SCOPES)[number];

/** The consent page's words for each scope, per language (apps/consent-page.ts). */
export const SCOPE_TEXT: Record<AppScope, { en: string; de: string }> = {
  'devices:read': {
    en: 'See your devices, their state, readings and update status',
    de: 'Ihre Geräte, ihren Zustand, ihre Messwerte und ihren Update-Stand sehen',
  },
  'devices:control': {
    en: 'Change the settings of your devices and send them commands',
    de: 'Einstellungen Ihrer Geräte ändern und ihnen Befehle senden',
  },
};

export const isAppScope = (value: string): value is AppScope =>
  (APP_SCOPES as readonly string[]).includes(value);

/** A list of scopes from the API (registration): each known, no duplicates, at least one. */
export function parseScopeList(list: string[], field = '/scopes'): AppScope[] {
  if (list.length === 0) throw invalid(field, 'name at least one scope');
  const out: AppScope[] = [];
  for (const scope of list) {
    if (!isAppScope(scope))
      throw invalid(field, `unknown scope ${JSON.stringify(scope)}; known: ${APP_SCOPES.join(', ')}`);
    if (!out.includes(scope)) out.push(scope);
  }
  return sortScopes(out);
}

/** A `scope` parameter (RFC 6749 §3.3: space-delimited, order does not matter); null when any is unknown. */
export function parseScopeParameter(text: string): AppScope[] | null {
  const parts = text.split(' ').filter((s) => s !== '');
  if (parts.length === 0 || !parts.every(isAppScope)) return null;
  return sortScopes([...new Set(parts)] as AppScope[]);
}

export const sortScopes = (list: AppScope[]): AppScope[] =>
  [...list].sort((a, b) => APP_SCOPES.indexOf(a) - APP_SCOPES.indexOf(b));

export const joinScopes = (list: readonly string[]): string => list.join(' ');

export const splitScopes = (text: string): AppScope[] => text.split(' ').filter(isAppScope);

export const covers = (held: readonly string[], wanted: readonly string[]): boolean =>
  wanted.every((scope) => held.includes(scope));
