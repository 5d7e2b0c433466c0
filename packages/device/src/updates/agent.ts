import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import type { Agent } from 'node:https';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { UpdateOffer, UpdateStatus } from '@brickless/protocol';
import { type TargetFile, Updater } from 'tuf-js';
import { DeviceFetcher } from './fetcher.js';
import { type DeviceHttpAuth, deviceGet, HttpStatusError } from './http.js';

export interface UpdateOptions {
  /** The server's HTTPS base URL: `https://host:8443`. */
  httpUrl: string;
  /** Where the device keeps TUF metadata, the two slots and its update state. */
  dir: string;
  /**
   * The TUF root the device was made with (the organisation's `1.root.json` or a later one):
   * the anchor every update is verified against. Used only when `dir` holds no root yet.
   */
  trustedRoot: string | Buffer;
  productId: string;
  /** This device's hardware revision; an image for other hardware is refused. */
  hardware: string;
  /** The firmware in slot A at the very first start. */
  version: string;
  securityVersion: number;
  /** While this says true the device puts an update off (up to the offer's maxDeferralSeconds). */
  isBusy?: () => boolean;
  /** How long to wait before asking isBusy again; default 60 s. */
  deferRetryMs?: number;
  /** Writes the verified image into the inactive slot; default: copies the file there. */
  install?: (image: string, slotFile: string, offer: UpdateOffer) => Promise<void>;
  /** The HTTPS connection pool for metadata and downloads (a simulator shares one). */
  httpAgent?: Agent;
  /** Runs after booting the new firmware; false (or a throw) rolls back. Default: healthy. */
  healthCheck?: (version: string) => Promise<boolean>;
}

type Slot = 'a' | 'b';

/** The A/B state, written atomically: which slot boots, and a trial boot waiting for its health check. */
export interface SlotState {
  active: Slot;
  slots: Partial<Record<Slot, { version: string; securityVersion: number }>>;
  trial?: { slot: Slot; previous: Slot; rollout: string; release: string };
  /** When the device first put this rollout's offer off (ms since the epoch). */
  deferredSince?: Record<string, number>;
}

/** Why a device refused or failed an update, as the `reason` it reports. */
export class UpdateRefused extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** tuf-js' error classes by name → the reason a device reports (docs/updates.md). */
const TUF_REASONS: Record<string, string> = {
  UnsignedMetadataError: 'signature-invalid',
  ExpiredMetadataError: 'metadata-expired',
  BadVersionError: 'metadata-rollback',
  EqualVersionError: 'metadata-rollback',
  LengthOrHashMismatchError: 'hash-mismatch',
  DownloadLengthMismatchError: 'oversized',
  DownloadHTTPError: 'download-failed',
  ValueError: 'metadata-invalid',
  RepositoryError: 'metadata-invalid',
};

/** tuf-js wraps snapshot and targets failures in a RuntimeError whose text names the cause. */
const WRAPPED_REASONS: [RegExp, string][] = [
  [/signed by \d+\/\d+ keys/, 'signature-invalid'],
  [/expired/i, 'metadata-expired'],
  [/version/i, 'metadata-rollback'],
  [/length|hash/i, 'hash-mismatch'],
];

function reasonOf(error: unknown): { reason: string; message: string } {
  if (error instanceof UpdateRefused) return { reason: error.reason, message: error.message };
  const name = (error as Error)?.constructor?.name ?? 'Error';
  const message = (error as Error)?.message ?? String(error);
  const wrapped =
    name === 'RuntimeError' ? WRAPPED_REASONS.find(([pattern]) => pattern.test(message)) : undefined;
  return { reason: wrapped?.[1] ?? TUF_REASONS[name] ?? 'failed', message };
}

/**
 * The failure message as the protocol takes it (`updates/status`): at most 500 characters, no
 * control characters but tab and newline (an error text can carry anything, e.g. a server's body).
 */
export function forPeople(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  return message.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').slice(0, 500);
}

/**
 * The device side of an update (docs/updates.md, "Device state machine"): verify through TUF
 * (signatures, thresholds, expiry, versions, then length and hash of the image), check product,
 * hardware and security version, defer while busy, install into the inactive slot, boot it, run the
 * health check, and confirm or roll back by itself, reporting every step.
 */
export class UpdateAgent {
  #options: UpdateOptions;
  #auth: DeviceHttpAuth;
  readonly #report: (status: UpdateStatus) => Promise<void>;
  readonly #reboot: () => Promise<void>;
  #busy: Promise<void> | null = null;
  #deferTimer: NodeJS.Timeout | null = null;

  constructor(
    options: UpdateOptions,
    auth: DeviceHttpAuth,
    report: (status: UpdateStatus) => Promise<void>,
    reboot: () => Promise<void>,
  ) {
    this.#options = options;
    this.#auth = auth;
    this.#report = report;
    this.#reboot = reboot;
    mkdirSync(join(options.dir, 'metadata'), { recursive: true });
    if (!existsSync(join(options.dir, 'metadata', 'root.json')))
      writeFileSync(join(options.dir, 'metadata', 'root.json'), options.trustedRoot);
  }

