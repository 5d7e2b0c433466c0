import { continuityOverviewRoutes } from '../continuity/overview-route.js';
import { readinessRoutes } from '../continuity/readiness-route.js';
import { endpointRoutes, publicEndpointRoutes, publicSunsetRoutes } from '../continuity/routes.js';
import '@fastify/swagger';
import type { Server as TlsServer } from 'node:tls';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Principal } from '../access/roles.js';
import { TokenSchema, tokenRoutes } from '../access/routes.js';
import { appApiRoutes } from '../apps/app-api.routes.js';
import { appRoutes } from '../apps/apps.routes.js';
import { appCorsPreflight } from '../apps/cors.js';
import { oauthRoutes } from '../apps/oauth.routes.js';
import { ownerAppRoutes } from '../apps/owner-apps.routes.js';
import { APP_SCOPES, SCOPE_TEXT } from '../apps/scopes.js';
import { auditCheckpointRoutes } from '../audit/checkpoint.routes.js';
import { AuditEntrySchema, auditRoutes, ChainReportSchema } from '../audit/routes.js';
import { CommandSchema, commandRoutes } from '../commands/routes.js';
import { consoleRoutes } from '../console/routes.js';
import { deviceApiRoutes } from '../device-api/routes.js';
import { DomainError } from '../errors.js';
import { eventRoutes } from '../events/routes.js';
import { evidenceRoutes } from '../evidence/routes.js';
import { BrandSchema, brandRoutes } from '../fleet/brands.routes.js';
import { DeviceSchema, deviceRoutes } from '../fleet/devices.routes.js';
import { OrganizationSchema, organizationRoutes } from '../fleet/organizations.routes.js';
import { overviewRoutes } from '../fleet/overview.routes.js';
import { ProductSchema, productRoutes } from '../fleet/products.routes.js';
import { provisioningRoutes } from '../fleet/provisioning.routes.js';
import { enforceHandshakeDeadline } from '../gateway/connection-limits.js';
import { credentialRoutes } from '../gateway/routes.js';
import { metricsRoutes } from '../metrics/routes.js';
import { notificationRoutes } from '../notifications/routes.js';
import { ownerPasskeyRoutes } from '../owners/passkeys.routes.js';
import { claimCodeRoutes, ownerRoutes } from '../owners/routes.js';
import { sharePageRoutes } from '../owners/share-page.js';
import { ownerSignInPageRoutes } from '../owners/sign-in-page.js';
import { signInRoutes } from '../people/auth.routes.js';
import { invitationPageRoutes } from '../people/invitation-page.js';
import { meRoutes } from '../people/me.routes.js';
import { peopleRoutes } from '../people/people.routes.js';
import { InvitationSchema, PersonSchema } from '../people/schemas.js';
import { ssoRoutes, ssoSignInRoutes } from '../people/sso.routes.js';
import type { Services } from '../services.js';
import { telemetryRoutes } from '../telemetry/routes.js';
import { twinRoutes } from '../twin/routes.js';
import { ReleaseSchema, releaseRoutes } from '../updates/releases.routes.js';
import { repositoryRoutes } from '../updates/repository.routes.js';
import { rolloutStreamRoutes } from '../updates/rollout-stream.routes.js';
import { RolloutSchema, rolloutRoutes } from '../updates/rollouts.routes.js';
import { caseRoutes } from '../vulnerabilities/routes/cases.routes.js';
import { disclosureRoutes } from '../vulnerabilities/routes/disclosures.routes.js';
import { publicRoutes } from '../vulnerabilities/routes/public.routes.js';
import { sbomRoutes } from '../vulnerabilities/routes/sbom.routes.js';
import { vulnerabilityRoutes } from '../vulnerabilities/routes/vulnerabilities.routes.js';
import { openApiWebhooks } from '../webhooks/openapi.js';
import { webhookRoutes } from '../webhooks/routes.js';
import { asyncApiRoutes } from './asyncapi.js';
import { registerAuthentication } from './auth.js';
import { registerAuthorization } from './authorize.js';
import { healthRoutes } from './health.routes.js';
import { checkInput, parseInput } from './input.js';
import { sendProblem, toProblem } from './problem.js';
import { keepRawJson } from './raw-json.js';
import { CapabilityModel, Problem } from './schemas.js';
import { schemaControllerOptions } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** `METHOD /path/{param}` of every route registered. */
    routeList: string[];
  }
}

export interface HttpOptions {
  logger: FastifyBaseLogger | boolean;
  bodyLimit?: number;
  https?: { key: string; cert: string } | null;
  /** The in-process CLI's nonce and principal; never set for a listening server. */
  local?: { nonce: string; principal: Principal };
  version: string;
  /** Compile route schemas on first use (`serve`, the in-process CLI); tests compile at build. */
  lazySchemas?: boolean;
}

