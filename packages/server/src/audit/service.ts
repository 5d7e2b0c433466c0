import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { Dialect } from '../store/db.js';
import type { Database } from '../store/schema.js';
import type { Executor } from '../store/transaction.js';
import { type ChainedFields, entryHash, GENESIS_HASH } from './chain.js';

/** The chain for actions outside any organisation: creating organisations, platform tokens. */
export const PLATFORM_CHAIN = '_platform';

export interface AuditInput {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  details: Record<string, unknown>;
}

/** An entry as stored: the chained fields and the hash over them. */
export type AuditEntry = ChainedFields & { hash: string };

export interface ChainProblem {
  seq: number;
  problem: string;
}

export interface ChainReport {
  chain: string;
  entries: number;
  head: { seq: number; hash: string } | null;
  ok: boolean;
  problems: ChainProblem[];
}

export interface AuditQuery {
  afterSeq?: number;
  beforeSeq?: number;
  limit: number;
  action?: string;
  targetId?: string;
  actor?: string;
  /** ISO 8601 instants: entries at or after `since` and before `until`. */
  since?: string;
  until?: string;
  /** 'desc': newest first (a reader's view); 'asc' (the default): the chain's order. */
  order?: 'asc' | 'desc';
}

const VERIFY_PAGE = 1000;
/** Entries per INSERT: 11 bound values each, under SQLite's 32,766 and PostgreSQL's 65,535. */
const INSERT_ROWS = 2000;

/**
 * The tamper-evident audit log: one hash chain per organisation (its auditors can verify it
 * without seeing other tenants' entries) plus one platform chain. Each entry's hash covers its
 * predecessor's, and a head row per chain records the last sequence number and hash, so an
 * edited, inserted, deleted or truncated entry breaks verification.
 */
export class AuditLog {
  readonly #clock: Clock;
  readonly #dialect: Dialect;

  constructor(deps: { clock: Clock; dialect: Dialect }) {
    this.#clock = deps.clock;
    this.#dialect = deps.dialect;
  }

  /** Appends an entry. Call inside the transaction that makes the change it records. */
  async append(trx: Executor, chain: string, input: AuditInput): Promise<AuditEntry> {
    const [entry] = await this.appendMany(trx, chain, [input]);
    if (!entry) throw new Error('audit append wrote nothing');
    return entry;
  }

  /**
   * Appends entries in order with one head read, one multi-row insert per few thousand entries and
   * one head update: a batch of writes (a fleet reporting at once) holds the chain's lock for a few
   * statements instead of three per entry. Call inside the transaction that makes the changes.
   */
  async appendMany(trx: Executor, chain: string, inputs: AuditInput[]): Promise<AuditEntry[]> {
    if (inputs.length === 0) return [];
    // On PostgreSQL the row lock serialises appends to one chain across connections and nodes;
    // SQLite serialises every write transaction already (and has no FOR UPDATE).
    const readHead = () => {
      let headQuery = trx.selectFrom('audit_heads').select(['seq', 'hash']).where('chain', '=', chain);
      if (this.#dialect === 'postgres') headQuery = headQuery.forUpdate();
      return headQuery.executeTakeFirst();
    };
    let head = await readHead();
    if (!head) {
      // A chain's first entry: create the head; concurrent first appends both succeed here, and
      // the lock then orders them.
      await trx
        .insertInto('audit_heads')
        .values({ chain, seq: 0, hash: GENESIS_HASH })
        .onConflict((oc) => oc.column('chain').doNothing())
        .execute();
      head = await readHead();
      if (!head) throw new Error(`audit chain ${chain} has no head`);
    }

    const at = this.#clock.now();
    let seq = Number(head.seq);
    let prevHash = head.hash;
    const entries: AuditEntry[] = inputs.map((input) => {
      seq += 1;
      const fields: ChainedFields = {
        chain,
        seq,
        id: newId('aud', at),
        at: at.toISOString(),
        actor: input.actor,
        action: input.action,
        targetType: input.targetType,
        targetId: input.targetId,
        details: input.details,
        prevHash,
      };
      prevHash = entryHash(fields);
      return { ...fields, hash: prevHash };
    });
    for (let i = 0; i < entries.length; i += INSERT_ROWS) {
      await trx
        .insertInto('audit_entries')
        .values(
          entries.slice(i, i + INSERT_ROWS).map((entry) => ({
            chain,
            seq: entry.seq,
            id: entry.id,
            at: entry.at,
            actor: entry.actor,
            action: entry.action,
            target_type: entry.targetType,
            target_id: entry.targetId,
            details: JSON.stringify(entry.details),
            prev_hash: entry.prevHash,
            hash: entry.hash,
          })),
        )
        .execute();
    }
    await trx.updateTable('audit_heads').set({ seq, hash: prevHash }).where('chain', '=', chain).execute();
    return entries;
  }

  async list(db: Executor, chain: string, query: AuditQuery): Promise<AuditEntry[]> {
    let q = db.selectFrom('audit_entries').selectAll().where('chain', '=', chain);
    if (query.afterSeq !== undefined) q = q.where('seq', '>', query.afterSeq);
    if (query.beforeSeq !== undefined) q = q.where('seq', '<', query.beforeSeq);
    if (query.action) q = q.where('action', '=', query.action);
    if (query.targetId) q = q.where('target_id', '=', query.targetId);
    if (query.actor) q = q.where('actor', '=', query.actor);
    // `at` is stored as toISOString() text (UTC, fixed width), so text order is time order once
    // the bounds are written the same way.
    if (query.since) q = q.where('at', '>=', new Date(query.since).toISOString());
    if (query.until) q = q.where('at', '<', new Date(query.until).toISOString());
    const rows = await q
      .orderBy('seq', query.order === 'desc' ? 'desc' : 'asc')
      .limit(query.limit)
      .execute();
    return rows.map(toEntry);
  }

  async head(db: Executor, chain: string): Promise<{ seq: number; hash: string } | null> {
    const row = await db
      .selectFrom('audit_heads')
      .select(['seq', 'hash'])
      .where('chain', '=', chain)
      .executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash } : null;
  }

