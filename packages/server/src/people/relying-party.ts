import { DomainError } from '../errors.js';

/** Who the browser talks to in a WebAuthn ceremony (W3C WebAuthn §5.1.3, §13.4.9). */
export interface RelyingParty {
  /** The domain passkeys are bound to: the host name, no scheme, no port. */
  rpID: string;
  /** The origin the browser must report in its client data: `https://host[:port]`. */
  origin: string;
}

const HOST = /^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?$/;

/**
 * The relying party of a request: the host of `http.publicUrl` when it is set (what people type;
 * a Host header cannot change it), else the request's Host header. A passkey works only under
 * the rpID it was made for: after a takeover under a new domain the old ones cannot sign in.
 */
export function relyingParty(publicUrl: string | null, host: string | undefined): RelyingParty {
  if (publicUrl) {
    const url = new URL(publicUrl);
    return { rpID: url.hostname, origin: `https://${url.host}` };
  }
  if (!host || !HOST.test(host))
    throw new DomainError('validation-failed', 'the request has no usable Host header: set http.publicUrl');
  const url = new URL(`https://${host}`);
  return { rpID: url.hostname, origin: `https://${url.host}` };
}
