import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics for one app instance. A registry per app (not prom-client's global one) so
 * that several apps in one process, as in tests, do not collide. Labels carry route patterns,
 * never ids or organisation names: metrics are readable without a token and must not leak tenants.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'brickless_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'brickless_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'brickless_auth_failures_total',
    help: 'Requests refused for a missing, unknown, revoked or expired credential (ETSI EN 303 645 5.10)',
    labelNames: ['surface'] as const,
    registers: [this.registry],
  });
  readonly securityEvents = new Counter({
    name: 'brickless_security_events_total',
    help: 'Refused device actions: failed logins, denied topics, rate limits (ETSI EN 303 645 5.10)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly messagesRefused = new Counter({
    name: 'brickless_device_messages_refused_total',
    help: 'Device messages refused with an error reply, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly messagesThrottled = new Counter({
    name: 'brickless_device_messages_throttled_total',
    help: 'Device messages over the per-device rate, acknowledged late (when stored) instead of at once',
    registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'brickless_mqtt_connections_refused_total',
    help: 'MQTT connections closed before authentication: per-address or total cap, evicted for a fairer newcomer, oversized packet',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly proxyHeadersRefused = new Counter({
    name: 'brickless_proxy_headers_refused_total',
    help: 'Connections from a trusted load balancer dropped for their PROXY protocol header: invalid, none in time, or closed before it (decision 0031)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly telemetryReadings = new Counter({
    name: 'brickless_telemetry_values_stored_total',
    help: 'Telemetry field values committed to the database',
    registers: [this.registry],
  });
  readonly databaseErrors = new Counter({
    name: 'brickless_database_errors_total',
    help: 'Database failures: connect, connection-lost, query (on a broken connection), probe (readiness)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly databaseUp = new Gauge({
    name: 'brickless_database_up',
    help: '1 while the database answers, 0 from its first failure until it answers again',
    registers: [this.registry],
  });
  readonly telemetryCommitFailures = new Counter({
    name: 'brickless_telemetry_commit_failures_total',
    help: 'Telemetry batches that failed to commit (none of their messages was acknowledged)',
    registers: [this.registry],
  });
  readonly telemetryDuplicates = new Counter({
    name: 'brickless_telemetry_duplicates_total',
    help: 'Telemetry messages recognised as already stored (a resend after a lost acknowledgement)',
    registers: [this.registry],
  });
  readonly messagesUnacknowledged = new Counter({
    name: 'brickless_device_messages_unacknowledged_total',
    help: 'QoS 1 device messages left without PUBACK for the device to send again, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly connectedDevices = new Gauge({
    name: 'brickless_connected_devices',
    help: 'Devices connected to this node',
    registers: [this.registry],
  });

  // The bus between nodes (issue 19, decision 0028).
  readonly busMessages = new Counter({
    name: 'brickless_bus_messages_total',
    help: 'Events this node sent to other nodes (out) or accepted from them (in), by event',
    labelNames: ['event', 'direction'] as const,
    registers: [this.registry],
  });
  readonly busDropped = new Counter({
    name: 'brickless_bus_messages_dropped_total',
    help: 'Messages from the bus refused as untrusted input: too-large, not-json, unknown-event, unknown-version, invalid',
    labelNames: ['event', 'reason'] as const,
    registers: [this.registry],
  });
  readonly busUp = new Gauge({
    name: 'brickless_bus_up',
    help: '1 while this node is connected to the bus (always 1 for the in-process bus), 0 while it reconnects',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'brickless_' });
    this.databaseUp.set(1);
    this.busUp.set(1);
  }

  instrument(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      this.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
      this.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });
  }
}
