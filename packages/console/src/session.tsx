import { type ComponentChildren, createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api, SIGNED_OUT_EVENT, setCsrfToken } from './api/client.js';
import type { Me, Membership, Organization, Permission } from './api/types.js';

/**
 * Who is signed in and in which organisation they are working. What a role may do comes from the
 * server (/v1/me lists each membership's permissions), so the console shows only what will work;
 * the server still decides every request.
 */
export interface Session {
  me: Me;
  /** The organisations this person can work in (a platform admin: all of them). */
  orgs: Membership[];
  org: Membership | null;
  chooseOrg: (slug: string) => void;
  can: (permission: Permission) => boolean;
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);
const ORG_KEY = 'brickless.org';

const ALL: Permission[] = [
  'fleet:read',
  'fleet:write',
  'releases:write',
  'tokens:manage',
  'people:manage',
  'audit:read',
  'security:write',
  'updates:manage',
  'webhooks:manage',
  'evidence:manage',
  'tokens:read',
  'people:read',
  'updates:read',
  'security:read',
  'apps:manage',
  'apps:read',
];

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

/** The current organisation's slug, for API paths; pages render only inside one. */
export function useOrg(): Membership {
  const { org } = useSession();
  if (!org) throw new Error('no organisation');
  return org;
}

function storedOrg(): string | null {
  try {
    return localStorage.getItem(ORG_KEY);
  } catch {
    return null;
  }
}

export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out' }
  | { status: 'error'; error: unknown }
  | { status: 'signed-in'; me: Me; orgs: Membership[] };

export async function loadSession(): Promise<SessionState> {
  try {
    const me = await api.get<Me>('/v1/me');
    setCsrfToken(me.csrfToken ?? null);
    let orgs = me.memberships;
    if (me.person.platformAdmin) {
      // The platform admin acts in every organisation with every organisation permission.
      const all = await api.get<{ items: Organization[] } | Organization[]>('/v1/orgs', { limit: 200 });
      const list = Array.isArray(all) ? all : all.items;
      orgs = list.map((o) => ({
        orgId: o.id,
        slug: o.slug,
        name: o.name,
        roles: ['platform-admin'],
        permissions: ALL,
      }));
    }
    return { status: 'signed-in', me, orgs };
  } catch (error) {
    // Only the server saying "no session" means signed out; a server that cannot be reached or
    // fails is shown as such, with a retry (signing in again would not help).
    return error instanceof ApiError && error.status === 401
      ? { status: 'signed-out' }
      : { status: 'error', error };
  }
}

export function SessionProvider(props: {
  state: Extract<SessionState, { status: 'signed-in' }>;
  onChange: (state: SessionState) => void;
  children: ComponentChildren;
}) {
  const { me, orgs } = props.state;
  const [slug, setSlug] = useState<string | null>(() => {
    const stored = storedOrg();
    return orgs.some((o) => o.slug === stored) ? stored : (orgs[0]?.slug ?? null);
  });
  const org = orgs.find((o) => o.slug === slug) ?? orgs[0] ?? null;

  const refresh = useCallback(async () => props.onChange(await loadSession()), [props.onChange]);
  const signOut = useCallback(async () => {
    try {
      await api.post('/v1/me/sign-out');
    } catch (error) {
      // A session the server ended already is signed out; any other failure leaves the cookie
      // valid, so the person must know they are still signed in.
      if (!(error instanceof ApiError && error.status === 401)) throw error;
    }
    setCsrfToken(null);
    props.onChange({ status: 'signed-out' });
  }, [props.onChange]);

  useEffect(() => {
    const ended = () => props.onChange({ status: 'signed-out' });
    window.addEventListener(SIGNED_OUT_EVENT, ended);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, ended);
  }, [props.onChange]);

  const session = useMemo<Session>(
    () => ({
      me,
      orgs,
      org,
      chooseOrg: (next) => {
        try {
          localStorage.setItem(ORG_KEY, next);
        } catch {
          // The choice lasts this page only.
        }
        setSlug(next);
      },
      // Organisations themselves are the platform's: a platform admin manages them with or without one chosen.
      can: (permission) =>
        permission === 'orgs:manage'
          ? me.person.platformAdmin
          : (org?.permissions.includes(permission) ?? false),
      refresh,
      signOut,
    }),
    [me, orgs, org, refresh, signOut],
  );
  return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
}
