import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The web console (packages/console, issue 17): static files built by Vite, served at `/` from
 * the same origin as /v1 so the session cookie (`__Host-`, SameSite=Strict) and the CSRF token
 * work without CORS. Nothing comes from a CDN.
 *
 * The Content-Security-Policy allows only this origin's own scripts and styles: no inline script,
 * no eval, no inline style attribute in markup (CSP Level 3 §6.1; OWASP CSP cheat sheet "strict").
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/**
 * The console's own paths (its router's first segments, packages/console/src/routes.ts): each
 * answers with the console's page so a bookmark or a reload works. Everything else keeps the
 * API's problem+json 404. A test checks this list against the console's routes.
 */
export const CONSOLE_SECTIONS = [
  'sign-in',
  'devices',
  'products',
  'brands',
  'releases',
  'rollouts',
  'vulnerabilities',
  'disclosures',
  'reports',
  'advisories',
  'continuity',
  'audit',
  'settings',
  'account',
  'docs',
  'organisations',
] as const;

interface Asset {
  type: string;
  raw: Buffer;
  br?: Buffer;
  gzip?: Buffer;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
};

/** Where `npm run build` puts the console (packages/console/dist), from src/ and from dist/ alike. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/** Reads the built console once: a few hundred KB, so every request is answered from memory. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const assetDir = join(dir, 'assets');
  if (!existsSync(assetDir)) return assets;
  for (const name of readdirSync(assetDir)) {
    if (name.endsWith('.br') || name.endsWith('.gz') || name.endsWith('.map')) continue;
    const path = join(assetDir, name);
    const asset: Asset = {
      type: TYPES[extname(name)] ?? 'application/octet-stream',
      raw: readFileSync(path),
    };
    if (existsSync(`${path}.br`)) asset.br = readFileSync(`${path}.br`);
    if (existsSync(`${path}.gz`)) asset.gzip = readFileSync(`${path}.gz`);
    assets.set(name, asset);
  }
  return assets;
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>brickless: console not built</title></head>
<body><main><h1>The console is not built</h1>
<p>Run <code>npm run build</code> (or <code>npm start</code>, which builds what changed) and reload.</p>
<p>The API answers under <a href="/openapi.json">/v1</a> meanwhile.</p></main></body></html>`;

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
}

/** The best encoding the browser accepts among the ones built (RFC 9110 §12.5.3, q=0 refuses). */
function encodingFor(request: FastifyRequest, asset: Asset): 'br' | 'gzip' | null {
  const accepted = String(request.headers['accept-encoding'] ?? '')
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter((part) => !/;\s*q=0(\.0*)?$/.test(part))
    .map((part) => part.split(';')[0]);
  if (asset.br && accepted.includes('br')) return 'br';
  if (asset.gzip && accepted.includes('gzip')) return 'gzip';
  return null;
}

export function consoleRoutes(app: FastifyInstance, dir: string = DEFAULT_CONSOLE_DIR): void {
  const indexPath = join(dir, 'index.html');
  const index = existsSync(indexPath) ? readFileSync(indexPath) : null;
  const assets = loadAssets(dir);
  const hide = { schema: { hide: true } };

  const page = async (_request: FastifyRequest, reply: FastifyReply) =>
    securityHeaders(reply)
      // The page names the hashed assets of this build: revalidated each time, never stale.
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .status(index ? 200 : 503)
      .send(index ?? NOT_BUILT);

  app.get('/', hide, page);
  for (const section of CONSOLE_SECTIONS) {
    app.get(`/${section}`, hide, page);
    app.get(`/${section}/*`, hide, page);
  }

  app.get<{ Params: { name: string } }>('/assets/:name', hide, async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) {
      return reply.status(404).type('text/plain; charset=utf-8').send('no such console asset\n');
    }
    const encoding = encodingFor(request, asset);
    securityHeaders(reply)
      // Vite names every asset by its content hash: a changed file is a new name.
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('vary', 'accept-encoding')
      .type(asset.type);
    if (encoding) reply.header('content-encoding', encoding);
    return reply.send(encoding === 'br' ? asset.br : encoding === 'gzip' ? asset.gzip : asset.raw);
  });
}
