import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DomainError, notFound } from '../../errors.js';
import { checkInput } from '../../http/input.js';
import type { Services } from '../../services.js';
import { disclosurePages, FORM_LIMIT } from './disclosure-pages.js';
import { escapeHtml, PAGE_CSP, page } from './html.js';

/**
 * What the public sees without a token: security.txt (RFC 9116), the CSAF 2.0 provider (section 7:
 * provider-metadata.json, a TLP:WHITE directory with index.txt, changes.csv and .sha256/.sha512
 * next to every document), a product security page per product, and the disclosure intake.
 * Everything lives under /public/orgs/{org}/; the organisation named by config
 * `publication.organization` (or the only one) is also served at /.well-known/.
 */
const publicSummaries: Array<[RegExp, string]> = [
  [/security\.txt$/, 'security.txt (RFC 9116): where to report, the policy, the CSAF provider'],
  [/provider-metadata\.json$/, 'CSAF 2.0 provider metadata (role csaf_provider)'],
  [/white\/(:year\/)?$/, 'CSAF directory listing (requirement 14)'],
  [/white\/:file$/, 'index.txt, changes.csv of the TLP:WHITE CSAF directory'],
  [/white\/:year\/:file$/, 'A published CSAF document, or its .sha256 / .sha512'],
  [
    /products\/:productId$/,
    'Product security page: support period and advisories (JSON, or HTML for browsers)',
  ],
  [
    /evidence-key$/,
    "The organisation's evidence signing key and its rotations: pin it to verify evidence packs (404 before the first pack)",
  ],
  [/\/report$/, 'Disclosure intake: the form (GET) and the submission (POST, JSON or form)'],
  [
    /reports\/:token$/,
    "A researcher's private tracking link: status and messages (JSON, or HTML for browsers)",
  ],
  [/reports\/:token\/messages$/, 'A message from the researcher to the security team (JSON or form)'],
];

