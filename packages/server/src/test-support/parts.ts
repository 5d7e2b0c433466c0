import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Parts of the machine some tests drive (issue 15 §4): a test whose part is missing fails saying
 * what to install, unless the run names the part in BRICKLESS_TEST_SKIP (comma-separated, e.g.
 * `BRICKLESS_TEST_SKIP=chromium,mosquitto`); then it is skipped, and the run's summary counts it.
 * A test never passes without its part silently.
 */
export type Part = 'chromium' | 'haproxy' | 'mosquitto' | 'nats-server' | 'postgres';

export const PARTS: Record<Part, string> = {
  chromium: 'install Chromium (apt-get install chromium)',
  haproxy: 'install HAProxy (apt-get install haproxy)',
  mosquitto: 'install mosquitto_pub and mosquitto_sub (apt-get install mosquitto-clients)',
  'nats-server': 'install the NATS server (apt-get install nats-server)',
  postgres:
    'run PostgreSQL (apt-get install postgresql) and set BRICKLESS_TEST_PG=postgres://postgres@127.0.0.1:5432/postgres',
};

/** The parts the run was told to skip. */
export function skippedParts(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set(
    (env.BRICKLESS_TEST_SKIP ?? '')
      .split(',')
      .map((p) => p.trim().toLowerCase())
      .filter(Boolean),
  );
}

const onPath = (command: string) =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** The Chromium executable, when one is installed. */
export const chromiumPath: string | undefined = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) =>
  existsSync(p),
);

/** The NATS server executable (Debian installs it in /usr/sbin, which is not on every PATH). */
export const natsServerPath: string | undefined =
  ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) =>
    existsSync(p),
  ) ?? (onPath('nats-server') ? 'nats-server' : undefined);

export function partPresent(part: Part): boolean {
  if (part === 'chromium') return chromiumPath !== undefined;
  if (part === 'nats-server') return natsServerPath !== undefined;
  if (part === 'mosquitto') return onPath('mosquitto_pub') && onPath('mosquitto_sub');
  if (part === 'haproxy') return onPath('haproxy') || existsSync('/usr/sbin/haproxy');
  return Boolean(process.env.BRICKLESS_TEST_PG);
}

/** The message a test fails with when its part is missing. */
export function missingMessage(part: Part): string {
  return `${part} is missing: ${PARTS[part]}, or skip these tests explicitly with BRICKLESS_TEST_SKIP=${part}`;
}

/**
 * Call first in a test that needs `part`: returns false when it is there; skips the test and
 * returns true when it is missing and the run said to skip it; otherwise throws with what to
 * install. `if (needsPart(t, 'mosquitto')) return;`
 */
export function needsPart(t: { skip(message?: string): void }, part: Part): boolean {
  if (partPresent(part)) return false;
  if (skippedParts().has(part)) {
    t.skip(`${part} is missing and BRICKLESS_TEST_SKIP names it`);
    return true;
  }
  throw new Error(missingMessage(part));
}
