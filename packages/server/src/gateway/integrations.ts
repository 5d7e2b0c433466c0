import { parseTopic, TOPIC_ROOT } from '@brickless/protocol';
import type { Client, PublishPacket, Subscription } from 'aedes';
import { anyAllows, type Principal, rolesIn, rolesOf } from '../access/roles.js';
import type { TokenService } from '../access/tokens.js';
import type { Bus } from '../bus/bus.js';

/** An MQTT session opened with an API token: a backend reading the organisation's device traffic. */
export interface Integration {
  principal: Principal;
}

/** The user name that marks an integration login; the password is the API token. */
export const INTEGRATION_USER = 'token';

/**
 * Integrations (northbound MQTT, docs/protocol.md "Integrations"): a data pipeline, a dashboard or
 * a rules engine subscribes to its organisation's device topics with an API token instead of
 * polling the API. They only read: they may not publish (commands and desired state go through
 * the API, which validates and audits them). Wildcards across devices are allowed; every message
 * is checked on its way out (`authorizeForward`), so a subscriber sees only devices of its own
 * organisation, whatever filter it used.
 */
export class IntegrationAccess {
  readonly #tokens: TokenService;
  /** Organisation of each device that published on this node (device ids are global). */
  readonly #deviceOrgs: Map<string, string>;
  readonly #sessions = new Map<string, Set<Client>>();

  constructor(tokens: TokenService, bus: Bus, deviceOrgs: Map<string, string>) {
    this.#tokens = tokens;
    this.#deviceOrgs = deviceOrgs;
    // A token revoked through any node ends its sessions here (for the life of the bus).
    this.unsubscribe = bus.subscribe('token.revoked', ({ tokenId }) => {
      for (const client of this.#sessions.get(tokenId) ?? []) client.close();
      this.#sessions.delete(tokenId);
    });
  }

  /** Ends the subscription (the gateway's close). */
  readonly unsubscribe: () => void;

  /** The integration for a token login, or a reason it is refused. */
  async authenticate(clientId: string, password: string): Promise<Integration | string> {
    // A device id as client id would take over that device's session (MQTT-3.1.4-2).
    if (clientId.startsWith('dev_')) return 'an integration client id must not start with dev_';
    const principal = await this.#tokens.authenticate(password);
    if (!principal) return 'unknown, expired or revoked API token';
    const readable =
      principal.platformAdmin ||
      [...principal.memberships.values()].some((held) => anyAllows(held, 'fleet:read'));
    if (!readable) return `role ${rolesOf(principal).join(', ')} may not read the fleet`;
    return { principal };
  }

  track(client: Client, integration: Integration, open: boolean): void {
    const tokenId = integration.principal.tokenId;
    if (!tokenId) return;
    const sessions = this.#sessions.get(tokenId) ?? new Set<Client>();
    if (open) sessions.add(client);
    else sessions.delete(client);
    if (sessions.size > 0) this.#sessions.set(tokenId, sessions);
    else this.#sessions.delete(tokenId);
  }

  /** Filters under `brickless/v1/` only; never `$…` system topics or the whole broker. */
  allowsSubscription(subscription: Subscription): boolean {
    return subscription.topic.startsWith(`${TOPIC_ROOT}/`);
  }

  /** The packet if the integration may see it: a device topic of a device of its organisation. */
  forward<P extends PublishPacket>(integration: Integration, packet: P): P | null {
    const parsed = parseTopic(packet.topic);
    if (!parsed) return null;
    const org = this.#deviceOrgs.get(parsed.deviceId);
    if (!org) return null;
    const { principal } = integration;
    return anyAllows(rolesIn(principal, org), 'fleet:read') ? packet : null;
  }
}
