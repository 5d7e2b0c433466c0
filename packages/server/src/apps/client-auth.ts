import type { FastifyRequest } from 'fastify';
import { OAuthError } from './oauth-error.js';
import { AppRegistry, type Client } from './registry.js';

/** Client authentication (RFC 6749 §2.3): Basic, or client_id (+ client_secret) in the form; not both. */
export async function authenticateClient(
  apps: AppRegistry,
  request: FastifyRequest,
  params: Record<string, string>,
): Promise<Client> {
  const header = request.headers.authorization;
  let id = params.client_id;
  let secret = params.client_secret;
  if (header !== undefined) {
    const basic = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header)?.[1];
    const decoded = basic ? Buffer.from(basic, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw new OAuthError('invalid_client', 'the Authorization header is not client_secret_basic', 401);
    if (secret !== undefined) throw new OAuthError('invalid_request', 'authenticate the client one way only');
    // RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
    const unform = (s: string) => decodeURIComponent(s.replaceAll('+', ' '));
    try {
      if (id !== undefined && id !== unform(decoded.slice(0, colon)))
        throw new OAuthError('invalid_request', 'client_id differs from the Authorization header');
      id = unform(decoded.slice(0, colon));
      secret = unform(decoded.slice(colon + 1));
    } catch (error) {
      if (error instanceof OAuthError) throw error;
      throw new OAuthError('invalid_client', 'the Authorization header is not client_secret_basic', 401);
    }
  }
  const refused = new OAuthError('invalid_client', 'unknown app, or wrong client secret', 401);
  if (!id) throw refused;
  const client = await apps.client(id);
  if (!client) throw refused;
  if (client.clientType === 'confidential') {
    if (!secret || !AppRegistry.secretMatches(client, secret)) throw refused;
  } else if (secret) {
    throw new OAuthError('invalid_client', 'a public app has no secret: send client_id and PKCE only', 401);
  }
  return client;
}
