/**
 * An OAuth error as RFC 6749 §5.2 (token endpoint), §4.1.2.1 (authorization redirect) and RFC 7009
 * §2.2.1 (revocation) define it: a registered code and a human description. These endpoints
 * answer in OAuth's own JSON, not problem+json, because OAuth clients parse exactly that.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'unsupported_token_type'
  | 'server_error'
  | 'temporarily_unavailable';

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  /** Where an authorization request's error goes back to, once client and redirect URI are trusted. */
  redirect: { redirectUri: string; state: string | null } | null = null;

  constructor(error: OAuthErrorCode, description: string, status = 400) {
    super(description);
    this.name = 'OAuthError';
    this.error = error;
    this.status = status;
  }
}

/** Parameters of a form (RFC 6749 §3.1: none may appear twice) into a null-prototype record. */
export function formParameters(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [key, value] of params) {
    if (key in out) throw new OAuthError('invalid_request', `the parameter ${key} appears more than once`);
    // Text from outside: no NUL or control characters (DESIGN.md, input rules).
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(value) || value.length > 4096)
      throw new OAuthError('invalid_request', `the parameter ${key} holds control characters or is too long`);
    out[key] = value;
  }
  return out;
}
