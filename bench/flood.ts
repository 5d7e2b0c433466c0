import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { residentBytes } from './idle.js';

/**
 * The unauthenticated flood of issue 14 §4: many connections that never authenticate, from a few
 * loopback addresses, against brickless and against Mosquitto as the reference. A third of them
 * only open TCP, a third finish the TLS handshake and stay silent, a third send the first bytes of
 * a CONNECT and stop. Bounded: FLOOD connections, loopback only, every socket closed by the bench.
 */
const FLOOD = Number(process.env.BENCH_FLOOD_CONNECTIONS ?? 3000);
/**
 * 127.0.0.2 … : 100 per address, over brickless' default per-address cap (64) on unauthenticated
 * connections; 30 addresses × 100 is far over the global cap (64), which is what bounds memory.
 */
const ADDRESSES = Number(process.env.BENCH_FLOOD_ADDRESSES ?? 30);
/** A CONNECT fixed header announcing 30 bytes, then only the start of the protocol name. */
const PARTIAL_CONNECT = Buffer.from([0x10, 30, 0x00, 0x04, 0x4d, 0x51]);

export interface FloodResult {
  attempted: number;
  /** Sockets still open on the client side when the peak was read. */
  openAtPeak: number;
  beforeBytes: number;
  peakBytes: number;
  afterBytes: number;
}

export interface FloodBench {
  brickless: FloodResult;
  mosquitto: FloodResult;
  mosquittoVersion: string;
}

interface FloodDeps {
  freePort(): Promise<number>;
  spawnBrickless(dir: string, flags: string[]): ChildProcess;
  waitForOutput(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens the flood against `port`, reads the server's RSS every 200 ms; closes every socket. */
async function flood(pid: number, port: number): Promise<FloodResult> {
  await sleep(1000);
  const beforeBytes = residentBytes(pid);
  let peakBytes = beforeBytes;
  let openAtPeak = 0;
  const sockets = new Set<Socket>();
  const sample = setInterval(() => {
    const rss = residentBytes(pid);
    if (rss > peakBytes) {
      peakBytes = rss;
      openAtPeak = sockets.size;
    }
  }, 200);
  for (let i = 0; i < FLOOD; i++) {
    const tcp = createConnection({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % ADDRESSES)}` });
    tcp.on('error', () => {});
    sockets.add(tcp);
    tcp.once('close', () => sockets.delete(tcp));
    if (i % 3 !== 0) {
      const tls = tlsConnect({ socket: tcp, rejectUnauthorized: false, servername: 'localhost' });
      tls.on('error', () => {});
      if (i % 3 === 2) tls.once('secureConnect', () => tls.write(PARTIAL_CONNECT));
    }
    // Ramped, 100 per 50 ms: a flood, but one the bench's own process can keep up with.
    if (i % 100 === 99) await sleep(50);
  }
  await sleep(3000);
  clearInterval(sample);
  for (const socket of sockets) socket.destroy();
  await sleep(2000);
  return { attempted: FLOOD, openAtPeak, beforeBytes, peakBytes, afterBytes: residentBytes(pid) };
}

export async function benchFlood(dir: string, deps: FloodDeps): Promise<FloodBench> {
  const mqttPort = await deps.freePort();
  const server = deps.spawnBrickless(dir, ['--http-port', '0', '--mqtt-port', String(mqttPort)]);
  let brickless: FloodResult;
  try {
    await deps.waitForOutput(server, /MQTT:\s+mqtts:/);
    brickless = await flood(server.pid as number, mqttPort);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('close', r));
  }
  const port = await deps.freePort();
  const conf = join(dir, 'mosquitto-flood.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\ncertfile ${join(dir, 'tls', 'server.crt')}\nkeyfile ${join(dir, 'tls', 'server.key')}\nallow_anonymous true\npersistence false\nmax_connections -1\nlog_dest none\n${
      process.getuid?.() === 0 ? 'user root\n' : ''
    }`,
  );
  const broker = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'inherit'] });
  let mosquitto: FloodResult;
  try {
    mosquitto = await flood(broker.pid as number, port);
  } finally {
    broker.kill('SIGTERM');
    await new Promise((r) => broker.once('close', r));
  }
  // `mosquitto -h` prints its version and exits non-zero.
  const mosquittoVersion = spawnSync('mosquitto', ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
  return { brickless, mosquitto, mosquittoVersion };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
/** A change in MB with its sign: +0.8, -2.3. */
const signed = (bytes: number): string => `${bytes >= 0 ? '+' : ''}${mb(bytes)}`;

export function floodSection(result: FloodBench): string {
  const perConnection = (r: FloodResult) =>
    `${((r.peakBytes - r.beforeBytes) / Math.max(1, r.openAtPeak) / 1024).toFixed(0)} KiB`;
  const row = (name: string, r: FloodResult) =>
    `| ${name} | ${r.attempted} (${r.openAtPeak} open at the peak) | ${mb(r.beforeBytes)} | ${mb(r.peakBytes)} (${signed(r.peakBytes - r.beforeBytes)}) | ${perConnection(r)} | ${mb(r.afterBytes)} (${signed(r.afterBytes - r.beforeBytes)}) |`;
  const growth = result.brickless.peakBytes - result.brickless.beforeBytes;
  const ratio =
    (result.brickless.peakBytes - result.brickless.beforeBytes) /
    Math.max(1, result.mosquitto.peakBytes - result.mosquitto.beforeBytes);
  return `## Unauthenticated flood

Measured ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (shared), ${result.mosquittoVersion}.

${FLOOD} connections to the MQTT/TLS port that never authenticate, from ${ADDRESSES} loopback addresses
(127.0.0.2 …, ${Math.ceil(FLOOD / ADDRESSES)} each), opened 100 per 50 ms: a third only open TCP, a third finish
the TLS handshake and stay silent, a third send the first 6 bytes of a CONNECT announcing 30 and
stop. Resident memory (RSS, MB) of the server process before, at its peak during the flood
(sampled every 200 ms), and 2 s after the bench closed every socket (no forced GC: the server is
a separate process). Brickless runs with its default limits (10 s TLS handshake, 30 s CONNECT,
64 unauthenticated connections per address and 64 in all, 8 KiB packets before CONNACK). Run with
\`BENCH_ONLY=flood npm run bench\` (\`BENCH_FLOOD_CONNECTIONS\`, \`BENCH_FLOOD_ADDRESSES\`).

| server | connections | RSS before | RSS peak | peak growth per open connection | RSS after |
|---|---|---|---|---|---|
${row('brickless', result.brickless)}
${row('Mosquitto', result.mosquitto)}

Peak growth, brickless / Mosquitto: ${ratio.toFixed(1)}×. Target (issue 14 §4): the flood moves
brickless' resident memory by at most a few MB (5 MB): ${
    growth <= 5 * 1024 * 1024 ? 'met' : '**not met**'
  } (${signed(growth)} MB). Brickless holds at most 64 unauthenticated connections in all (decision
0017): a newcomer over that is closed before its TLS handshake, or, when it comes from an address
holding fewer than the largest holder, takes the place of that holder's oldest pending connection.
"Open at the peak" counts the bench's sockets not yet closed when the peak was read.
Mosquitto has no such bound: every connection it accepts stays until its client leaves.

`;
}
