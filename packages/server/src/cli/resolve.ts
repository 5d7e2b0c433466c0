import { DomainError } from '../errors.js';
import { type IdPrefix, isId } from '../ids.js';
import { type CommandContext, enc, query } from './context.js';

/**
 * References people type: every option and argument of the CLI that names a brand, product,
 * device, release, rollout or advisory takes its id, or the key people know it by, so that a
 * walkthrough runs as written without copying ids around:
 *
 * - brand: its name, or the name as a slug (`acme-home` for "Acme Home")
 * - product: its model number (`PLUG-1`), or `MODEL/REVISION` when revisions share a model
 * - device: its serial number
 * - release: its version (`1.1.0`), or `latest`
 * - rollout: its name, or `latest`
 * - advisory: its tracking id or title, or `latest`
 *
 * A key that matches nothing, or several things, is refused with the candidates listed: the CLI
 * never guesses which of two devices a command should change.
 */
export type RefKind = 'brand' | 'product' | 'device' | 'release' | 'rollout' | 'advisory';

const prefixes: Record<RefKind, IdPrefix> = {
  brand: 'brd',
  product: 'prd',
  device: 'dev',
  release: 'rel',
  rollout: 'rol',
  advisory: 'adv',
};

/** A thing a key may name: its id, the keys that name it, and how to show it in an error. */
interface Candidate {
  id: string;
  keys: string[];
  label: string;
}

/** How many pages of 500 a lookup reads at most (lists of brands, products, releases are short). */
const MAX_PAGES = 20;
/** How many candidates an error message lists. */
const SHOWN = 10;

export const slug = (text: string): string =>
  text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents off: "Ächt" is "acht"
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');

async function allPages<T>(ctx: CommandContext, path: string, params: Record<string, string> = {}) {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await ctx.client.request<{ items: T[]; nextCursor?: string | null }>(
      'GET',
      `${path}${query({ ...params, limit: 500, cursor })}`,
    );
    items.push(...result.items);
    if (!result.nextCursor) break;
    cursor = result.nextCursor;
  }
  return items;
}

function list(candidates: Candidate[]): string {
  const shown = candidates.slice(0, SHOWN).map((c) => `  ${c.label}`);
  if (candidates.length > SHOWN) shown.push(`  … and ${candidates.length - SHOWN} more`);
  return shown.join('\n');
}

/**
 * Picks the one candidate `ref` names: an exact key first, then a key that differs only in case
 * or punctuation (its slug). Refuses none and several, naming the candidates.
 */
export function pick(kind: RefKind, ref: string, candidates: Candidate[], hint = ''): string {
  const exact = candidates.filter((c) => c.keys.includes(ref));
  const loose =
    exact.length > 0 ? exact : candidates.filter((c) => c.keys.some((k) => slug(k) === slug(ref)));
  const [only, ...more] = loose;
  if (only && more.length === 0) return only.id;
  if (only)
    throw new DomainError(
      'validation-failed',
      `${JSON.stringify(ref)} names ${loose.length} ${kind}s${hint}; give one by its id:\n${list(loose)}`,
    );
  throw new DomainError(
    'not-found',
    candidates.length === 0
      ? `no ${kind} ${JSON.stringify(ref)}${hint}: there are no ${kind}s yet`
      : `no ${kind} ${JSON.stringify(ref)}${hint}; there are:\n${list(candidates)}`,
  );
}

interface Named {
  id: string;
  name: string;
}

async function candidates(
  ctx: CommandContext,
  org: string,
  kind: RefKind,
  scope: { productId?: string | undefined; ref: string },
): Promise<Candidate[]> {
  const base = `/v1/orgs/${enc(org)}`;
  switch (kind) {
    case 'brand':
      return (await allPages<Named>(ctx, `${base}/brands`)).map((b) => ({
        id: b.id,
        keys: [b.name],
        label: `${b.name} (${b.id})`,
      }));
    case 'product':
      return (
        await allPages<Named & { modelNumber: string; hardwareRevision: string }>(ctx, `${base}/products`)
      ).map((p) => ({
        id: p.id,
        keys: [p.modelNumber, `${p.modelNumber}/${p.hardwareRevision}`],
        label: `${p.modelNumber}/${p.hardwareRevision} "${p.name}" (${p.id})`,
      }));
    case 'device': {
      // Fleets are large: ask for the serial itself rather than reading every device.
      const params: Record<string, string> = { serial: scope.ref };
      if (scope.productId) params.productId = scope.productId;
      const found = await allPages<{ id: string; serial: string; productId: string }>(
        ctx,
        `${base}/devices`,
        params,
      );
      return found.map((d) => ({
        id: d.id,
        keys: [d.serial],
        label: `${d.serial} of ${d.productId} (${d.id})`,
      }));
    }
    case 'release': {
      const params: Record<string, string> = scope.productId ? { productId: scope.productId } : {};
      return (
        await allPages<{ id: string; version: string; productId: string; kind: string }>(
          ctx,
          `${base}/releases`,
          params,
        )
      ).map((r) => ({
        id: r.id,
        keys: [r.version],
        label: `${r.version} (${r.kind}) of ${r.productId} (${r.id})`,
      }));
    }
    case 'rollout':
      return (await allPages<Named & { status: string }>(ctx, `${base}/rollouts`)).map((r) => ({
        id: r.id,
        keys: [r.name],
        label: `${r.name} [${r.status}] (${r.id})`,
      }));
    case 'advisory': {
      // The advisory list is not paged.
      const page = await ctx.client.request<{ items: { id: string; trackingId: string; title: string }[] }>(
        'GET',
        `${base}/advisories`,
      );
      return page.items.map((a) => ({
        id: a.id,
        keys: [a.trackingId, a.title],
        label: `${a.trackingId} "${a.title}" (${a.id})`,
      }));
    }
  }
}

/**
 * The id `ref` names in the organisation: an id as it is (the server checks it), `latest` for the
 * newest release, rollout or advisory, else the key people know it by. `productId` narrows
 * releases and devices to one product (a version or serial is unique only within a product).
 */
export async function resolveRef(
  ctx: CommandContext,
  org: string,
  kind: RefKind,
  ref: string,
  options: { productId?: string | undefined } = {},
): Promise<string> {
  if (isId(prefixes[kind], ref)) return ref;
  const found = await candidates(ctx, org, kind, { ref, productId: options.productId });
  const hint = options.productId ? ` of product ${options.productId}` : '';
  if (ref === 'latest' && (kind === 'release' || kind === 'rollout' || kind === 'advisory')) {
    // Lists are newest first: ids sort by creation time (ids.ts).
    const newest = [...found].sort((a, b) => (a.id < b.id ? 1 : -1))[0];
    if (!newest) throw new DomainError('not-found', `there is no ${kind}${hint} yet`);
    return newest.id;
  }
  return pick(kind, ref, found, hint);
}

/** resolveRef for an optional value. */
export async function resolveOptional(
  ctx: CommandContext,
  org: string,
  kind: RefKind,
  ref: string | undefined,
  options: { productId?: string | undefined } = {},
): Promise<string | undefined> {
  return ref === undefined ? undefined : resolveRef(ctx, org, kind, ref, options);
}

/** resolveRef for a repeatable option. */
export async function resolveEach(
  ctx: CommandContext,
  org: string,
  kind: RefKind,
  refs: string[] | undefined,
  options: { productId?: string | undefined } = {},
): Promise<string[] | undefined> {
  if (refs === undefined) return undefined;
  const ids: string[] = [];
  for (const ref of refs) ids.push(await resolveRef(ctx, org, kind, ref, options));
  return ids;
}
