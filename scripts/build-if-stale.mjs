#!/usr/bin/env node
// `npm start` (scripts/start.mjs) runs this first: it builds the workspaces only when a package has
// no dist/ yet or a source or tsconfig file is newer than its newest compiled file, so a start
// after the first one goes straight to the server instead of type-checking the whole project again.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The newest modification time of the files under `dir` (0 when it does not exist). */
function newest(dir, keep = () => true) {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    if (!keep(path)) continue;
    latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

const isSource = (path) => !path.endsWith('.test.ts') && !path.includes('node_modules');

/** The workspace packages whose dist/ is missing or older than their sources. */
function staleWorkspaces() {
  const shared = statSync(join(root, 'tsconfig.base.json')).mtimeMs;
  return readdirSync(join(root, 'packages')).filter((name) => {
    const pkg = join(root, 'packages', name);
    if (!existsSync(join(pkg, 'tsconfig.json'))) return false;
    const built = newest(join(pkg, 'dist'));
    if (built === 0) return true;
    const source = Math.max(
      shared,
      statSync(join(pkg, 'tsconfig.json')).mtimeMs,
      newest(join(pkg, 'src'), isSource),
    );
    return source > built;
  });
}

/** Builds when something is stale; the exit status of the build, or 0 when nothing was stale. */
export function buildIfStale() {
  const stale = staleWorkspaces();
  if (stale.length === 0) return 0;
  process.stderr.write(`building (${stale.join(', ')} changed since the last build)…\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build'], { stdio: 'inherit', cwd: root });
  return result.status ?? 1;
}

// Run on its own: `node scripts/build-if-stale.mjs`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(buildIfStale());
