/** The bus settings of `serve` (config `bus`, docs/operations.md). */
export interface BusSettings {
  /** `nats://host:4222`, `tls://host:4222`, or several separated by commas; unset: in-process. */
  url?: string | undefined;
  /** The installation's name on a shared NATS: subjects are `brickless.<cluster>.<event>`. */
  cluster: string;
  /** A NATS credentials file (JWT and NKey seed, `nsc generate creds`). */
  credsFile?: string | undefined;
  /** TLS to the NATS server: a CA to trust, and a client certificate and key when it asks for one. */
  tlsCaFile?: string | undefined;
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
}

export interface NatsServers {
  /** `host:port` of each server, without credentials. */
  servers: string[];
  /** `tls://` was given: refuse a server that does not offer TLS. */
  tls: boolean;
  user?: string;
  pass?: string;
  token?: string;
}

const HOW =
  'write nats://host:4222 (tls://host:4222 to require TLS; several servers separated by commas), e.g. --bus nats://127.0.0.1:4222';

/** The URL as it may be shown: without user, password or token. */
export function redactBusUrl(url: string): string {
  return url
    .split(',')
    .map((part) => part.trim().replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1'))
    .join(',');
}

/**
 * Parses `bus.url`; throws an Error saying what is wrong and how to write it. Credentials may be
 * in the URL (`nats://user:pass@host:4222`, `nats://token@host:4222`); there are none by default.
 */
export function parseBusUrl(url: string): NatsServers {
  const parts = url
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error(`bus.url is empty: ${HOW}`);
  const out: NatsServers = { servers: [], tls: false };
  const schemes = new Set<string>();
  for (const part of parts) {
    let parsed: URL;
    try {
      parsed = new URL(part);
    } catch {
      throw new Error(`bus.url ${redactBusUrl(part)} is not a URL: ${HOW}`);
    }
    const scheme = parsed.protocol.slice(0, -1);
    if (scheme !== 'nats' && scheme !== 'tls')
      throw new Error(`bus.url ${redactBusUrl(part)} is not a NATS server URL (${scheme}://): ${HOW}`);
    if (!parsed.hostname) throw new Error(`bus.url ${redactBusUrl(part)} names no host: ${HOW}`);
    if ((parsed.pathname && parsed.pathname !== '/') || parsed.search || parsed.hash)
      throw new Error(`bus.url ${redactBusUrl(part)} has a path or query, which NATS does not use: ${HOW}`);
    schemes.add(scheme);
    if (parsed.username) {
      const user = decodeURIComponent(parsed.username);
      const pass = parsed.password ? decodeURIComponent(parsed.password) : undefined;
      if (pass === undefined) {
        if (out.token !== undefined && out.token !== user)
          throw new Error('bus.url gives different tokens for its servers: give one');
        out.token = user;
      } else {
        if ((out.user !== undefined && out.user !== user) || (out.pass !== undefined && out.pass !== pass))
          throw new Error('bus.url gives different credentials for its servers: give one user and password');
        out.user = user;
        out.pass = pass;
      }
    }
    // WHATWG URL keeps an IPv6 host in brackets, as NATS wants it.
    out.servers.push(`${parsed.hostname}:${parsed.port || '4222'}`);
  }
  if (schemes.size > 1) throw new Error('bus.url mixes nats:// and tls:// servers: use one scheme');
  if (out.token !== undefined && out.user !== undefined)
    throw new Error('bus.url gives a token and a user: give one kind of credential');
  out.tls = schemes.has('tls');
  return out;
}
