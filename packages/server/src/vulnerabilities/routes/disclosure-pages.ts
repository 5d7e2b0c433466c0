import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../../errors.js';
import type { Organization } from '../../fleet/organizations.js';
import type { Services } from '../../services.js';
import { MESSAGE_LIMITS, type TrackingView } from '../disclosure-thread.js';
import { DISCLOSURE_LIMITS } from '../disclosures.js';
import { escapeHtml, PAGE_CSP, page } from './html.js';

export const FORM_LIMIT = 64 * 1024;
/** A message of MESSAGE_LIMITS.characters, each a 4-byte character percent-encoded in a form: 120 kB. */
const MESSAGE_BODY_LIMIT = 128 * 1024;

/**
 * The disclosure intake and the researcher's private tracking link (issue 16 §6). The secret in
 * `/public/reports/{secret}` is the capability: its responses are never stored by a cache
 * (`no-store`) and never named to another site (`no-referrer`), the routes that carry it log
 * nothing at info level (Fastify would log the URL), and a form post to it must come from a page
 * of this origin (OWASP CSRF cheat sheet, "verifying origin with standard headers").
 */
export function disclosurePages(
  app: FastifyInstance,
  services: Services,
  helpers: { base: () => string; orgOf: (slug: string) => Promise<Organization> },
): void {
  const { orgs, disclosures, disclosureThread } = services;
  const { base, orgOf } = helpers;
  const trackingPath = (secret: string) => `/public/reports/${secret}`;
  const secretRoute = { logLevel: 'warn' as const };

  app.get<{ Params: { org: string } }>('/public/orgs/:org/report', async (request, reply) => {
    const org = await orgOf(request.params.org);
    return html(reply).send(
      page(
        `Report a vulnerability to ${org.name}`,
        `<h1>Report a vulnerability to ${escapeHtml(org.name)}</h1>
<p>Your report goes to the security team. You get a private tracking link to follow its status and to exchange messages with the team; keep the link.</p>
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
      // The link on our own page stays on the origin the researcher used; the text and the JSON
      // answer give the public address. The secret is shown here once and never again.
      const path = trackingPath(result.trackingId);
      const trackingUrl = `${base()}${path}`;
      secret(reply).status(201);
      if (isForm(request))
        return html(reply).send(
          page(
            'Report received',
            `<h1>Thank you</h1><p>Your report was received.</p>
<p>Your private tracking link: <a href="${escapeHtml(path)}">${escapeHtml(trackingUrl)}</a></p>
<p>Keep it private and keep it safe: it is shown only now, and whoever has it can read your report's status and the messages, and write to the security team.</p>`,
          ),
        );
      // `statusUrl` is the earlier name of the same link.
      return reply.send({ ...result, trackingUrl, statusUrl: trackingUrl });
    },
  );

  app.get<{ Params: { token: string }; Querystring: { format?: string } }>(
    '/public/reports/:token',
    secretRoute,
    async (request, reply) => {
      secret(reply);
      const view = await disclosureThread.view(request.params.token, request.ip);
      const org = await orgs.get(view.disclosure.orgId);
      const wantsHtml =
        request.query.format === 'html' ||
        (request.query.format !== 'json' && (request.headers.accept ?? '').includes('text/html'));
      if (!wantsHtml) return researcherJson(org, view);
      return html(reply).send(trackingPage(org, view, request.params.token));
    },
  );

  app.post<{ Params: { token: string }; Body: { message: string } }>(
    '/public/reports/:token/messages',
    {
      ...secretRoute,
      bodyLimit: MESSAGE_BODY_LIMIT,
      schema: {
        body: Type.Object(
          {
            message: Type.String({
              minLength: 1,
              description: `prose, at most ${MESSAGE_LIMITS.characters} characters`,
            }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      secret(reply);
      const form = isForm(request);
      if (!form && !isJson(request))
        throw new DomainError(
          'unsupported-media-type',
          'send the message as JSON ({"message": "…"}) or from the tracking page',
        );
      // CSRF: JSON needs a CORS preflight this server never grants; a form can come from any site.
      if (form) refuseCrossOrigin(request, base());
      const message = await disclosureThread.postFromResearcher(
        request.params.token,
        request.body.message,
        request.ip,
      );
      // Post/redirect/get: reloading the page does not send the message again.
      if (form)
        return reply
          .status(303)
          .header('location', `${trackingPath(request.params.token)}#messages`)
          .send();
      return reply.status(201).send(message);
    },
  );
}

/** The capability is in the URL: never kept by a cache, never sent on as a referrer. */
function secret(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
}

function html(reply: FastifyReply): FastifyReply {
  return reply.header('content-security-policy', PAGE_CSP).type('text/html; charset=utf-8');
}

const isForm = (request: FastifyRequest) =>
  (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
const isJson = (request: FastifyRequest) =>
  /^application\/json\s*(;|$)/.test(request.headers['content-type'] ?? '');

/**
 * Where a form post comes from, as the browser says (Fetch Metadata, then Origin). The tracking
 * page's `no-referrer` makes browsers send `Origin: null` on its own form posts (Fetch, "serializing
 * a request origin"), so `Sec-Fetch-Site` (every current browser, on HTTPS and loopback) is the
 * signal; a browser without it must name a real origin, the Host's or the public address's.
 * Anything else is refused; the JSON form of the route stays open to tools.
 */
export function refuseCrossOrigin(request: FastifyRequest, publicUrl: string): void {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') {
    if (site === 'same-origin' || site === 'none') return;
    throw new DomainError('forbidden', `a form post from another site (${site}) is refused`);
  }
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null')
    throw new DomainError(
      'forbidden',
      'this form post names no origin (Sec-Fetch-Site or Origin): send it from the tracking page in an up-to-date browser, or post the message as JSON',
    );
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    // Unparsable: refused below.
  }
  let publicOrigin: string | null = null;
  try {
    publicOrigin = new URL(publicUrl).origin;
  } catch {
    // No usable public address: only the Host comparison.
  }
  if (host === null || (host !== request.headers.host && origin !== publicOrigin))
    throw new DomainError('forbidden', 'a form post from another origin is refused');
}

function researcherJson(org: Organization, view: TrackingView) {
  const d = view.disclosure;
  return {
    organisation: org.name,
    title: d.title,
    status: d.status,
    note: d.publicNote,
    received: d.createdAt,
    updated: d.updatedAt,
    messages: view.messages,
  };
}

const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

function trackingPage(org: Organization, view: TrackingView, token: string): string {
  const d = view.disclosure;
  const thread = view.messages
    .map(
      (m) =>
        `<li><p class="muted">${m.from === 'researcher' ? 'You' : escapeHtml(org.name)} · <time datetime="${escapeHtml(m.sentAt)}">${escapeHtml(when(m.sentAt))}</time></p><p class="message">${escapeHtml(m.message)}</p></li>`,
    )
    .join('');
  return page(
    'Report status',
    `<h1>${escapeHtml(d.title)}</h1>
<p>Sent to ${escapeHtml(org.name)} on ${escapeHtml(d.createdAt.slice(0, 10))}.</p>
<p>Status: <strong>${escapeHtml(d.status)}</strong> (updated ${escapeHtml(d.updatedAt.slice(0, 10))})</p>
${d.publicNote ? `<p class="message">${escapeHtml(d.publicNote)}</p>` : ''}
<h2 id="messages">Messages</h2>
${thread ? `<ol class="thread">${thread}</ol>` : '<p>No messages yet.</p>'}
<form method="post" action="${escapeHtml(token)}/messages">
<label for="message">Write to the security team of ${escapeHtml(org.name)}</label><textarea id="message" name="message" rows="6" required maxlength="${MESSAGE_LIMITS.characters}"></textarea>
<button type="submit">Send message</button></form>
<p class="muted">This page's address is your private tracking link: whoever has it can read this report's status and messages and write here. Do not share it.</p>`,
  );
}
