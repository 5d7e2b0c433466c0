import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { OWNER_SESSION_COOKIE, OwnerSignInService } from '../owners/sign-in.js';
import { pickLanguage } from '../people/invitation-page.js';
import type { Services } from '../services.js';
import { type AuthorizationRequest, UntrustedRedirect } from './authorization.js';
import { authenticateClient } from './client-auth.js';
import { bouncePage, consentPage, errorPage, type Page, signInPage } from './consent-page.js';
import { formParameters, OAuthError } from './oauth-error.js';
import { APP_SCOPES } from './scopes.js';

type OAuthServices = Pick<
  Services,
  'apps' | 'authorization' | 'appTokens' | 'ownerSignIn' | 'orgs' | 'publicUrl'
>;

const tags = ['oauth'];
const FORM = 'application/x-www-form-urlencoded';
const BOUNCE = 'brickless_bounce';
const OAuthErrorSchema = Type.Object({ error: Type.String(), error_description: Type.String() });
const TokenResponseSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  scope: Type.String(),
});
const TokenRequest = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ description: 'authorization_code or refresh_token' })),
    code: Type.Optional(Type.String()),
    redirect_uri: Type.Optional(Type.String()),
    code_verifier: Type.Optional(Type.String({ description: 'the PKCE verifier (RFC 7636)' })),
    refresh_token: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String({ description: 'on refresh: the same or fewer scopes' })),
    client_id: Type.Optional(Type.String()),
    client_secret: Type.Optional(Type.String({ description: 'client_secret_post (confidential apps)' })),
  },
  { additionalProperties: true },
);

export const issuerOf = (publicUrl: string | null): string | null => publicUrl?.replace(/\/+$/, '') ?? null;

/** RFC 8414 §2: what an OAuth client library reads to find everything else. */
export function metadataOf(issuer: string) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    scopes_supported: [...APP_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    // RFC 9207: every authorization response names the issuer, against mix-up attacks.
    authorization_response_iss_parameter_supported: true,
  };
}

function sendPage(reply: FastifyReply, status: number, page: Page) {
  // Referrer-Policy same-origin, not no-referrer: under no-referrer Chromium posts the consent form
  // with `Origin: null`, and the same-origin check below refused every consent. same-origin names
  // us to ourselves only; the 303 to the app keeps no-referrer (the onSend hook), so the app's
  // page learns no referrer.
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', page.csp)
    .header('x-frame-options', 'DENY')
    .header('vary', 'accept-language, cookie')
    .header('referrer-policy', 'same-origin')
    .send(page.html);
}

/** The redirect back to the app with the answer: 303 (OAuth 2.1 §7.5.2), query kept (RFC 6749 §3.1.2). */
function redirectBack(
  reply: FastifyReply,
  issuer: string,
  request: { redirectUri: string; state: string | null },
  fields: Record<string, string>,
) {
  const url = new URL(request.redirectUri);
  for (const [key, value] of Object.entries(fields)) url.searchParams.set(key, value);
  if (request.state !== null) url.searchParams.set('state', request.state);
  url.searchParams.set('iss', issuer);
  return reply.status(303).header('location', url.toString()).send();
}

function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * The authorization server of the app API (issue 18 §2): OAuth 2.1 authorization code with PKCE
 * (S256), refresh token rotation, revocation (RFC 7009), metadata (RFC 8414). The issuer is
 * `http.publicUrl`; without it these endpoints answer 503.
 */
