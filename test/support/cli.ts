import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI: end-to-end tests run what a user runs (`npm test` builds first). */
export const cliPath = join(root, 'packages', 'server', 'bin', 'brickless.js');

export function assertBuilt(): void {
  if (!existsSync(join(root, 'packages', 'server', 'dist', 'main.js')))
    throw new Error('packages/server/dist is missing: run npm run build (npm test does)');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Notes which command a test ran: scripts/run-tests.mjs sets BRICKLESS_CLI_RECORD and, after a full
 * run, fails naming every command of the CLI that no test ran (test/support/cli-coverage.ts).
 */
export function recordRun(args: string[]): void {
  const file = process.env.BRICKLESS_CLI_RECORD;
  if (file) appendFileSync(file, `${JSON.stringify(args)}\n`);
}

/** Runs `brickless ARGS` to completion. */
export function brickless(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  recordRun(args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, BRICKLESS_DEBUG: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `brickless ARGS --json` and parses the output, failing with stderr when it exits non-zero. */
export async function bricklessJson<T = any>(
  args: string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<T> {
  const result = await brickless([...args, '--json'], options);
  if (result.code !== 0)
    throw new Error(`brickless ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export interface Server {
  child: ChildProcess;
  output: () => string;
  stderr: () => string;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
}

/** Starts `brickless serve ARGS` and waits until its banner shows the API URL. */
export async function startServer(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Server & { url: string }> {
  // Ephemeral ports unless a test names its own: never rely on 8443 or 8883 being free.
  const ports = [
    ...(args.includes('--http-port') ? [] : ['--http-port', '0']),
    ...(args.includes('--mqtt-port') ? [] : ['--mqtt-port', '0']),
  ];
  recordRun(['serve', ...args]);
  const child = spawn(process.execPath, [cliPath, 'serve', ...ports, ...args], {
    env: { ...process.env, BRICKLESS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    // A loaded 2-core machine starts the server in 5 to 30 s; past 90 s it is stuck. The child is
    // killed, or it would keep the test process alive after the failure.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in 90 s:\n${out}\n${err}`));
    }, 90_000);
    const check = () => {
      const match = /API:\s+(\S+)\/v1/.exec(out);
      if (match?.[1] && out.includes('Metrics:')) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting:\n${out}\n${err}`));
    });
  });
  return { child, url, output: () => out, stderr: () => err, exited };
}
