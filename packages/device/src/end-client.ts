import { type EventEmitter, once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';

/**
 * Ends an MQTT client without ever hanging. mqtt.js's graceful end waits until every in-flight
 * QoS 1 message is acknowledged; on a connection that is gone (ours never reconnect by
 * themselves) or a server that stalls, that wait never ends, and a device's close() or move hung
 * with it. Here the acknowledgements get `graceMs`; then the end is graceful (DISCONNECT, so the
 * server does not publish the last will, MQTT 3.1.1 §3.14) when nothing is left in flight, and
 * forced otherwise. What is forced off is the caller's to resend: telemetry stays in the
 * device's buffer until the server acknowledged it.
 */
export async function endClient(client: MqttClient | null | undefined, graceMs = 2_000): Promise<void> {
  if (!client) return;
  const inFlight = () => Object.keys(client.outgoing).length;
  if (client.connected && inFlight() > 0) {
    const stop = new AbortController();
    // mqtt.js types its client as its own typed emitter; it is a Node EventEmitter.
    const events = client as unknown as EventEmitter;
    await Promise.race([
      once(events, 'outgoingEmpty', { signal: stop.signal }),
      once(events, 'close', { signal: stop.signal }),
      delay(graceMs, undefined, { signal: stop.signal }),
    ]).catch(() => {});
    stop.abort();
  }
  if (!client.connected || inFlight() > 0) {
    // Forced, and bounded too: a client still in its TLS handshake or CONNECT (a loaded server
    // answers late) may never call back from end(true); its socket is then destroyed.
    const forced = client.endAsync(true).then(
      () => true,
      () => true,
    );
    const stopForced = new AbortController();
    const late = delay(graceMs, false, { signal: stopForced.signal }).catch(() => false);
    if (!(await Promise.race([forced, late]))) client.stream?.destroy();
    stopForced.abort();
    return;
  }
  // A graceful end still needs the server to close its side; one that never does is cut off.
  const ended = client.endAsync().then(
    () => true,
    () => true,
  );
  const stop = new AbortController();
  const timedOut = delay(graceMs, false, { signal: stop.signal }).catch(() => false);
  if (!(await Promise.race([ended, timedOut]))) client.stream?.destroy();
  stop.abort();
  // After the destroy the end normally completes at once; never wait on it past another grace.
  const stopLast = new AbortController();
  await Promise.race([ended, delay(graceMs, undefined, { signal: stopLast.signal }).catch(() => {})]);
  stopLast.abort();
}
