import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What a device keeps across restarts: where its server is and what it last applied. */
export interface DeviceSettings {
  url: string;
  deviceId: string;
  /** The last desired-state version the device applied. */
  stateVersion?: number;
  /** Set by an endpoint record (docs/continuity.md): the TLS anchor of `url` and `httpUrl`. */
  ca?: string;
  httpUrl?: string;
  /** The endpoint record applied last, and where the device stands with it. */
  endpointVersion?: number;
  endpointStatus?: 'moving' | 'arrived' | 'local';
  mode?: 'cloud' | 'local';
  /** `owner` when local mode was the owner's choice for this device (issue 18 §7), not a sunset. */
  localBy?: 'owner' | 'maker';
}

/**
 * Settings in a JSON file, written atomically (a temporary file renamed over the old one), so a
 * power cut while saving leaves the previous settings, never half a file.
 */
export class SettingsFile {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  load(): DeviceSettings | null {
    try {
      return JSON.parse(readFileSync(this.#path, 'utf8')) as DeviceSettings;
    } catch {
      return null;
    }
  }

  save(settings: DeviceSettings): void {
    mkdirSync(dirname(this.#path), { recursive: true });
    const temporary = `${this.#path}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.#path);
  }
}

/** Settings kept in memory, for a device without a settings file: a move lasts until it restarts. */
export class MemorySettings {
  #value: DeviceSettings | null = null;

  load(): DeviceSettings | null {
    return this.#value ? { ...this.#value } : null;
  }

  save(settings: DeviceSettings): void {
    this.#value = { ...settings };
  }
}
