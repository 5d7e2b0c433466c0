import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, invalid } from '../errors.js';
import { controlCharacter } from '../http/input.js';
import { newId } from '../ids.js';
import type { Database, DisclosureMessagesTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { type Disclosure, type DisclosureService, toDisclosure } from './disclosures.js';
import { HourlyLimiter } from './hourly-limit.js';

export const MESSAGE_LIMITS = {
  /** Characters of one message, either side. */
  characters: 10_000,
  /** Views and posts through tracking links, per address and hour: the intake's kind of limit. */
  trackingPerAddressPerHour: 120,
  /** Researcher messages per report and hour, and in all: a tracking link cannot fill the store. */
  researcherPerReportPerHour: 20,
  researcherPerReport: 200,
};

export type MessageAuthor = 'researcher' | 'maker';

/** A message as the maker's side sees it: who wrote it, as the audit log names them. */
export interface DisclosureMessage {
  id: string;
  disclosureId: string;
  from: MessageAuthor;
  actor: string;
  message: string;
  sentAt: string;
}

/** What the researcher sees: no token names or ids of the maker's staff. */
export type ResearcherMessage = Omit<DisclosureMessage, 'actor' | 'disclosureId'>;

export interface TrackingView {
  disclosure: Disclosure & { orgId: string };
  messages: ResearcherMessage[];
}

/**
 * The researcher's private tracking link (issue 16 §6): the secret in the link opens one report's
 * status and its message thread, without an account. Both sides' messages are kept with the report
 * and each is written to the audit log, by its length and SHA-256 so that the chain vouches for
 * the stored text; the secret itself is never logged, and researcher messages are audited as
 * `researcher:<disclosure id>`.
 */
export class DisclosureThread {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #disclosures: DisclosureService;
  readonly #limiter: HourlyLimiter;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; disclosures: DisclosureService }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#disclosures = deps.disclosures;
    this.#limiter = new HourlyLimiter(deps.clock);
  }

  /** Every use of a tracking link counts against the address first, found or not (guessing costs). */
  async #open(secret: string, address: string) {
    this.#limiter.take(
      `t:${address}`,
      MESSAGE_LIMITS.trackingPerAddressPerHour,
      'too many requests for tracking links from here in the last hour; try again later',
    );
    return this.#disclosures.bySecret(secret);
  }

  async view(secret: string, address: string): Promise<TrackingView> {
    const row = await this.#open(secret, address);
    const messages = (await this.#messages(row.id)).map(({ id, from, message, sentAt }) => ({
      id,
      from,
      message,
      sentAt,
    }));
    return { disclosure: { ...toDisclosure(row), orgId: row.org_id }, messages };
  }

  async postFromResearcher(secret: string, text: unknown, address: string): Promise<ResearcherMessage> {
    const row = await this.#open(secret, address);
    const body = messageText(text);
    this.#limiter.take(
      `m:${row.id}`,
      MESSAGE_LIMITS.researcherPerReportPerHour,
      'too many messages on this report in the last hour; try again later',
    );
    const sent = await this.#db
      .selectFrom('disclosure_messages')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('disclosure_id', '=', row.id)
      .where('author', '=', 'researcher')
      .executeTakeFirstOrThrow();
    if (Number(sent.n) >= MESSAGE_LIMITS.researcherPerReport)
      throw conflict(
        `this report holds ${MESSAGE_LIMITS.researcherPerReport} messages from you already; the security team can still write to you`,
      );
    const { id, from, message, sentAt } = await this.#append(
      row.org_id,
      row.id,
      'researcher',
      `researcher:${row.id}`,
      body,
    );
    return { id, from, message, sentAt };
  }

  /** The maker's side: the thread of a report of the organisation (another's is not found). */
  async thread(orgId: string, disclosureId: string): Promise<DisclosureMessage[]> {
    await this.#disclosures.get(orgId, disclosureId);
    return this.#messages(disclosureId);
  }

  async reply(actor: string, orgId: string, disclosureId: string, text: unknown): Promise<DisclosureMessage> {
    await this.#disclosures.get(orgId, disclosureId);
    return this.#append(orgId, disclosureId, 'maker', actor, messageText(text));
  }

  async #messages(disclosureId: string): Promise<DisclosureMessage[]> {
    const rows = await this.#db
      .selectFrom('disclosure_messages')
      .selectAll()
      .where('disclosure_id', '=', disclosureId)
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toMessage);
  }

  async #append(
    orgId: string,
    disclosureId: string,
    author: MessageAuthor,
    actor: string,
    body: string,
  ): Promise<DisclosureMessage> {
    const now = this.#clock.now();
    const row: DisclosureMessagesTable = {
      id: newId('dsm', now),
      org_id: orgId,
      disclosure_id: disclosureId,
      author,
      actor,
      body,
      created_at: now.toISOString(),
    };
    await inTransaction(this.#db, async (trx) => {
      await trx.insertInto('disclosure_messages').values(row).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'disclosure.message',
        targetType: 'disclosure',
        targetId: disclosureId,
        details: {
          messageId: row.id,
          from: author,
          length: body.length,
          sha256: createHash('sha256').update(body).digest('hex'),
        },
      });
    });
    return toMessage(row);
  }
}

/**
 * One message's text: prose (tab and line feed kept, line ends made LF as for the report itself),
 * no other control character (the input rules of http/input.ts, also for form posts), bounded.
 */
export function messageText(text: unknown): string {
  if (typeof text !== 'string') throw invalid('/message', 'required: the text of the message');
  const body = text.replace(/\r\n?/g, '\n').trim();
  if (!body) throw invalid('/message', 'required: the text of the message');
  if (body.length > MESSAGE_LIMITS.characters)
    throw invalid(
      '/message',
      `at most ${MESSAGE_LIMITS.characters} characters (this one has ${body.length})`,
    );
  const control = controlCharacter(body);
  if (control) throw invalid('/message', `contains the control character ${control}`);
  return body;
}

function toMessage(r: DisclosureMessagesTable): DisclosureMessage {
  return {
    id: r.id,
    disclosureId: r.disclosure_id,
    from: r.author as MessageAuthor,
    actor: r.actor,
    message: r.body,
    sentAt: r.created_at,
  };
}
