import type { FastifyInstance } from 'fastify';

const CORS_PATHS = /^\/(v1\/app\/|oauth\/(token|revoke)(\?|$)|\.well-known\/oauth-authorization-server)/;

/**
 * CORS preflight for what a single-page app on the maker's site calls: the token and revocation
 * endpoints and the app API. They take bearer tokens or form credentials, never cookies, so any
 * origin may ask (no Allow-Credentials). Answered at the root, before route matching.
 */
export function appCorsPreflight(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'OPTIONS' || !CORS_PATHS.test(request.url)) return;
    return reply
      .status(204)
      .header('access-control-allow-origin', '*')
      .header('access-control-allow-methods', 'GET, POST, PATCH, OPTIONS')
      .header('access-control-allow-headers', 'authorization, content-type')
      .header('access-control-max-age', '600')
      .send();
  });
}
