import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingMessage, natsServerPath } from './parts.js';

/** A free TCP port on 127.0.0.1 (never the machine's 4222). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestNatsServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it; `start` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real `nats-server` of its own for a test (Debian package nats-server): on 127.0.0.1 and a free
 * port, core NATS only (the bus uses no JetStream, decision 0028), in a temp dir, with the user
 * and password given, if any. Throws naming the package when it is not installed.
 */
export async function startNatsServer(auth?: { user: string; pass: string }): Promise<TestNatsServer> {
  if (!natsServerPath) throw new Error(missingMessage('nats-server'));
  const dir = mkdtempSync(join(tmpdir(), 'brickless-nats-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const args = [
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    ...(auth ? ['--user', auth.user, '--pass', auth.pass] : []),
  ];

  const start = async () => {
    const proc = spawn(natsServerPath as string, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nats-server did not start in 10 s:\n${output}`)),
        10_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${output}`));
      });
    });
  };
  const stop = async () => {
    const proc = child as ChildProcess | null;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