export function publicRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, advisories, store, clock } = services;

  // Each public route is documented in the OpenAPI document under the tag `public`.
  app.addHook('onRoute', (route) => {
    const summary = publicSummaries.find(([pattern]) => pattern.test(route.url))?.[1];
    route.schema = { ...(route.schema ?? {}), tags: ['public'], ...(summary ? { summary } : {}) };
  });

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_LIMIT },
    (_request, body, done) => {
      // Form fields pass the same input rules as JSON (no control characters, no prototype keys).
      try {
        const fields = Object.fromEntries(new URLSearchParams(String(body)));
        checkInput(fields);
        done(null, fields);
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );

  // Public documents name the server by `http.publicUrl`, never by the Host header a client sends.
  const base = (): string => advisories.baseUrl();
  const orgOf = async (slug: string) => {
    const org = await orgs.find(slug);
    if (!org) throw notFound('organisation', slug);
    return org;
  };
  const wellKnownOrg = async () => {
    if (services.publicOrganization) return orgOf(services.publicOrganization);
    // Without publication.organization: the first organisation created (docs/vulnerabilities.md),
    // so that a second organisation does not take the host's security.txt away.
    const list = await orgs.list({ limit: 1 });
    if (!list.items[0])
      throw new DomainError(
        'not-found',
        'set publication.organization to say whose security.txt and CSAF provider this host serves',
      );
    return list.items[0];
  };
  const orgBase = (slug: string) => `${base()}/public/orgs/${encodeURIComponent(slug)}`;

  const securityTxt = async (
    reply: FastifyReply,
    org: Awaited<ReturnType<typeof orgOf>>,
    canonical: string,
  ) => {
    const b = orgBase(org.slug);
    const expires = new Date(clock.now().getTime() + 180 * 86_400_000);
    expires.setUTCHours(0, 0, 0, 0);
    const lines = [
      `# ${org.name}: how to report a security vulnerability`,
      ...(org.securityContact ? [`Contact: ${org.securityContact}`] : []),
      `Contact: ${b}/report`,
      `Expires: ${expires.toISOString().replace('.000Z', 'Z')}`,
      ...(org.securityPolicy ? [`Policy: ${org.securityPolicy}`] : []),
      'Preferred-Languages: en',
      `Canonical: ${canonical}`,
      `CSAF: ${b}/csaf/provider-metadata.json`,
      '',
    ];
    return reply.type('text/plain; charset=utf-8').send(lines.join('\n'));
  };

  app.get('/.well-known/security.txt', async (_request, reply) => {
    const org = await wellKnownOrg();
    return securityTxt(reply, org, `${base()}/.well-known/security.txt`);
  });
  app.get<{ Params: { org: string } }>('/public/orgs/:org/security.txt', async (request, reply) => {
    const org = await orgOf(request.params.org);
    return securityTxt(reply, org, `${orgBase(org.slug)}/security.txt`);
  });

  // The public half of the key that signs the organisation's evidence packs, where an authority or
  // customer can fetch it independently of the pack (issue 21 §1); never made by a visitor.
  app.get<{ Params: { org: string } }>('/public/orgs/:org/evidence-key', async (request) => {
    const org = await orgOf(request.params.org);
    const key = await services.orgKeys.describe(org.id, { create: false });
    if (!key)
      throw new DomainError(
        'not-found',
        `${org.slug} has not signed an evidence pack yet, so it has no evidence key`,
      );
    return key;
  });

  const providerMetadata = async (org: Awaited<ReturnType<typeof orgOf>>, wellKnown: boolean) => {
    const root = wellKnown ? `${base()}/.well-known/csaf` : `${orgBase(org.slug)}/csaf`;
    const published = await advisories.published(org.id);
    return {
      canonical_url: `${root}/provider-metadata.json`,
      distributions: [{ directory_url: `${root}/white/` }],
      last_updated: published[0]?.currentReleaseDate ?? org.updatedAt,
      list_on_CSAF_aggregators: true,
      metadata_version: '2.0',
      mirror_on_CSAF_aggregators: true,
      publisher: {
        category: 'vendor',
        name: org.name,
        namespace: base(),
        ...(org.securityContact ? { contact_details: org.securityContact } : {}),
      },
      role: 'csaf_provider',
    };
  };
  const directory = async (reply: FastifyReply, org: Awaited<ReturnType<typeof orgOf>>, file: string) => {
    const published = await advisories.published(org.id);
    if (file === 'index.txt')
      return reply
        .type('text/plain; charset=utf-8')
        .send(published.map((p) => `${p.year}/${p.filename}`).join('\n') + (published.length ? '\n' : ''));
    if (file === 'changes.csv')
      return reply
        .type('text/csv; charset=utf-8')
        .send(
          published.map((p) => `"${p.year}/${p.filename}","${p.currentReleaseDate}"`).join('\n') +
            (published.length ? '\n' : ''),
        );
    const m = /^(\d{4})\/([+\-a-z0-9_]+\.json)(\.sha256|\.sha512)?$/.exec(file);
    const doc = m ? published.find((p) => p.year === m[1] && p.filename === m[2]) : undefined;
    if (!m || !doc) throw notFound('CSAF document', file);
    if (m[3]) {
      const algorithm = m[3] === '.sha256' ? 'sha256' : 'sha512';
      return reply
        .type('text/plain; charset=utf-8')
        .send(`${createHash(algorithm).update(doc.document).digest('hex')}  ${doc.filename}\n`);
    }
    return reply.type('application/json').send(doc.document);
  };

  // CSAF 2.0 requirement 14: directory listings of the TLP:WHITE folder and each year's folder.
  const listing = async (
    reply: FastifyReply,
    org: Awaited<ReturnType<typeof orgOf>>,
    year: string | null,
  ) => {
    const published = await advisories.published(org.id);
    const entries = year
      ? published
          .filter((p) => p.year === year)
          .flatMap((p) => [p.filename, `${p.filename}.sha256`, `${p.filename}.sha512`])
      : [
          ...[...new Set(published.map((p) => p.year))].sort().map((y) => `${y}/`),
          'index.txt',
          'changes.csv',
        ];
    if (year && entries.length === 0) throw notFound('CSAF folder', year);
    const title = `Index of ${year ? `white/${year}/` : 'white/'}`;
    return reply
      .header('content-security-policy', PAGE_CSP)
      .type('text/html; charset=utf-8')
      .send(
        page(
          title,
          `<h1>${escapeHtml(title)}</h1><ul>${entries.map((e) => `<li><a href="${escapeHtml(e)}">${escapeHtml(e)}</a></li>`).join('')}</ul>`,
        ),
      );
  };
  app.get('/.well-known/csaf/white/', async (_request, reply) => listing(reply, await wellKnownOrg(), null));
  app.get<{ Params: { year: string } }>('/.well-known/csaf/white/:year/', async (request, reply) =>
    listing(reply, await wellKnownOrg(), request.params.year),
  );
  app.get<{ Params: { org: string } }>('/public/orgs/:org/csaf/white/', async (request, reply) =>
    listing(reply, await orgOf(request.params.org), null),
  );
  app.get<{ Params: { org: string; year: string } }>(
    '/public/orgs/:org/csaf/white/:year/',
    async (request, reply) => listing(reply, await orgOf(request.params.org), request.params.year),
  );

  app.get('/.well-known/csaf/provider-metadata.json', async () =>
    providerMetadata(await wellKnownOrg(), true),
  );
  app.get<{ Params: { file: string } }>('/.well-known/csaf/white/:file', async (request, reply) =>
    directory(reply, await wellKnownOrg(), request.params.file),
  );
  app.get<{ Params: { year: string; file: string } }>(
    '/.well-known/csaf/white/:year/:file',
    async (request, reply) =>
      directory(reply, await wellKnownOrg(), `${request.params.year}/${request.params.file}`),
  );
  app.get<{ Params: { org: string } }>('/public/orgs/:org/csaf/provider-metadata.json', async (request) =>
    providerMetadata(await orgOf(request.params.org), false),
  );
  app.get<{ Params: { org: string; file: string } }>(
    '/public/orgs/:org/csaf/white/:file',
    async (request, reply) => directory(reply, await orgOf(request.params.org), request.params.file),
  );
  app.get<{ Params: { org: string; year: string; file: string } }>(
    '/public/orgs/:org/csaf/white/:year/:file',
    async (request, reply) =>
      directory(reply, await orgOf(request.params.org), `${request.params.year}/${request.params.file}`),
  );

  // The product security page: support period (CRA Art. 13(8), (19)) and the advisories.
  app.get<{ Params: { org: string; productId: string }; Querystring: { format?: string } }>(
    '/public/orgs/:org/products/:productId',
    async (request, reply) => {
      const org = await orgOf(request.params.org);
      const product = await store.db
        .selectFrom('products')
        .selectAll()
        .where('org_id', '=', org.id)
        .where((eb) =>
          eb.or([eb('id', '=', request.params.productId), eb('model_number', '=', request.params.productId)]),
        )
        .executeTakeFirst();
      if (!product) throw notFound('product', request.params.productId);
      const b = orgBase(org.slug);
      const relevant = (await advisories.published(org.id)).filter(
        (a) => a.productIds.length === 0 || a.productIds.includes(product.id),
      );
      const items = [];
      for (const a of relevant) {
        const doc = JSON.parse(a.document) as { product_tree?: unknown };
        if (
          a.productIds.length === 0 &&
          !JSON.stringify(doc.product_tree ?? {}).includes(`"${product.name}"`)
        )
          continue;
        items.push({
          trackingId: a.trackingId,
          title: a.title,
          vulnerabilities: a.vulnerabilities,
          released: a.initialReleaseDate,
          updated: a.currentReleaseDate,
          url: `${b}/csaf/white/${a.year}/${a.filename}`,
        });
      }
      const now = clock.now().toISOString().slice(0, 10);
      const data = {
        manufacturer: org.name,
        product: {
          name: product.name,
          modelNumber: product.model_number,
          hardwareRevision: product.hardware_revision,
        },
        supportEnds: product.support_ends,
        supported: product.support_ends >= now,
        securityContact: org.securityContact,
        reportUrl: `${b}/report`,
        advisories: items,
      };
      const wantsHtml =
        request.query.format === 'html' ||
        (request.query.format !== 'json' && (request.headers.accept ?? '').includes('text/html'));
      if (!wantsHtml) return data;
      const rows = items
        .map(
          (i) =>
            `<tr><td><a href="${escapeHtml(i.url)}">${escapeHtml(i.trackingId)}</a></td><td>${escapeHtml(i.title)}</td><td>${escapeHtml(i.vulnerabilities.join(', '))}</td><td>${escapeHtml(i.updated.slice(0, 10))}</td></tr>`,
        )
        .join('');
      return reply
        .header('content-security-policy', PAGE_CSP)
        .type('text/html; charset=utf-8')
        .send(
          page(
            `${product.name}: security`,
            `<h1>${escapeHtml(product.name)}</h1><p class="muted">${escapeHtml(org.name)} · model ${escapeHtml(product.model_number)}</p>
<p>Security updates ${data.supported ? 'are provided until' : 'ended on'} <strong>${escapeHtml(product.support_ends)}</strong>.</p>
<h2>Security advisories</h2>${items.length ? `<table><tr><th>Advisory</th><th>Title</th><th>Vulnerabilities</th><th>Updated</th></tr>${rows}</table>` : '<p>No advisories have been published for this product.</p>'}
<p><a href="${escapeHtml(data.reportUrl)}">Report a vulnerability</a></p>`,
          ),
        );
    },
  );

  // Disclosure intake: the form, the submission, the researcher's private tracking link.
  disclosurePages(app, services, { base, orgOf });
}
