/**
 * The endpoint record (docs/continuity.md): which servers a device talks to, or that it should
 * switch to local mode, signed by the threshold of the organisation's TUF root keys. A device
 * checks it against the root it already trusts for updates, so neither the old server nor the
 * network can move a device anywhere its maker (or the escrow agent, whose key the root names)
 * did not sign. Signatures follow TUF's envelope: Ed25519 over the canonical JSON of `signed`.
 */
export const ENDPOINT_RECORD_TYPE = 'brickless-endpoint';

export interface EndpointRecordBody {
  _type: typeof ENDPOINT_RECORD_TYPE;
  spec_version: '1.0';
  /** The organisation whose root signs it. */
  org: string;
  /** Raised by every new record; a device refuses a record not newer than the one it applied. */
  version: number;
  /** RFC 3339. */
  issued: string;
  /** `cloud`: connect to `mqtt`/`http`, trusting `ca`. `local`: stop using any cloud, serve the LAN. */
  mode: 'cloud' | 'local';
  /** The products it applies to; absent for every product of the organisation. */
  products?: string[];
  /** Cloud mode: the MQTT/TLS endpoint, `mqtts://host:port`. */
  mqtt?: string;
  /** Cloud mode: the HTTPS base URL (device API, updates). */
  http?: string;
  /** Cloud mode: PEM certificate(s) the device trusts for both endpoints (the successor's TLS anchor). */
  ca?: string;
  /** Local mode: where the end-of-support notice is published (CRA Art. 13(23)). */
  notice?: string;
  /**
   * An owner's choice of local mode for one device (issue 18 §7): exactly that device's id. Only a
   * `local` record may name a device, and such a record may be signed by the threshold of the
   * root's timestamp role (the server's online key) instead of the root keys; it can switch that
   * one device to local mode and nothing else (docs/local-mode.md, "The owner's choice").
   */
  devices?: string[];
}

export interface EndpointSignature {
  keyid: string;
  sig: string;
}

export interface EndpointRecord {
  signed: EndpointRecordBody;
  signatures: EndpointSignature[];
}

/** `endpoint/status` (device → server): what the device did with a record. */
export interface EndpointStatus {
  version: number;
  /** `moving`: accepted, leaving this server; `arrived`: connected to the record's server; `local`: in local mode; `refused`: not applied. */
  status: 'moving' | 'arrived' | 'local' | 'refused';
  reason?: string;
}

const MAX_RECORD_BYTES = 64 * 1024;

/** Every problem with the record's shape (not its signatures), for a clear refusal. */
export function endpointRecordProblems(value: unknown): string[] {
  const problems: string[] = [];
  const record = value as Partial<EndpointRecord> | null;
  if (!record || typeof record !== 'object' || Array.isArray(record))
    return ['the record must be a JSON object'];
  if (JSON.stringify(record).length > MAX_RECORD_BYTES) problems.push('the record is larger than 64 KiB');
  const s = record.signed as Partial<EndpointRecordBody> | undefined;
  if (!s || typeof s !== 'object') return [...problems, 'signed must be an object'];
  if (s._type !== ENDPOINT_RECORD_TYPE) problems.push(`signed._type must be "${ENDPOINT_RECORD_TYPE}"`);
  if (s.spec_version !== '1.0') problems.push('signed.spec_version must be "1.0"');
  if (typeof s.org !== 'string' || s.org.length === 0) problems.push('signed.org must name the organisation');
  if (!Number.isSafeInteger(s.version) || (s.version as number) < 1)
    problems.push('signed.version must be an integer ≥ 1');
  if (typeof s.issued !== 'string' || Number.isNaN(Date.parse(s.issued)))
    problems.push('signed.issued must be an RFC 3339 time');
  if (s.mode !== 'cloud' && s.mode !== 'local') problems.push('signed.mode must be "cloud" or "local"');
  if (
    s.products !== undefined &&
    (!Array.isArray(s.products) || s.products.some((p) => typeof p !== 'string'))
  )
    problems.push('signed.products must be a list of product ids');
  if (s.mode === 'cloud') {
    if (typeof s.mqtt !== 'string' || !/^mqtts?:\/\/[^/\s]+$/.test(s.mqtt))
      problems.push('signed.mqtt must be mqtts://host:port');
    if (typeof s.http !== 'string' || !/^https?:\/\/[^\s]+$/.test(s.http))
      problems.push('signed.http must be an https:// URL');
    if (typeof s.ca !== 'string' || !s.ca.includes('-----BEGIN CERTIFICATE-----'))
      problems.push('signed.ca must be a PEM certificate (the TLS trust anchor of the new endpoints)');
  }
  if (
    s.devices !== undefined &&
    (s.mode !== 'local' ||
      !Array.isArray(s.devices) ||
      s.devices.length !== 1 ||
      typeof s.devices[0] !== 'string' ||
      s.devices[0].length === 0 ||
      s.products !== undefined)
  )
    problems.push('signed.devices names exactly one device, only in a local record without products');
  if (s.notice !== undefined && (typeof s.notice !== 'string' || !/^https?:\/\//.test(s.notice)))
    problems.push('signed.notice must be a URL');
  if (!Array.isArray(record.signatures) || record.signatures.length === 0)
    problems.push('signatures must list at least one signature');
  else if (
    record.signatures.some(
      (g) => typeof g?.keyid !== 'string' || typeof g?.sig !== 'string' || !/^[0-9a-f]+$/.test(g.sig),
    )
  )
    problems.push('every signature needs a keyid and a hex sig');
  return problems;
}