  async chains(db: Kysely<Database>): Promise<string[]> {
    const rows = await db.selectFrom('audit_heads').select('chain').orderBy('chain').execute();
    const fromEntries = await db.selectFrom('audit_entries').select('chain').distinct().execute();
    return [...new Set([...rows.map((r) => r.chain), ...fromEntries.map((r) => r.chain)])].sort();
  }

  async count(db: Executor, chain?: string): Promise<number> {
    let q = db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<string | number>().as('n'));
    if (chain !== undefined) q = q.where('chain', '=', chain);
    const row = await q.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Recomputes every hash of a chain in order and compares the end with the head row.
   * Reads in pages so that a chain of millions of entries runs in constant memory.
   */
  async verify(db: Executor, chain: string, onEntries?: (n: number) => void): Promise<ChainReport> {
    const problems: ChainProblem[] = [];
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    let entries = 0;
    let lastSeq = 0;
    for (;;) {
      const rows = await db
        .selectFrom('audit_entries')
        .selectAll()
        .where('chain', '=', chain)
        .where('seq', '>', lastSeq)
        .orderBy('seq')
        .limit(VERIFY_PAGE)
        .execute();
      for (const row of rows) {
        const entry = toEntry(row);
        if (entry.seq !== expectedSeq) {
          problems.push({
            seq: entry.seq,
            problem: `expected entry ${expectedSeq}: entries missing or inserted`,
          });
        }
        if (entry.prevHash !== prevHash) {
          problems.push({
            seq: entry.seq,
            problem: 'previous-hash link broken (an entry before it changed or is gone)',
          });
        }
        const { hash, ...fields } = entry;
        if (entryHash(fields) !== hash) {
          problems.push({ seq: entry.seq, problem: 'content does not match its hash (entry edited)' });
        }
        prevHash = hash;
        expectedSeq = entry.seq + 1;
        lastSeq = entry.seq;
      }
      entries += rows.length;
      onEntries?.(rows.length);
      if (rows.length < VERIFY_PAGE) break;
    }
    const head = await this.head(db, chain);
    if (head === null && entries > 0) problems.push({ seq: lastSeq, problem: 'chain head is missing' });
    if (head !== null && (head.seq !== lastSeq || head.hash !== prevHash)) {
      problems.push({
        seq: head.seq,
        problem: `chain head says entry ${head.seq} but the log ends at ${lastSeq} (entries at the end deleted or head altered)`,
      });
    }
    return { chain, entries, head, ok: problems.length === 0, problems };
  }
}

export function toEntry(row: Database['audit_entries']): AuditEntry {
  return {
    chain: row.chain,
    seq: Number(row.seq),
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    details: JSON.parse(row.details) as unknown,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
