/**
 * Start to ready (issue 15 §1, issue 20): `npm start` (`scripts/start.mjs`: the staleness check,
 * then `brickless serve` in the same process) and the bare `brickless serve`, from spawn until
 * `/readyz` answers 200 over HTTPS, on a data dir holding 10,000 devices (seeded in-process with
 * `devices provision`, not over HTTP); Mosquitto's start until it accepts a TCP connection, in
 * the same run, for reference. Loopback only, ephemeral ports, each start bounded in time.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, root } from '../test/support/cli.js';
import { profileTop } from './profile-summary.js';

const DEVICES = Number(process.env.BENCH_STARTUP_DEVICES ?? 10_000);
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
/** A start that takes longer than this fails the benchmark instead of hanging it. */
const START_TIMEOUT_MS = 60_000;
const POLL_MS = 10;

export interface StartupSample {
  medianMs: number;
  maxMs: number;
  runsMs: number[];
}

export interface StartupBench {
  devices: number;
  runs: number;
  npmStart: StartupSample;
  serve: StartupSample;
  mosquitto: StartupSample;
  mosquittoVersion: string;
  /** 1-minute load average before and after the timed runs. */
  loadBefore: number;
  loadAfter: number;
  /** With BENCH_PROFILE: self time of a profiled `serve` start by where the code lives. */
  profile?: { dir: string; profiledMs: number; top: { where: string; ms: number }[] };
}

