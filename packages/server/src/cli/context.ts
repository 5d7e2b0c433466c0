import type { Command } from 'commander';
import { type Config, loadConfig } from '../config.js';
import { DomainError } from '../errors.js';
import { type ApiClient, directClient, remoteClient } from './client.js';

export interface GlobalOptions {
  dataDir?: string;
  database?: string;
  config?: string;
  server?: string;
  token?: string;
  ca?: string;
  org?: string;
  json?: boolean;
  wide?: boolean;
  quiet?: boolean;
}

export interface CommandContext {
  client: ApiClient;
  config: Config;
  json: boolean;
  /** `--quiet`: print only ids (output.ts emit). */
  quiet: boolean;
  options: GlobalOptions;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

export function configFrom(
  options: GlobalOptions,
  extra: Record<string, string | number | boolean | undefined> = {},
): Config {
  return loadConfig({
    file: options.config,
    flags: { dataDir: options.dataDir, database: options.database, ...extra },
  });
}

/**
 * Runs a command against the API: directly on the data dir (default), or against a running server
 * when `--server` (or BRICKLESS_SERVER) is given, with `--token` (or BRICKLESS_TOKEN).
 */
export async function withClient(
  command: Command,
  work: (ctx: CommandContext) => Promise<void>,
): Promise<void> {
  const options = globalOptions(command);
  const config = configFrom(options);
  const server = options.server ?? process.env.BRICKLESS_SERVER;
  let client: ApiClient;
  if (server) {
    const token = options.token ?? process.env.BRICKLESS_TOKEN;
    if (!token) throw new DomainError('unauthenticated', '--server needs --token (or BRICKLESS_TOKEN)');
    client = remoteClient({
      server,
      token,
      caFile: options.ca ?? process.env.BRICKLESS_CA,
      dataDir: config.dataDir,
    });
  } else {
    client = await directClient(config);
  }
  try {
    await work({ client, config, json: options.json ?? false, quiet: options.quiet ?? false, options });
  } finally {
    await client.close();
  }
}

/**
 * The organisation a command acts in: `--org`, else BRICKLESS_ORG, else the token's own
 * organisation, else the only organisation there is.
 */
export async function resolveOrg(ctx: CommandContext): Promise<string> {
  const explicit = ctx.options.org ?? process.env.BRICKLESS_ORG;
  if (explicit) return explicit;
  const me = await ctx.client.request<{ orgId: string | null }>('GET', '/v1/whoami');
  if (me.orgId) return me.orgId;
  const orgs = await ctx.client.request<{ items: { id: string; slug: string }[]; nextCursor: string | null }>(
    'GET',
    '/v1/orgs?limit=20',
  );
  if (orgs.items.length === 1 && orgs.items[0]) return orgs.items[0].id;
  const slugs = orgs.items.map((o) => o.slug).join(', ') + (orgs.nextCursor ? ', …' : '');
  throw new DomainError(
    'validation-failed',
    orgs.items.length === 0
      ? 'no organisation exists yet: create one with `brickless orgs create`'
      : `several organisations exist (${slugs}): pass --org SLUG or set BRICKLESS_ORG`,
  );
}

export const enc = encodeURIComponent;

/** Builds a query string from defined values; arrays repeat the key. */
export function query(params: Record<string, string | number | boolean | string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) search.append(key, v);
    else search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