const sharedSchemas = [
  { ...Problem },
  { ...CapabilityModel, $id: 'CapabilityModel' },
  OrganizationSchema,
  BrandSchema,
  ProductSchema,
  DeviceSchema,
  TokenSchema,
  AuditEntrySchema,
  ChainReportSchema,
  CommandSchema,
  ReleaseSchema,
  RolloutSchema,
  PersonSchema,
  InvitationSchema,
];

/** Time limits of the HTTP listener (docs/api.md and docs/protocol.md, "Limits"), in milliseconds. */
export const HTTP_TIMEOUTS = {
  tlsHandshakeMs: 10_000,
  headersMs: 10_000,
  requestMs: 300_000,
  idleMs: 120_000,
  keepAliveMs: 5_000,
};
const httpTimeouts = {
  requestTimeout: HTTP_TIMEOUTS.requestMs,
  connectionTimeout: HTTP_TIMEOUTS.idleMs,
  keepAliveTimeout: HTTP_TIMEOUTS.keepAliveMs,
};
// Options of Node's http.createServer: Fastify passes them through (`http`, `https`).
const httpServerTimeouts = { headersTimeout: HTTP_TIMEOUTS.headersMs, connectionsCheckingInterval: 1_000 };

/** Builds the HTTP API (no listen()): routes, validation, auth, errors, OpenAPI, metrics. */
export async function buildHttp(services: Services, options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: typeof options.logger === 'object' ? options.logger : undefined,
    logger: typeof options.logger === 'boolean' ? options.logger : undefined,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Nothing unauthenticated holds a socket for long (DESIGN.md, input rules): headers within
    // 10 s (checked every second, not Node's default 30 s), a whole request within 5 minutes (large
    // artifact uploads), 2 minutes of silence at most, 5 s idle between keep-alive requests.
    ...httpTimeouts,
    http: { ...httpServerTimeouts },
    ...(options.https
      ? {
          https: {
            ...options.https,
            ...httpServerTimeouts,
            handshakeTimeout: HTTP_TIMEOUTS.tlsHandshakeMs,
            minVersion: 'TLSv1.2' as const,
            // Devices on the device API may present a client certificate, checked against their
            // organisation's CA per request; people and tools without one are not affected.
            requestCert: true,
            rejectUnauthorized: false,
          },
        }
      : {}),
    // Ids are generated by us; trust no client-supplied request id.
    genReqId: undefined,
    schemaController: schemaControllerOptions(options.lazySchemas ?? false),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  if (options.https)
    enforceHandshakeDeadline(app.server as unknown as TlsServer, HTTP_TIMEOUTS.tlsHandshakeMs);

  // Every route, as registered: tests compare this list with the OpenAPI document.
  const routeList: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routeList.push(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
    }
  });
  app.decorate('routeList', routeList);

  for (const schema of sharedSchemas) app.addSchema(schema);

  // One input layer for every JSON body, device API and admin API alike (http/input.ts): finite
  // numbers, no control characters, no prototype keys. It replaces Fastify's parser, which it
  // includes (Fastify refuses `__proto__` and `constructor.prototype` too).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(new DomainError('malformed-request', 'the body is empty but its content type is JSON'), undefined);
      return;
    }
    try {
      const parsed = parseInput(body as string);
      keepRawJson(request, body as string);
      done(null, parsed);
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // The same rules for the query string and path parameters (they are text by nature).
  app.addHook('preValidation', async (request) => {
    checkInput(request.query, [], 'querystring');
    checkInput(request.params, [], 'params');
  });

  // Parses cookies only; the session cookie is the one brickless reads (people/sessions.ts).
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'brickless API',
        version: options.version,
        description:
          'Admin API of brickless, the device backend that outlives its maker. Every object lives in one ' +
          'organisation; tokens are scoped to one organisation and role. Errors are RFC 9457 problem+json. ' +
          'The device API under /device/v1 authenticates devices by their own credentials and answers in the ' +
          "protocol's Reply shape (docs/protocol.md).",
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          deviceBasic: { type: 'http', scheme: 'basic', description: 'device id and device secret' },
          oauth2: {
            type: 'oauth2',
            description:
              'an access token an owner granted a maker’s app (docs/app-api.md; RFC 8414 metadata at /.well-known/oauth-authorization-server)',
            flows: {
              authorizationCode: {
                authorizationUrl: '/oauth/authorize',
                tokenUrl: '/oauth/token',
                refreshUrl: '/oauth/token',
                scopes: Object.fromEntries(APP_SCOPES.map((s) => [s, SCOPE_TEXT[s].en])),
              },
            },
          } as unknown as { type: 'http'; scheme: string },
          ownerSession: {
            type: 'apiKey',
            in: 'cookie',
            name: '__Host-brickless-owner',
            description: "a device owner's session (docs/owners.md), from POST /v1/owner/sign-in/complete",
          } as unknown as { type: 'http'; scheme: string },
          // OpenAPI 3.1 has mutualTLS; the swagger plugin's types predate it.
          deviceCertificate: {
            type: 'mutualTLS',
            description: 'client certificate from the organisation device CA',
          } as unknown as { type: 'http'; scheme: string },
        },
      },
      security: [{ bearer: [] }],
      // What brickless sends to webhook receivers, one entry per event type (OpenAPI 3.1 §4.8.1).
      webhooks: openApiWebhooks() as never,
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error, request);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      toProblem(
        new DomainError('not-found', `no route ${request.method} ${request.url.split('?')[0]}`),
        request,
      ),
    ),
  );

  services.metrics.instrument(app);
  appCorsPreflight(app);
  healthRoutes(app, services);
  await app.register(async (publicScope) => publicRoutes(publicScope, services));
  await app.register(async (publicScope) => publicEndpointRoutes(publicScope, services));
  await app.register(async (publicScope) => publicSunsetRoutes(publicScope, services));
  await app.register(async (publicScope) => auditCheckpointRoutes(publicScope, services));
  // The page the one-time links open (a small page of its own: the secret never meets the console's router).
  await app.register(async (publicScope) => invitationPageRoutes(publicScope));
  // The page an owner's sign-in link opens (issue 18 §1), likewise.
  await app.register(async (publicScope) => ownerSignInPageRoutes(publicScope));
  // The page a share invitation opens (issue 18 §1), likewise.
  await app.register(async (publicScope) => sharePageRoutes(publicScope));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  asyncApiRoutes(app);
  // The web console (issue 17): static files at /, same origin as /v1.
  await app.register(async (consoleScope) => consoleRoutes(consoleScope));

  await app.register(async (api) => {
    registerAuthentication(api, {
      tokens: services.tokens,
      sessions: services.sessions,
      ...(options.local ? { local: options.local } : {}),
      onFailure: () => services.metrics.authFailures.inc({ surface: 'api' }),
    });
    // Every route declares its permission (x-brickless-permission); enforced before the body is read.
    registerAuthorization(api, { orgs: services.orgs });
    api.addHook('onSend', async (_request, reply) => {
      // Admin responses carry tenant data: never cached by proxies or browsers.
      reply.header('cache-control', 'no-store');
    });
    organizationRoutes(api, services);
    brandRoutes(api, services);
    productRoutes(api, services);
    deviceRoutes(api, services);
    overviewRoutes(api, services);
    tokenRoutes(api, services);
    auditRoutes(api, services);
    credentialRoutes(api, services);
    provisioningRoutes(api, services);
    twinRoutes(api, services);
    commandRoutes(api, services);
    telemetryRoutes(api, services);
    eventRoutes(api, services);
    repositoryRoutes(api, services);
    releaseRoutes(api, services);
    rolloutRoutes(api, services);
    rolloutStreamRoutes(api, services);
    sbomRoutes(api, services);
    vulnerabilityRoutes(api, services);
    endpointRoutes(api, services);
    continuityOverviewRoutes(api, services);
    readinessRoutes(api, services);
    caseRoutes(api, services);
    meRoutes(api, services);
    notificationRoutes(api, services);
    peopleRoutes(api, services);
    disclosureRoutes(api, services);
    ssoRoutes(api, services);
    webhookRoutes(api, services);
    evidenceRoutes(api, services);
    metricsRoutes(api, services);
    claimCodeRoutes(api, services);
    appRoutes(api, services);
  });
  // Device owners (issue 18 §1): their own session cookie and scope, apart from the staff API.
  await app.register(async (owners) => {
    ownerRoutes(owners, services);
    ownerPasskeyRoutes(owners, services);
    ownerAppRoutes(owners, services);
  });
  // The app API (issue 18 §2): OAuth 2.1 endpoints, and the API apps reach with their access tokens.
  await app.register(async (oauth) => oauthRoutes(oauth, services));
  await app.register(async (appApi) => appApiRoutes(appApi, services));
  // Sign-in and invitations: before a person has a session.
  await app.register(async (signIn) => signInRoutes(signIn, services));
  await app.register(async (sso) => ssoSignInRoutes(sso, services));
  // Devices authenticate with their own credentials, never an API token.
  await app.register(async (deviceApi) => deviceApiRoutes(deviceApi, services));

  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
  });
  return app;
}
