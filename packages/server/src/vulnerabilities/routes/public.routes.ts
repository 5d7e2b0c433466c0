import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, notFound } from '../../errors.js';
import type { Services } from '../../services.js';
import { DISCLOSURE_LIMITS } from '../disclosures.js';
import { escapeHtml, PAGE_CSP, page } from './html.js';

const FORM_LIMIT = 64 * 1024;

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
  [/\/report$/, 'Disclosure intake: the form (GET) and the submission (POST, JSON or form)'],
  [/reports\/:token$/, "A researcher's report status (JSON, or HTML for browsers)"],
];

export function publicRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, advisories, disclosures, store, clock } = services;

  // Each public route is documented in the OpenAPI document under the tag `public`.
  app.addHook('onRoute', (route) => {
    const summary = publicSummaries.find(([pattern]) => pattern.test(route.url))?.[1];
    route.schema = { ...(route.schema ?? {}), tags: ['public'], ...(summary ? { summary } : {}) };
  });

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_LIMIT },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    },
  );

  const base = (request: FastifyRequest): string =>
    advisories.baseUrl(`${request.protocol}://${request.host}`);
  const orgOf = async (slug: string) => {
    const org = await orgs.find(slug);
    if (!org) throw notFound('organisation', slug);
    return org;
  };
  const wellKnownOrg = async () => {
    if (services.publicOrganization) return orgOf(services.publicOrganization);
    const list = await orgs.list({ limit: 2 });
    if (list.items.length !== 1 || !list.items[0])
      throw new DomainError(
        'not-found',
        'set publication.organization to say whose security.txt and CSAF provider this host serves',
      );
    return list.items[0];
  };
  const orgBase = (request: FastifyRequest, slug: string) =>
    `${base(request)}/public/orgs/${encodeURIComponent(slug)}`;

  const securityTxt = async (
    request: FastifyRequest,
    reply: FastifyReply,
    org: Awaited<ReturnType<typeof orgOf>>,
    canonical: string,
  ) => {
    const b = orgBase(request, org.slug);
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

  app.get('/.well-known/security.txt', async (request, reply) => {
    const org = await wellKnownOrg();
    return securityTxt(request, reply, org, `${base(request)}/.well-known/security.txt`);
  });
  app.get<{ Params: { org: string } }>('/public/orgs/:org/security.txt', async (request, reply) => {
    const org = await orgOf(request.params.org);
    return securityTxt(request, reply, org, `${orgBase(request, org.slug)}/security.txt`);
  });

  const providerMetadata = async (
    request: FastifyRequest,
    org: Awaited<ReturnType<typeof orgOf>>,
    wellKnown: boolean,
  ) => {
    const root = wellKnown ? `${base(request)}/.well-known/csaf` : `${orgBase(request, org.slug)}/csaf`;
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
        namespace: base(request),
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

  app.get('/.well-known/csaf/provider-metadata.json', async (request) =>
    providerMetadata(request, await wellKnownOrg(), true),
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
    providerMetadata(request, await orgOf(request.params.org), false),
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
      const b = orgBase(request, org.slug);
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

  // Disclosure intake: the form, the submission, the researcher's status page.
  app.get<{ Params: { org: string } }>('/public/orgs/:org/report', async (request, reply) => {
    const org = await orgOf(request.params.org);
    return reply
      .header('content-security-policy', PAGE_CSP)
      .type('text/html; charset=utf-8')
      .send(
        page(
          `Report a vulnerability to ${org.name}`,
          `<h1>Report a vulnerability to ${escapeHtml(org.name)}</h1>
<p>Your report goes to the security team. You get a tracking id and a status page; keep the link.</p>
<form method="post" action="report">
<label for="title">Title</label><input id="title" name="title" required maxlength="${DISCLOSURE_LIMITS.title}">
<label for="productId">Product (optional)</label><input id="productId" name="productId" maxlength="100">
<label for="description">What did you find, and how can we reproduce it?</label><textarea id="description" name="description" rows="12" required maxlength="${DISCLOSURE_LIMITS.description}"></textarea>
<label for="contact">How can we reach you? (optional)</label><input id="contact" name="contact" maxlength="${DISCLOSURE_LIMITS.contact}">
<button type="submit">Send report</button></form>`,
        ),
      );
  });

  app.post<{ Params: { org: string }; Body: Record<string, unknown> }>(
    '/public/orgs/:org/report',
    { bodyLimit: FORM_LIMIT },
    async (request, reply) => {
      const org = await orgOf(request.params.org);
      const body = (request.body ?? {}) as Record<string, unknown>;
      const str = (v: unknown): string | undefined =>
        typeof v === 'string' && v.trim() !== '' ? v : undefined;
      const title = str(body.title);
      const description = str(body.description);
      if (!title || !description)
        throw new DomainError('validation-failed', 'title and description are required', [
          { field: !title ? '/title' : '/description', message: 'required' },
        ]);
      const contact = str(body.contact);
      const productId = str(body.productId);
      const result = await disclosures.submit(
        org.id,
        { title, description, ...(contact ? { contact } : {}), ...(productId ? { productId } : {}) },
        request.ip,
      );
      const statusUrl = `${base(request)}/public/reports/${result.trackingId}`;
      if ((request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
        return reply
          .status(201)
          .header('content-security-policy', PAGE_CSP)
          .type('text/html; charset=utf-8')
          .send(
            page(
              'Report received',
              `<h1>Thank you</h1><p>Your report was received. Tracking id: <code>${escapeHtml(result.trackingId)}</code></p><p>Status: <a href="${escapeHtml(statusUrl)}">${escapeHtml(statusUrl)}</a></p>`,
            ),
          );
      return reply.status(201).send({ ...result, statusUrl });
    },
  );

  app.get<{ Params: { token: string }; Querystring: { format?: string } }>(
    '/public/reports/:token',
    async (request, reply) => {
      const status = await disclosures.status(request.params.token);
      const org = await orgs.get(status.orgId);
      const data = {
        organisation: org.name,
        title: status.title,
        status: status.status,
        note: status.publicNote,
        received: status.createdAt,
        updated: status.updatedAt,
      };
      const wantsHtml =
        request.query.format === 'html' ||
        (request.query.format !== 'json' && (request.headers.accept ?? '').includes('text/html'));
      if (!wantsHtml) return data;
      return reply
        .header('content-security-policy', PAGE_CSP)
        .type('text/html; charset=utf-8')
        .send(
          page(
            'Report status',
            `<h1>${escapeHtml(data.title)}</h1><p>Sent to ${escapeHtml(data.organisation)} on ${escapeHtml(data.received.slice(0, 10))}.</p><p>Status: <strong>${escapeHtml(data.status)}</strong></p>${data.note ? `<p>${escapeHtml(data.note)}</p>` : ''}`,
          ),
        );
    },
  );
}