export function oauthRoutes(app: FastifyInstance, services: OAuthServices): void {
  const issuer = issuerOf(services.publicUrl);
  const needIssuer = (): string => {
    if (!issuer)
      throw new OAuthError(
        'temporarily_unavailable',
        'the app API needs http.publicUrl set (it is the issuer)',
        503,
      );
    return issuer;
  };

  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 16_384 }, (_request, body, done) => {
    try {
      done(null, formParameters(new URLSearchParams(body as string)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addHook('onSend', async (_request, reply) => {
    // RFC 6749 §5.1: token answers are never cached; nor are consent pages.
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'no-referrer');
  });
  app.setErrorHandler((error, request, reply) => {
    const description = error instanceof Error ? error.message : 'the request failed';
    const oauth =
      error instanceof OAuthError
        ? error
        : error instanceof DomainError && error.status < 500
          ? new OAuthError('invalid_request', description, error.status === 429 ? 429 : 400)
          : typeof (error as { statusCode?: number }).statusCode === 'number' &&
              (error as { statusCode: number }).statusCode < 500
            ? new OAuthError('invalid_request', description)
            : null;
    if (!oauth) request.log.error({ err: error }, 'oauth request failed');
    const answer = oauth ?? new OAuthError('server_error', 'the request failed on our side', 500);
    if (request.url.startsWith('/oauth/authorize'))
      return sendPage(
        reply,
        answer.status,
        errorPage(pickLanguage(request.headers['accept-language']), answer.message),
      );
    return reply.status(answer.status).send({ error: answer.error, error_description: answer.message });
  });

  app.get(
    '/.well-known/oauth-authorization-server',
    {
      schema: {
        tags,
        security: [],
        summary: 'Authorization server metadata of the app API (RFC 8414)',
        response: {
          200: Type.Object({ issuer: Type.String() }, { additionalProperties: true }),
          503: OAuthErrorSchema,
        },
      },
    },
    async (_request, reply) => {
      reply.header('access-control-allow-origin', '*');
      return metadataOf(needIssuer());
    },
  );

  /** The owner signed in on this browser, or null. */
  const ownerOf = (request: FastifyRequest) => {
    const cookie = request.cookies?.[OWNER_SESSION_COOKIE];
    return cookie ? services.ownerSignIn.authenticate(cookie) : Promise.resolve(null);
  };

  const authorize = async (
    request: FastifyRequest,
    reply: FastifyReply,
    params: Record<string, string>,
    post: boolean,
  ) => {
    const iss = needIssuer();
    const lang = pickLanguage(request.headers['accept-language']);
    let authRequest: AuthorizationRequest;
    try {
      authRequest = await services.authorization.check(params);
    } catch (error) {
      if (error instanceof UntrustedRedirect) return sendPage(reply, 400, errorPage(lang, error.message));
      if (error instanceof OAuthError && error.redirect)
        return redirectBack(reply, iss, error.redirect, {
          error: error.error,
          error_description: error.message,
        });
      throw error;
    }
    const owner = await ownerOf(request);
    if (!owner) {
      if (post || params[BOUNCE] === '1') return sendPage(reply, 401, signInPage(lang));
      const again = new URL(request.url, iss);
      again.searchParams.set(BOUNCE, '1');
      return sendPage(reply, 200, bouncePage(lang, `${again.pathname}${again.search}`));
    }
    if (post) {
      if (!sameOrigin(request.headers.origin, request.headers.host))
        return sendPage(
          reply,
          403,
          errorPage(lang, 'a consent from another site was refused (Origin does not match)'),
        );
      if (!OwnerSignInService.csrfMatches(owner.csrfToken, params.csrf_token))
        return sendPage(
          reply,
          403,
          errorPage(lang, 'the consent form has expired: open the app’s link again'),
        );
      if (params.decision !== 'allow')
        return redirectBack(reply, iss, authRequest, {
          error: 'access_denied',
          error_description: 'the owner denied the request',
        });
      const code = await services.authorization.approve(owner.ownerId, authRequest);
      return redirectBack(reply, iss, authRequest, { code });
    }
    if (await services.authorization.remembered(owner.ownerId, authRequest)) {
      const code = await services.authorization.approve(owner.ownerId, authRequest);
      return redirectBack(reply, iss, authRequest, { code });
    }
    const org = await services.orgs.find(authRequest.client.orgId);
    const { [BOUNCE]: _bounce, ...rest } = params;
    return sendPage(
      reply,
      200,
      consentPage({
        lang,
        appName: authRequest.client.name,
        orgName: org?.name ?? '',
        scopes: authRequest.scopes,
        params: rest,
        csrfToken: owner.csrfToken,
        redirectUri: authRequest.redirectUri,
      }),
    );
  };

  const authorizeDoc =
    'Parameters (RFC 6749 §4.1.1, RFC 7636): response_type=code, client_id, redirect_uri (exactly as registered; ' +
    'optional when the app registered one), scope (space-separated; default: all the app may ask for), state, ' +
    'code_challenge and code_challenge_method=S256. Needs a signed-in owner (the owner session cookie); shows the ' +
    'consent page (HTML, English or German), or answers at once when the owner consented to these scopes before ' +
    '(https redirect URIs only). The answer is a 303 to redirect_uri with code, state and iss (RFC 9207), or error.';

  app.get(
    '/oauth/authorize',
    {
      schema: {
        tags,
        security: [],
        summary: 'Authorization endpoint: an owner allows an app to act for them (consent page)',
        description: authorizeDoc,
        produces: ['text/html'],
      },
    },
    async (request, reply) =>
      authorize(request, reply, formParameters(new URL(request.url, 'http://x').searchParams), false),
  );

  app.post<{ Body: Record<string, string> }>(
    '/oauth/authorize',
    {
      schema: {
        tags,
        security: [],
        summary: 'The consent form posts here: decision=allow or deny, with the owner session’s CSRF token',
        description: `${authorizeDoc} The form repeats the request's parameters, with csrf_token and decision.`,
        consumes: [FORM],
        produces: ['text/html'],
      },
    },
    async (request, reply) => {
      if (!String(request.headers['content-type'] ?? '').startsWith(FORM))
        throw new OAuthError('invalid_request', `send the consent as ${FORM}`);
      return authorize(request, reply, request.body, true);
    },
  );

  const clientOf = (request: FastifyRequest, params: Record<string, string>) =>
    authenticateClient(services.apps, request, params);

  /** Runs a token or revocation request; counts the failures that a guesser makes (invalid grant or client). */
  const guarded = async <T>(
    request: FastifyRequest,
    reply: FastifyReply,
    work: () => Promise<T>,
  ): Promise<T> => {
    needIssuer();
    reply.header('access-control-allow-origin', '*');
    if (!String(request.headers['content-type'] ?? '').startsWith(FORM))
      throw new OAuthError('invalid_request', `send the request as ${FORM} (RFC 6749 §4.1.3)`);
    await services.appTokens.checkFailures(request.ip);
    try {
      return await work();
    } catch (error) {
      if (
        error instanceof OAuthError &&
        (error.error === 'invalid_grant' || error.error === 'invalid_client')
      ) {
        await services.appTokens.recordFailure(request.ip);
        if (error.status === 401 && request.headers.authorization)
          reply.header('www-authenticate', 'Basic realm="brickless"');
      }
      throw error;
    }
  };

  app.post<{ Body: Record<string, string> }>(
    '/oauth/token',
    {
      schema: {
        tags,
        security: [],
        summary: 'Token endpoint: a code (with its PKCE verifier) or a refresh token for new tokens',
        description:
          'grant_type=authorization_code (single use; a reused code revokes what it gave) or refresh_token ' +
          '(rotated: the old one ends; a rotated one presented again revokes the whole sign-in). Public apps send ' +
          'client_id; confidential ones authenticate with client_secret_basic or client_secret_post. Errors are ' +
          'RFC 6749 §5.2 JSON. After 20 failed requests in 10 minutes from one address, 429.',
        consumes: [FORM],
        body: TokenRequest,
        response: {
          200: TokenResponseSchema,
          400: OAuthErrorSchema,
          401: OAuthErrorSchema,
          429: OAuthErrorSchema,
        },
      },
    },
    async (request, reply) =>
      guarded(request, reply, async () => {
        const params = request.body;
        const client = await clientOf(request, params);
        if (params.grant_type === 'authorization_code')
          return services.appTokens.exchangeCode(client, params);
        if (params.grant_type === 'refresh_token') return services.appTokens.refresh(client, params);
        throw new OAuthError('unsupported_grant_type', 'grant_type is authorization_code or refresh_token');
      }),
  );

  app.post<{ Body: Record<string, string> }>(
    '/oauth/revoke',
    {
      schema: {
        tags,
        security: [],
        summary: 'Revocation endpoint (RFC 7009): a refresh token ends with every token of its sign-in',
        description:
          'token (and optionally token_type_hint); the app authenticates as at the token endpoint. 200 also for unknown tokens.',
        consumes: [FORM],
        body: Type.Object(
          { token: Type.Optional(Type.String()), token_type_hint: Type.Optional(Type.String()) },
          { additionalProperties: true },
        ),
        response: { 200: Type.Null(), 400: OAuthErrorSchema, 401: OAuthErrorSchema, 429: OAuthErrorSchema },
      },
    },
    async (request, reply) =>
      guarded(request, reply, async () => {
        const client = await clientOf(request, request.body);
        await services.appTokens.revoke(client, request.body);
        return reply.status(200).send();
      }),
  );
}