type FreePort = () => Promise<number>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sample(runsMs: number[]): StartupSample {
  const sorted = [...runsMs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const medianMs =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { medianMs, maxMs: sorted[sorted.length - 1] as number, runsMs };
}

/** One GET /readyz over HTTPS, trusting the data dir's generated CA; the status, or 0 when refused. */
function readyStatus(port: number, ca: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/readyz', ca, servername: 'localhost', timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Polls `probe` every POLL_MS until it holds; the milliseconds since `start`. */
async function until(start: bigint, child: ChildProcess, probe: () => Promise<boolean>): Promise<number> {
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (;;) {
    if (await probe()) return Number(process.hrtime.bigint() - start) / 1e6;
    if (exited) throw new Error('the process exited before it was ready');
    if (Number(process.hrtime.bigint() - start) / 1e6 > START_TIMEOUT_MS)
      throw new Error(`not ready within ${START_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

/** Stops a child started in its own process group (npm runs the server as a grandchild). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((r) => child.once('close', r));
  try {
    process.kill(-(child.pid as number), 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  await closed;
}

const serverEnv = {
  ...process.env,
  BRICKLESS_LOG_LEVEL: 'error',
  BRICKLESS_MQTT_HOST: '127.0.0.1',
};

async function timeServer(
  kind: 'npm' | 'serve',
  dir: string,
  freePort: FreePort,
  nodeArgs: string[] = [],
): Promise<number> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const flags = ['--data-dir', dir, '--http-host', '127.0.0.1', '--http-port', String(httpPort)];
  flags.push('--mqtt-port', String(mqttPort));
  // The CA exists after the first (warm-up) start; before it the probe is refused anyway.
  let ca: string | undefined;
  const caFile = join(dir, 'tls', 'ca.crt');
  const start = process.hrtime.bigint();
  const child =
    kind === 'npm'
      ? spawn('npm', ['start', '--silent', '--', ...flags], {
          cwd: root,
          env: serverEnv,
          stdio: ['ignore', 'ignore', 'inherit'],
          detached: true,
        })
      : spawn(process.execPath, [...nodeArgs, cliPath, 'serve', ...flags], {
          env: serverEnv,
          stdio: ['ignore', 'ignore', 'inherit'],
          detached: true,
        });
  try {
    return await until(start, child, async () => {
      if (ca === undefined) {
        try {
          ca = readFileSync(caFile, 'utf8');
        } catch {
          return false;
        }
      }
      return (await readyStatus(httpPort, ca)) === 200;
    });
  } finally {
    await stop(child);
  }
}

async function timeMosquitto(dir: string, freePort: FreePort): Promise<number> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto-startup.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n`);
  const start = process.hrtime.bigint();
  const broker = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  try {
    return await until(start, broker, () => tcpAccepts(port));
  } finally {
    await stop(broker);
  }
}

/** Seeds a fresh data dir with DEVICES devices through the CLI (the registry's own services). */
function seed(dir: string): void {
  const cli = (args: string[]) =>
    execFileSync(process.execPath, [cliPath, '--data-dir', dir, ...args], {
      encoding: 'utf8',
      env: serverEnv,
      maxBuffer: 64 * 1024 * 1024,
    });
  cli(['orgs', 'create', '--slug', 'bench', '--name', 'Bench']);
  const product = JSON.parse(
    cli([
      'products',
      'create',
      '--model',
      'S',
      '--name',
      'Startup',
      '--revision',
      '1',
      '--support-ends',
      '2036-01-01',
      '--json',
    ]),
  ) as { id: string };
  cli([
    'devices',
    'provision',
    '--product',
    product.id,
    '--serial-prefix',
    'S-',
    '--count',
    String(DEVICES),
    '--out',
    join(dir, 'batch.jsonl'),
  ]);
}

export async function benchStartup(freePort: FreePort): Promise<StartupBench> {
  const dir = mkdtempSync(join(tmpdir(), 'brickless-bench-startup-'));
  try {
    process.stderr.write(`startup: seeding ${DEVICES} devices…\n`);
    seed(dir);
    // Warm-up, not counted: the first start writes the TLS material and warms the page cache.
    await timeServer('serve', dir, freePort);
    await timeServer('npm', dir, freePort);
    await timeMosquitto(dir, freePort);
    let profileNote: StartupBench['profile'];
    const loadBefore = loadavg()[0] ?? 0;
    const runs = { npm: [] as number[], serve: [] as number[], mosquitto: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      // Interleaved, so a slow moment of the shared machine falls on all three alike.
      runs.npm.push(await timeServer('npm', dir, freePort));
      runs.serve.push(await timeServer('serve', dir, freePort));
      runs.mosquitto.push(await timeMosquitto(dir, freePort));
      process.stderr.write(
        `startup run ${i + 1}: npm start ${runs.npm[i]?.toFixed(0)} ms, serve ${runs.serve[i]?.toFixed(0)} ms, mosquitto ${runs.mosquitto[i]?.toFixed(1)} ms\n`,
      );
    }
    const loadAfter = loadavg()[0] ?? 0;
    if (process.env.BENCH_PROFILE) {
      // Extra profiled starts, not counted: where the bare serve's time goes (averaged over 3).
      const profileDir = mkdtempSync(join(process.env.BENCH_PROFILE, 'startup-'));
      const profiled: number[] = [];
      for (let i = 0; i < 3; i++)
        profiled.push(await timeServer('serve', dir, freePort, ['--cpu-prof', '--cpu-prof-dir', profileDir]));
      const profile = profileTop(profileDir, 5);
      process.stderr.write(`startup profile (${profileDir}): ${JSON.stringify(profile)}\n`);
      profileNote = { dir: profileDir, profiledMs: sample(profiled).medianMs, top: profile };
    }
    return {
      devices: DEVICES,
      runs: RUNS,
      npmStart: sample(runs.npm),
      serve: sample(runs.serve),
      mosquitto: sample(runs.mosquitto),
      loadBefore,
      loadAfter,
      ...(profileNote ? { profile: profileNote } : {}),
      mosquittoVersion: spawnSync('mosquitto', ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;

function profileNotes(b: StartupBench): string {
  if (!b.profile) return '';
  const lines = b.profile.top.map((t, i) => `${i + 1}. \`${t.where}\`: ${ms(t.ms)} self time`);
  return `
Where a \`brickless serve\` start's time goes (\`node --cpu-prof\`, 3 extra starts, median ${ms(b.profile.profiledMs)} with the profiler on; self time per start by where the code lives, idle excluded), top 5:

${lines.join('\n')}
`;
}

export function startupSection(b: StartupBench, notes = profileNotes(b)): string {
  const row = (what: string, s: StartupSample, ref: StartupSample) =>
    `| ${what} | ${ms(s.medianMs)} | ${ms(s.maxMs)} | ${(s.medianMs / ref.medianMs).toFixed(0)}× | ${s.runsMs.map((r) => Math.round(r)).join(', ')} |`;
  const target = (s: StartupSample) => (s.maxMs <= 2000 ? 'met' : 'not met');
  return `## Start to ready

\`BENCH_ONLY=startup npm run bench\` replaces this section (measured ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, ${b.mosquittoVersion}). A SQLite data dir seeded with ${b.devices.toLocaleString('en-US')} devices (\`devices provision\`), already built and started once (warm machine: dist/ up to date, TLS material written, page cache warm). Each start is timed from spawn until \`GET /readyz\` answers 200 over HTTPS (the data dir's CA trusted, polled every ${POLL_MS} ms, ephemeral loopback ports); Mosquitto (bench config, no persistence) from spawn until it accepts a TCP connection. ${b.runs} runs each, interleaved.

| start | median | max | ratio to Mosquitto (median) | runs, ms |
|---|---|---|---|---|
${row('`npm start` (`scripts/start.mjs`: `scripts/build-if-stale.mjs`, then `brickless serve`)', b.npmStart, b.mosquitto)}
${row('`brickless serve`', b.serve, b.mosquitto)}
| Mosquitto | ${b.mosquitto.medianMs.toFixed(1)} ms | ${b.mosquitto.maxMs.toFixed(1)} ms | 1× | ${b.mosquitto.runsMs.map((r) => r.toFixed(1)).join(', ')} |

Target (issue 20): \`npm start\` to ready at most 2 s on a warm machine with 10,000 devices: **${target(b.npmStart)}** (max ${ms(b.npmStart.maxMs)}). \`BENCH_STARTUP_DEVICES\`, \`BENCH_STARTUP_RUNS\`; with \`BENCH_PROFILE=DIR\` three extra, uncounted \`serve\` starts write V8 CPU profiles into DIR. Load average of the machine (1 min) before the runs ${b.loadBefore.toFixed(1)}, after ${b.loadAfter.toFixed(1)}: the machine is shared, and a start is CPU-bound.
${notes}
`;
}
