/**
 * Update benchmarks (issue 4): many devices downloading one image at once from brickless beside
 * Debian's nginx serving the same file over TLS, and the wall time of a staged rollout through all
 * waves with the simulator. Loopback only; bounded in count and time.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { ensureTls } from '../packages/server/src/tls/certs.js';
import { cliPath } from '../test/support/cli.js';

export interface DownloadResult {
  clients: number;
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
  failed: number;
}

export interface RolloutResult {
  devices: number;
  seconds: number;
  succeeded: number;
  waves: number[];
  connectSeconds: number;
}

function cli(dir: string, args: string[]): string {
  return execFileSync(process.execPath, [cliPath, '--data-dir', dir, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

const json = <T>(dir: string, args: string[]): T => JSON.parse(cli(dir, [...args, '--json'])) as T;

/** Everything both update benchmarks need: an organisation with a signed release and devices. */
export interface PreparedRelease {
  releaseId: string;
  /** The consistent-snapshot path under /device/v1/updates/targets/. */
  path: string;
  image: string;
  bytes: number;
}

export function prepareUpdates(
  dir: string,
  options: { releases: { version: string; bytes: number }[]; devices: number },
): { productId: string; batch: string; releases: PreparedRelease[] } {
  mkdirSync(dir, { recursive: true });
  json(dir, ['orgs', 'create', '--slug', 'updates', '--name', 'Updates bench']);
  const org = ['--org', 'updates'];
  const product = json<{ id: string }>(dir, [
    ...org,
    'products',
    'create',
    '--model',
    'U',
    '--name',
    'Update bench',
    '--revision',
    'rev-a',
    '--support-ends',
    '2036-01-01',
    '--capabilities',
    '{"telemetry":{"v":{"schema":{"type":"number"}}}}',
  ]);
  for (const name of ['root', 'targets']) cli(dir, ['keys', 'generate', '--out', join(dir, `${name}.key`)]);
  cli(dir, [
    ...org,
    'updates',
    'init',
    '--root-key',
    join(dir, 'root.key'),
    '--targets-key',
    join(dir, 'targets.key'),
    '--out',
    join(dir, 'root.json'),
  ]);
  const releases: PreparedRelease[] = [];
  for (const { version, bytes: size } of options.releases) {
    const image = join(dir, `fw-${version}.bin`);
    const bytes = Buffer.alloc(size);
    for (let i = 0; i + 4 <= bytes.length; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeFileSync(image, bytes);
    const release = json<{ id: string; targetPath: string; sha256: string; filename: string }>(dir, [
      ...org,
      'release',
      'create',
      version,
      '--product',
      product.id,
      '--file',
      image,
      '--kind',
      'security',
      '--security-version',
      '1',
    ]);
    const slash = release.targetPath.lastIndexOf('/');
    releases.push({
      releaseId: release.id,
      path: `${release.targetPath.slice(0, slash)}/${release.sha256}.${release.filename}`,
      image,
      bytes: size,
    });
  }
  cli(dir, [...org, 'release', 'sign', '--key', join(dir, 'targets.key')]);
  const batch = join(dir, 'devices.jsonl');
  cli(dir, [
    ...org,
    'devices',
    'provision',
    '--product',
    product.id,
    '--serial-prefix',
    'U-',
    '--count',
    String(options.devices),
    '--firmware',
    '1.0.0',
    '--out',
    batch,
  ]);
  return { productId: product.id, batch, releases };
}

/**
 * `clients` downloads of `url` at once, each over its own TLS connection from its own loopback
 * address, with that client's headers; the body is counted and dropped.
 */
export async function parallelDownloads(
  url: (i: number) => string,
  headers: (i: number) => Record<string, string>,
  clients: number,
  ca: string,
  expectedBytes: number,
): Promise<DownloadResult> {
  let bytes = 0;
  let failed = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from(
      { length: clients },
      (_, i) =>
        new Promise<void>((resolve) => {
          const agent = new Agent({ keepAlive: false, maxSockets: 1 });
          const req = request(
            url(i),
            {
              ca,
              agent,
              headers: headers(i),
              localAddress: `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255 || 1}`,
            },
            (res) => {
              let received = 0;
              res.on('data', (chunk: Buffer) => {
                received += chunk.length;
              });
              res.on('end', () => {
                bytes += received;
                if (res.statusCode !== 200 || received !== expectedBytes) failed++;
                agent.destroy();
                resolve();
              });
              res.on('error', () => {
                failed++;
                resolve();
              });
            },
          );
          req.on('error', () => {
            failed++;
            resolve();
          });
          req.end();
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { clients, bytes, seconds, bytesPerSecond: bytes / seconds, failed };
}

/** Debian's nginx serving `root` over TLS with the same certificate; stopped by the caller. */
export async function startNginx(
  dir: string,
  root: string,
  port: number,
  tls: { cert: string; key: string },
): Promise<ChildProcess> {
  const prefix = join(dir, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes auto;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'logs', 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path ${join(prefix, 'body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    root ${root};
  }
}
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await new Promise((r) => setTimeout(r, 1000));
  return child;
}

/**
 * Takes a rollout of `releaseId` through waves 1, 10, 50, 100 % on a simulated fleet: the
 * simulator connects every device first; the clock runs from `rollout create` until the rollout
 * reports completed.
 */
export async function rolloutWallTime(
  dir: string,
  setup: { releaseId: string; batch: string; devices: number },
  urls: { http: string; mqtt: string },
  remote: string[],
): Promise<RolloutResult> {
  const simulator = spawn(
    process.execPath,
    [
      cliPath,
      ...remote,
      'simulate',
      '--batch',
      setup.batch,
      '--url',
      urls.mqtt,
      '--http-url',
      urls.http,
      '--updates-root',
      join(dir, 'root.json'),
      '--interval',
      '1h',
      '--duration',
      '900s',
      '--ramp-per-second',
      '1000',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  let exited: number | null | undefined;
  simulator.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  simulator.once('exit', (code) => {
    exited = code;
  });
  try {
    const connectStart = Date.now();
    const waitUntil = async (check: () => boolean, what: string, ms: number) => {
      const end = Date.now() + ms;
      while (!check()) {
        if (exited !== undefined) throw new Error(`the simulator exited (${exited}):\n${log.slice(-3000)}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${log.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    await waitUntil(
      () => new RegExp(`simulate: ${setup.devices}/${setup.devices} connected`).test(log),
      'the fleet to connect',
      300_000,
    );
    const connectSeconds = (Date.now() - connectStart) / 1000;
    const remoteJson = <T>(args: string[]) =>
      JSON.parse(
        execFileSync(process.execPath, [cliPath, ...remote, ...args, '--json'], { encoding: 'utf8' }),
      ) as T;
    const waves = [1, 10, 50, 100];
    const started = Date.now();
    const rollout = remoteJson<{ id: string }>([
      'rollout',
      'create',
      '--release',
      setup.releaseId,
      '--waves',
      waves.join(','),
      '--soak',
      '0',
      '--success',
      '0.95',
    ]);
    let status = { status: 'running', totals: {} as Record<string, number> };
    const end = Date.now() + 900_000;
    while (status.status === 'running' && Date.now() < end) {
      if (exited !== undefined) throw new Error(`the simulator exited (${exited}):\n${log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 1000));
      status = remoteJson(['rollout', 'get', rollout.id]);
    }
    const seconds = (Date.now() - started) / 1000;
    return {
      devices: setup.devices,
      seconds,
      succeeded: status.totals.succeeded ?? 0,
      waves,
      connectSeconds,
    };
  } finally {
    simulator.kill('SIGKILL');
    await new Promise((r) => simulator.once('close', r));
  }
}

export function readCa(dir: string): string {
  return readFileSync(join(dir, 'tls', 'ca.crt'), 'utf8');
}

const DOWNLOAD_CLIENTS = Number(process.env.BENCH_DOWNLOAD_CLIENTS ?? 1000);
const IMAGE_BYTES = Number(process.env.BENCH_IMAGE_MIB ?? 4) * 1024 * 1024;
const ROLLOUT_DEVICES = Number(process.env.BENCH_ROLLOUT_DEVICES ?? 10_000);

export interface UpdateBench {
  brickless: DownloadResult;
  nginx: DownloadResult;
  nginxVersion: string;
  rollout: RolloutResult;
  imageBytes: number;
}

/** Both update benchmarks, on their own data dir under `dir`. */
export async function benchUpdates(
  dir: string,
  helpers: {
    freePort: () => Promise<number>;
    spawnBrickless: (dir: string, flags: string[], env?: NodeJS.ProcessEnv) => ChildProcess;
  },
): Promise<UpdateBench> {
  const data = join(dir, 'updates');
  const devices = Math.max(DOWNLOAD_CLIENTS, ROLLOUT_DEVICES);
  process.stderr.write(`updates: preparing a signed repository and ${devices} devices\n`);
  const setup = prepareUpdates(data, {
    releases: [
      { version: '2.0.0', bytes: IMAGE_BYTES },
      { version: '2.0.1', bytes: 64 * 1024 },
    ],
    devices,
  });
  const [download, small] = setup.releases as [PreparedRelease, PreparedRelease];
  const lines = readFileSync(setup.batch, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { deviceId: string; secret: string });
  // The server's TLS material, made now so that nginx serves with the very same certificate.
  await ensureTls({ dataDir: data, hostnames: [] });
  const ca = readCa(data);

  // nginx first, on its own: the same file, the same certificate, the same URL path.
  const nginxPort = await helpers.freePort();
  const webRoot = join(data, 'www');
  mkdirSync(join(webRoot, download.path, '..'), { recursive: true });
  writeFileSync(join(webRoot, download.path), readFileSync(download.image));
  const nginx = await startNginx(data, webRoot, nginxPort, {
    cert: join(data, 'tls', 'server.crt'),
    key: join(data, 'tls', 'server.key'),
  });
  let nginxResult: DownloadResult;
  try {
    nginxResult = await parallelDownloads(
      () => `https://127.0.0.1:${nginxPort}/${download.path}`,
      () => ({}),
      DOWNLOAD_CLIENTS,
      ca,
      IMAGE_BYTES,
    );
  } finally {
    nginx.kill('SIGTERM');
    await new Promise((r) => nginx.once('close', r));
  }
  process.stderr.write(
    `nginx: ${DOWNLOAD_CLIENTS} × ${IMAGE_BYTES} B in ${nginxResult.seconds.toFixed(1)} s, ${(nginxResult.bytesPerSecond / 1e6).toFixed(0)} MB/s (${nginxResult.failed} failed)\n`,
  );

  const [httpPort, mqttPort] = [await helpers.freePort(), await helpers.freePort()];
  // The simulated fleet connects from one address: the per-address connect limit is raised as for
  // devices behind one carrier-grade NAT (mqtt.connectsPerSecond); everything else is the default.
  const server = helpers.spawnBrickless(
    data,
    ['--http-port', String(httpPort), '--mqtt-port', String(mqttPort)],
    {
      BRICKLESS_MQTT_CONNECTS_PER_SECOND: '100000',
      BRICKLESS_MQTT_CONNECT_BURST: '100000',
    },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`brickless did not start:\n${out}`)), 30_000);
      server.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('Updates:')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const http = `https://127.0.0.1:${httpPort}`;
    const basic = (i: number) => {
      const line = lines[i] as { deviceId: string; secret: string };
      return { authorization: `Basic ${Buffer.from(`${line.deviceId}:${line.secret}`).toString('base64')}` };
    };
    const bricklessResult = await parallelDownloads(
      () => `${http}/device/v1/updates/targets/${download.path}`,
      basic,
      DOWNLOAD_CLIENTS,
      ca,
      IMAGE_BYTES,
    );
    process.stderr.write(
      `brickless: ${DOWNLOAD_CLIENTS} × ${IMAGE_BYTES} B in ${bricklessResult.seconds.toFixed(1)} s, ${(bricklessResult.bytesPerSecond / 1e6).toFixed(0)} MB/s (${bricklessResult.failed} failed)\n`,
    );
    const token = json<{ token: string }>(data, [
      '--org',
      'updates',
      'admin',
      'token',
      'create',
      '--role',
      'admin',
    ]).token;
    const remote = [
      '--server',
      http,
      '--token',
      token,
      '--ca',
      join(data, 'tls', 'ca.crt'),
      '--org',
      'updates',
    ];
    process.stderr.write(`updates: rollout to ${ROLLOUT_DEVICES} simulated devices\n`);
    const rollout = await rolloutWallTime(
      data,
      { releaseId: small.releaseId, batch: setup.batch, devices: ROLLOUT_DEVICES },
      { http, mqtt: `mqtts://127.0.0.1:${mqttPort}` },
      remote,
    );
    process.stderr.write(
      `rollout: ${rollout.succeeded}/${rollout.devices} updated through waves ${rollout.waves.join(', ')} % in ${rollout.seconds.toFixed(1)} s\n`,
    );
    // nginx prints its version on stderr.
    const nginxVersion = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr;
    return {
      brickless: bricklessResult,
      nginx: nginxResult,
      nginxVersion: nginxVersion.trim() || 'nginx',
      rollout,
      imageBytes: IMAGE_BYTES,
    };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('close', r));
  }
}
