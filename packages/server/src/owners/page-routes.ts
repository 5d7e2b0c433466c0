import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { pickLanguage } from '../people/invitation-page.js';

type Lang = 'en' | 'de';

/**
 * Serves one of the owners' public pages (sign-in, share invitation) and its script: the page in
 * English or German (`?lang=` or Accept-Language), both never stored (the address held a secret
 * after `#`), never named to others (no Referer), under the page's own CSP.
 */
export function ownerPageRoutes(
  app: FastifyInstance,
  page: {
    path: string;
    summary: string;
    scriptSummary: string;
    pages: Record<Lang, string>;
    script: string;
    csp: string;
  },
): void {
  const tags = ['owners'];
  const noTrace = (reply: FastifyReply): FastifyReply =>
    reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', page.csp);
  app.get<{ Querystring: { lang?: Lang } }>(
    page.path,
    {
      schema: {
        tags,
        security: [],
        summary: page.summary,
        querystring: Type.Object(
          { lang: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('de')])) },
          { additionalProperties: false },
        ),
        produces: ['text/html'],
      },
    },
    async (request, reply) => {
      const lang = request.query.lang ?? pickLanguage(request.headers['accept-language']);
      return noTrace(reply)
        .header('vary', 'accept-language')
        .type('text/html; charset=utf-8')
        .send(page.pages[lang]);
    },
  );
  app.get(
    `${page.path}.js`,
    { schema: { tags, security: [], summary: page.scriptSummary, produces: ['text/javascript'] } },
    async (_request, reply) => noTrace(reply).type('text/javascript; charset=utf-8').send(page.script),
  );
}
