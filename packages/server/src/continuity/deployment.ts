import { type Config, loadConfig } from '../config.js';

/**
 * What `serve` tells the takeover readiness report about how this installation runs (issue 21
 * §3): whether its transports use TLS and which configuration keys differ from the defaults.
 * Key names only, never values: a value may be a path, a URL with credentials or a key.
 */
export interface DeploymentFacts {
  /** The HTTP API is served over TLS by brickless itself (false: behind a TLS-terminating proxy). */
  httpTls: boolean;
  /** A plain-MQTT port (no TLS) is open besides MQTT over TLS. */
  mqttPlain: boolean;
  /** Dotted config keys whose value is not the default, sorted. */
  customConfig: string[];
}

/**
 * The dotted keys of `config` whose value differs from what the defaults give for its data dir
 * (the database file, master key and artifact dir follow the data dir, so moving it alone makes
 * nothing custom).
 */
export function customConfigKeys(config: Config): string[] {
  const defaults = loadConfig({ env: {}, flags: { dataDir: config.dataDir } });
  const keys: string[] = [];
  const walk = (value: unknown, base: unknown, path: string) => {
    if (isRecord(value) && !Array.isArray(value)) {
      const names = new Set([...Object.keys(value), ...(isRecord(base) ? Object.keys(base) : [])]);
      for (const name of names)
        walk(value[name], isRecord(base) ? base[name] : undefined, path ? `${path}.${name}` : name);
      return;
    }
    if (path === 'dataDir') return;
    if (JSON.stringify(value) !== JSON.stringify(base)) keys.push(path);
  };
  walk(config, defaults, '');
  return keys.sort();
}

export function deploymentFacts(config: Config): DeploymentFacts {
  return {
    httpTls: config.http.tls,
    mqttPlain: config.mqtt.plainPort !== undefined,
    customConfig: customConfigKeys(config),
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;
