import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, root } from './cli.js';

/**
 * The machinery of the documentation tests (test/readme.doc.test.ts, test/docs.doc.test.ts): find
 * the ```sh blocks of a Markdown file, refuse the ones that cannot run as written, and run the rest
 * one after the other in a fresh folder beside a real server, the way a reader pastes them into a
 * second terminal beside `npm start`:
 *
 * - a fresh folder that looks like a checkout (node_modules and test/ are links to this one), so
 *   `npx brickless` and `test/data/…` resolve as they do in the repository, and `./data` is new;
 * - the real server from the built CLI (`brickless serve`, what `npm start` runs) in that folder;
 * - each block run by `bash -e -o pipefail` in that folder, which must exit 0.
 *
 * The one rewrite: the server listens on free ports, so `localhost:8443` and `localhost:8883` in
 * a block become the ports it got (the docs name the default ports a reader's server has).
 */

/** Each block must finish inside the test runner's limit per test (scripts/run-tests.mjs: 300 s). */
export const BLOCK_TIMEOUT_MS = 280_000;

export interface Block {
  file: string;
  line: number;
  code: string;
}

export interface ShellBlocks {
  /** ```sh blocks, to be run in order. */
  run: Block[];
  /** ```sh no-run blocks: what cannot run on one machine (the prose before each says why). */
  noRun: Block[];
  /** Why the file cannot be run as written: an unknown marker or a placeholder, with file:line. */
  problems: string[];
}

/**
 * What a reader cannot paste: placeholders a person must fill in. Ids are captured with
 * `$(npx brickless … --quiet)` or named by their human key (slug, model, serial, version, latest).
 */
const PLACEHOLDERS: { pattern: RegExp; what: string }[] = [
  { pattern: /[A-Z][A-Z0-9]*_ID\b/, what: 'an id placeholder (…_ID)' },
  { pattern: /age1…|age1\.\.\./, what: 'an age recipient placeholder (age1…)' },
  { pattern: /<[A-Za-z][\w .-]*>/, what: 'a <placeholder>' },
  { pattern: /…/, what: 'an ellipsis (…)' },
  {
    pattern: /\[--[a-z-]+[^\]]*\]/,
    what: 'an optional flag in brackets (a synopsis belongs in a ```text block)',
  },
];

export function shellBlocks(file: string, text: string): ShellBlocks {
  const result: ShellBlocks = { run: [], noRun: [], problems: [] };
  // A fence may be indented (a block inside a numbered step); its lines lose that indentation, as
  // CommonMark reads them. Unindented-only matching once let five walkthrough blocks go unchecked.
  const fence = /^( *)```sh([^\n]*)\n([\s\S]*?)^\1```$/gm;
  for (const match of text.matchAll(fence)) {
    const indent = match[1] ?? '';
    const info = (match[2] ?? '').trim();
    const line = text.slice(0, match.index).split('\n').length;
    const code = (match[3] ?? '')
      .split('\n')
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()))
      .join('\n');
    const block = { file, line, code };
    if (info === 'no-run') {
      result.noRun.push(block);
      continue;
    }
    if (info !== '') {
      result.problems.push(`${file}:${line}: unknown marker "sh ${info}" (only "sh no-run")`);
      continue;
    }
    block.code.split('\n').forEach((text, i) => {
      for (const { pattern, what } of PLACEHOLDERS) {
        if (pattern.test(text)) result.problems.push(`${file}:${line + 1 + i}: ${what}: ${text.trim()}`);
      }
    });
    result.run.push(block);
  }
  return result;
}

/** The first line of a block that is not a comment: the test's name. */
export function firstCommand(block: Block): string {
  return (block.code.split('\n').find((l) => l.trim() && !l.startsWith('#')) ?? '').slice(0, 70);
}

export interface DocServer {
  dir: string;
  ports: { http: string; mqtt: string };
  env: NodeJS.ProcessEnv;
  /** What the server wrote (banner, then its warnings and errors): a failed block shows the end. */
  log(): string;
  stop(): void;
}

/** A fresh checkout-like folder and a real server started in it on free ports. */
export async function startDocServer(prefix: string): Promise<DocServer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(root, 'test'), join(dir, 'test'));
  writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
  // The reader's environment: no BRICKLESS_* settings that would point the CLI elsewhere.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('BRICKLESS_')),
  );
  env.NO_UPDATE_NOTIFIER = '1';
  env.npm_config_update_notifier = 'false';
  const child: ChildProcess = spawn(
    process.execPath,
    [cliPath, 'serve', '--http-port', '0', '--mqtt-port', '0'],
    {
      cwd: dir,
      env: { ...env, BRICKLESS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stop = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  let banner = '';
  try {
    const ports = await new Promise<{ http: string; mqtt: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${banner}`)), 60_000);
      child.stdout?.on('data', (c: Buffer) => {
        banner += c.toString();
        const http = /API:\s+https:\/\/localhost:(\d+)\/v1/.exec(banner)?.[1];
        const mqtt = /MQTT:\s+mqtts:\/\/localhost:(\d+)/.exec(banner)?.[1];
        if (http && mqtt && banner.includes('Metrics:')) {
          clearTimeout(timer);
          resolve({ http, mqtt });
        }
      });
      child.stderr?.on('data', (c: Buffer) => {
        banner += c.toString();
      });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${banner}`)));
    });
    return { dir, ports, env, stop, log: () => banner };
  } catch (error) {
    stop();
    throw error;
  }
}

/** Runs one block as written (but for the ports) in the server's folder. */
export function runBlock(
  block: Block,
  server: DocServer,
): Promise<{ code: number | null; out: string; signal: string | null }> {
  const code = block.code
    .replaceAll('localhost:8443', `localhost:${server.ports.http}`)
    .replaceAll('localhost:8883', `localhost:${server.ports.mqtt}`);
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', code], {
      cwd: server.dir,
      env: server.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout ends the background jobs too
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => {
      out += `\n[timed out after ${BLOCK_TIMEOUT_MS / 1000} s]`;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, BLOCK_TIMEOUT_MS);
    child.on('close', (exit, signal) => {
      clearTimeout(timer);
      resolve({ code: exit, out, signal });
    });
  });
}