  /** The newest TUF root this device trusts (tuf-js keeps it current as it updates). */
  trustedRootDocument(): string {
    return readFileSync(join(this.#options.dir, 'metadata', 'root.json'), 'utf8');
  }

  /** Follows a handover: metadata and images come from the new server, over TLS to its anchor. */
  moveTo(httpUrl: string, ca: string | Buffer | undefined): void {
    this.#options = { ...this.#options, httpUrl };
    const { ca: _old, ...rest } = this.#auth;
    this.#auth = { ...rest, ...(ca ? { ca } : {}) };
  }

  get #stateFile(): string {
    return join(this.#options.dir, 'slots.json');
  }

  /** The slots as they are now; slot A holds the factory firmware at the first start. */
  get state(): SlotState {
    try {
      return JSON.parse(readFileSync(this.#stateFile, 'utf8')) as SlotState;
    } catch {
      return {
        active: 'a',
        slots: { a: { version: this.#options.version, securityVersion: this.#options.securityVersion } },
      };
    }
  }

  #save(state: SlotState): void {
    const temporary = `${this.#stateFile}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(temporary, this.#stateFile);
  }

  /** The firmware the device runs now. */
  get running(): { version: string; securityVersion: number } {
    const state = this.state;
    return (
      state.slots[state.active] ?? {
        version: this.#options.version,
        securityVersion: this.#options.securityVersion,
      }
    );
  }

  /** Called once connected: finishes a trial boot (health check, then confirm or roll back). */
  async afterBoot(): Promise<void> {
    const state = this.state;
    const trial = state.trial;
    if (!trial) return;
    const candidate = state.slots[trial.slot];
    let healthy = false;
    try {
      healthy = candidate
        ? await (this.#options.healthCheck?.(candidate.version) ?? Promise.resolve(true))
        : false;
    } catch {
      healthy = false;
    }
    const ids = { rollout: trial.rollout, release: trial.release };
    if (healthy && candidate) {
      this.#save({ active: trial.slot, slots: state.slots });
      await this.#report({
        ...ids,
        step: 'succeeded',
        version: candidate.version,
        securityVersion: candidate.securityVersion,
      });
    } else {
      // Roll back: the previous slot boots again and the failed one is forgotten.
      const previous = state.slots[trial.previous];
      const slots = { ...state.slots };
      delete slots[trial.slot];
      this.#save({ active: trial.previous, slots });
      await this.#report({
        ...ids,
        step: 'rolled-back',
        reason: 'health-check',
        message: `the health check of ${candidate?.version ?? 'the new firmware'} failed; back on ${previous?.version}`,
        ...(previous ? { version: previous.version, securityVersion: previous.securityVersion } : {}),
      });
    }
  }

  /** An offer from the server: handled one at a time; a second offer while busy is ignored. */
  handleOffer(offer: UpdateOffer): Promise<void> {
    if (this.#busy) return this.#busy;
    this.#busy = this.#run(offer).finally(() => {
      this.#busy = null;
    });
    return this.#busy;
  }

  async #run(offer: UpdateOffer): Promise<void> {
    const ids = { rollout: offer.rollout, release: offer.release };
    const state = this.state;
    if (state.trial) return; // a trial boot is still waiting for its health check
    if (this.running.version === offer.version) {
      await this.#report({ ...ids, step: 'succeeded', ...this.running });
      return;
    }
    await this.#report({ ...ids, step: 'offered' });
    if (this.#options.isBusy?.()) {
      const since = state.deferredSince?.[offer.rollout] ?? Date.now();
      if (Date.now() - since < offer.maxDeferralSeconds * 1000) {
        this.#save({ ...state, deferredSince: { ...state.deferredSince, [offer.rollout]: since } });
        await this.#report({ ...ids, step: 'deferred', reason: 'busy' });
        if (this.#deferTimer) clearTimeout(this.#deferTimer);
        this.#deferTimer = setTimeout(() => {
          this.#deferTimer = null;
          this.handleOffer(offer).catch(() => {}); // #run reports its own failures
        }, this.#options.deferRetryMs ?? 60_000);
        this.#deferTimer.unref();
        return;
      }
      // The maximum deferral is over: the update goes ahead even though the device is busy.
    }
    try {
      await this.#report({ ...ids, step: 'downloading' });
      const target = await this.#verifiedTarget(offer);
      const image = await this.#download(target);
      await this.#report({ ...ids, step: 'verifying' });
      try {
        await target.verify(createReadStream(image));
      } catch (error) {
        unlinkSync(image);
        throw new UpdateRefused(
          'hash-mismatch',
          `the image does not match its signed hash: ${(error as Error).message}`,
        );
      }
      await this.#report({ ...ids, step: 'installing' });
      const current = this.state;
      const inactive: Slot = current.active === 'a' ? 'b' : 'a';
      const slotFile = join(this.#options.dir, `slot-${inactive}.img`);
      try {
        await (this.#options.install ?? ((from, to) => copyFile(from, to)))(image, slotFile, offer);
      } catch (error) {
        throw new UpdateRefused('install-failed', (error as Error).message);
      } finally {
        unlinkSync(image);
      }
      const custom = customOf(target);
      this.#save({
        active: current.active,
        slots: {
          ...current.slots,
          [inactive]: { version: custom.version, securityVersion: custom.securityVersion },
        },
        trial: { slot: inactive, previous: current.active, ...ids },
      });
      await this.#report({ ...ids, step: 'rebooting' });
    } catch (error) {
      const { reason, message } = reasonOf(error);
      // The running firmware is untouched: nothing was written to the active slot.
      await this.#report({ ...ids, step: 'failed', reason, message: forPeople(message), ...this.running });
      return;
    }
    await this.#reboot();
  }

  /** Refreshes the TUF metadata (TUF 5.3–5.6) and checks the target against this device. */
  async #verifiedTarget(offer: UpdateOffer): Promise<TargetFile> {
    const base = this.#options.httpUrl.replace(/\/$/, '');
    const updater = new Updater({
      metadataDir: join(this.#options.dir, 'metadata'),
      metadataBaseUrl: `${base}/device/v1/updates/metadata/`,
      targetBaseUrl: `${base}/device/v1/updates/targets/`,
      fetcher: new DeviceFetcher(this.#auth),
      config: { fetchRetries: 0 },
    });
    await updater.refresh();
    const target = await updater.getTargetInfo(offer.target);
    if (!target) throw new UpdateRefused('unknown-target', `the signed targets do not list ${offer.target}`);
    const custom = customOf(target);
    if (custom.productId !== this.#options.productId)
      throw new UpdateRefused('wrong-product', `the image is for product ${custom.productId}`);
    if (!custom.hardware.includes(this.#options.hardware))
      throw new UpdateRefused(
        'wrong-hardware',
        `the image runs on ${custom.hardware.join(', ')}, not on ${this.#options.hardware}`,
      );
    // Anti-rollback: never below the security version the device runs.
    if (custom.securityVersion < this.running.securityVersion)
      throw new UpdateRefused(
        'security-version',
        `security version ${custom.securityVersion} is below the running ${this.running.securityVersion}`,
      );
    if (custom.version !== offer.version)
      throw new UpdateRefused(
        'offer-mismatch',
        `the offer says ${offer.version}, the signed target ${custom.version}`,
      );
    return target;
  }

  /**
   * Downloads the image, resuming a partial download with a Range request (If-Range on the ETag)
   * and never accepting more bytes than the signed length.
   */
  async #download(target: TargetFile): Promise<string> {
    const dir = join(this.#options.dir, 'download');
    mkdirSync(dir, { recursive: true });
    const sha256 = target.hashes.sha256 ?? '';
    const file = join(dir, `${sha256}.partial`);
    const slash = target.path.lastIndexOf('/');
    const url = `${this.#options.httpUrl.replace(/\/$/, '')}/device/v1/updates/targets/${target.path.slice(0, slash + 1)}${sha256}.${target.path.slice(slash + 1)}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const have = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
      if (have > target.length) unlinkSync(file);
      if (have === target.length) return file;
      const resume = have > 0 && have < target.length;
      const response = await deviceGet(
        url,
        this.#auth,
        resume ? { range: `bytes=${have}-`, 'if-range': `"${sha256}"` } : {},
      );
      if (response.statusCode !== 200 && response.statusCode !== 206) {
        response.resume();
        throw new HttpStatusError(response.statusCode ?? 0, url);
      }
      const append = response.statusCode === 206;
      let received = append ? have : 0;
      const limit = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          if (received > target.length)
            return callback(
              new UpdateRefused('oversized', `the server sent more than the signed ${target.length} bytes`),
            );
          callback(null, chunk);
        },
      });
      try {
        await pipeline(response, limit, createWriteStream(file, { flags: append ? 'a' : 'w' }));
      } catch (error) {
        if (error instanceof UpdateRefused) {
          unlinkSync(file);
          throw error;
        }
        continue; // the connection broke: resume from what arrived
      }
      if (received === target.length) return file;
      if (received < target.length && attempt === 2)
        throw new UpdateRefused(
          'truncated',
          `the download ended after ${received} of ${target.length} bytes`,
        );
    }
    const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size !== target.length)
      throw new UpdateRefused('truncated', `the download ended after ${size} of ${target.length} bytes`);
    return file;
  }

  close(): void {
    if (this.#deferTimer) clearTimeout(this.#deferTimer);
    this.#deferTimer = null;
  }
}

interface TargetCustom {
  productId: string;
  version: string;
  securityVersion: number;
  hardware: string[];
}

function customOf(target: TargetFile): TargetCustom {
  const custom = (target.custom as { brickless?: Partial<TargetCustom> }).brickless;
  if (
    !custom ||
    typeof custom.productId !== 'string' ||
    typeof custom.version !== 'string' ||
    typeof custom.securityVersion !== 'number' ||
    !Array.isArray(custom.hardware)
  )
    throw new UpdateRefused('metadata-invalid', `target ${target.path} lacks the brickless custom fields`);
  return custom as TargetCustom;
}
