/**
 * Where a V8 CPU profile's time goes, by where the code lives: a package in node_modules, a
 * directory of packages/server/dist, Node's own internals, or V8's (program)/(garbage collector).
 * Start-up cost is mostly loading and compiling modules, so grouping by package says more than
 * a list of single functions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function bucket(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return `node_modules/${modules[1]}`;
  const dist = /packages\/([^/]+)\/dist\/([^/]+)/.exec(url);
  if (dist) return `packages/${dist[1]}/dist/${dist[2]?.endsWith('.js') ? '*.js' : dist[2]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.replace(/^file:\/\//, '');
}

/** The top `n` buckets by self time, in ms, over all profiles in `dir`, averaged per profile. */
export function profileTop(dir: string, n = 5): { where: string; ms: number }[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const totals = new Map<string, number>();
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      if (!node) return;
      const key = bucket(node.callFrame);
      totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
  }
  return [...totals.entries()]
    .filter(([where]) => where !== '(idle)')
    .map(([where, ms]) => ({ where, ms: ms / Math.max(1, files.length) }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
}
