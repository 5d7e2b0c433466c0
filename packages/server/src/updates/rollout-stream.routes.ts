import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { authorizeOrg } from '../http/authorize.js';
import { Id, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import type { RolloutProgress } from './rollouts.js';

/** Limits of the live progress stream (docs/api.md, "Live rollout progress"). */
export const ROLLOUT_STREAM = {
  /** The rollout is read again this often: device reports may arrive at another server instance. */
  pollMs: 2_000,
  /** A comment line this often keeps proxies and the idle timeout from closing a quiet stream. */
  heartbeatMs: 15_000,
  /** Open streams per organisation; one more is refused with 429 until one closes. */
  maxPerOrg: 20,
  /**
   * A stream ends after this long; the browser's EventSource reconnects by itself, and the
   * reconnection is authorised again (a session that ended meanwhile gets no more progress).
   */
  maxLifetimeMs: 30 * 60_000,
};

const FINAL = new Set(['completed', 'cancelled']);

/** Open streams per organisation, for the cap (in-process: each server instance has its own). */
const open = new Map<string, number>();

/**
 * `GET /v1/orgs/{org}/rollouts/{rolloutId}/stream`: the rollout's progress as server-sent events
 * (WHATWG HTML §9.2), for the console's rollout page. Each change of the rollout or of a device's
 * update state sends an `event: progress` with the same JSON as `GET …/rollouts/{rolloutId}`; a
 * finished rollout sends it one last time and `event: end`. The engine's events on the bus
 * (offers, status changes, device reports, from every node) make it immediate; the 2 s poll
 * catches what no event announces (a pause through the API) and what the bus lost in an outage.
 */
export function rolloutStreamRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, rollouts, bus } = services;

  app.get<{ Params: { org: string; rolloutId: string } }>(
    '/v1/orgs/:org/rollouts/:rolloutId/stream',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags: ['updates'],
        summary: "The rollout's progress, live (server-sent events)",
        description:
          'A `text/event-stream` (server-sent events). `event: progress` carries the rollout as `GET /v1/orgs/{org}/rollouts/{rolloutId}` returns it, at once and on every change (a device reporting a step, an offer, pause, resume, a wave advancing). A comment line (`: heartbeat`) comes every 15 s. When the rollout is completed or cancelled, the last `progress` is followed by `event: end` and the stream closes. The stream closes after 30 minutes; EventSource reconnects by itself. At most 20 streams per organisation are open at once (429 beyond).',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), rolloutId: Id('rol') }),
        response: {
          200: {
            description: 'server-sent events: `progress` (a Rollout as JSON), `end`',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { rolloutId } = request.params;
      // Unknown or another organisation's rollout: 404 before any stream opens.
      const first = await rollouts.progress(orgId, rolloutId);
      const count = open.get(orgId) ?? 0;
      if (count >= ROLLOUT_STREAM.maxPerOrg)
        throw new DomainError(
          'rate-limited',
          `${ROLLOUT_STREAM.maxPerOrg} progress streams of this organisation are open; close one (another tab) or read GET …/rollouts/${rolloutId}`,
        );
      open.set(orgId, count + 1);

      const stream = new PassThrough();
      let last = '';
      let closed = false;
      let sequence = 0;
      let reading: Promise<void> | null = null;
      let again = false;

      const send = (progress: RolloutProgress) => {
        // A read that was in flight when the stream closed has nowhere to go.
        if (closed) return;
        const data = JSON.stringify(progress);
        if (data === last) return;
        last = data;
        sequence += 1;
        stream.write(`id: ${sequence}\nevent: progress\ndata: ${data}\n\n`);
        if (FINAL.has(progress.status)) {
          stream.write('event: end\ndata: {}\n\n');
          close();
        }
      };
      // One read at a time; a change during a read asks for one more afterwards.
      const refresh = () => {
        if (closed) return;
        if (reading) {
          again = true;
          return;
        }
        reading = rollouts
          .progress(orgId, rolloutId)
          .then(send, (error: unknown) => {
            request.log.warn({ err: error, rolloutId }, 'rollout stream read failed');
            close();
          })
          .finally(() => {
            reading = null;
            if (again && !closed) {
              again = false;
              refresh();
            }
          });
      };
      const onRollout = (event: { rolloutId: string }) => {
        if (event.rolloutId === rolloutId) refresh();
      };
      const unsubscribe = [
        bus.subscribe('rollout.offer', onRollout),
        bus.subscribe('rollout.changed', onRollout),
        bus.subscribe('rollout.reported', onRollout),
      ];
      const poll = setInterval(refresh, ROLLOUT_STREAM.pollMs);
      const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), ROLLOUT_STREAM.heartbeatMs);
      const lifetime = setTimeout(() => close(), ROLLOUT_STREAM.maxLifetimeMs);

      function close() {
        if (closed) return;
        closed = true;
        clearInterval(poll);
        clearInterval(heartbeat);
        clearTimeout(lifetime);
        for (const off of unsubscribe) off();
        const left = (open.get(orgId) ?? 1) - 1;
        if (left > 0) open.set(orgId, left);
        else open.delete(orgId);
        stream.end();
      }
      // The client went away (tab closed, EventSource.close()): stop reading at once. A client
      // that left during the first read is gone already: its place is given back now, not in 30 min.
      reply.raw.on('close', close);
      if (request.raw.destroyed || reply.raw.destroyed) {
        close();
        return reply;
      }

      // Ask EventSource to wait 5 s before reconnecting; the first progress goes out at once.
      stream.write('retry: 5000\n\n');
      send(first);
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('x-accel-buffering', 'no')
        .send(stream);
    },
  );
}
