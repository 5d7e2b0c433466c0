import { Metadata, MetadataKind, type Root, Signature, TargetFile, type Targets } from '@tufjs/models';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, invalid } from '../errors.js';
import type { SecretBox } from '../secrets/master-key.js';
import { isUniqueViolation } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import { generateSigningKey, keyIdOf, type PrivateKeyFile, type PublicKeyFile, signerFor } from './keys.js';
import {
  buildSnapshot,
  buildTargets,
  buildTimestamp,
  checkRootTransition,
  ESCROW_FIELD,
  expiresDays,
  parseMetadata,
  roleKeyIds,
  serialize,
  thresholdMet,
} from './metadata.js';

const DAY = 86_400_000;
/** `updates status` warns this many days before root expires (a key ceremony takes time). */
export const ROOT_WARNING_DAYS = 90;
/** … and this many before targets expire. */
export const TARGETS_WARNING_DAYS = 30;
/** Row roles of online keys made by a rotation that no published root names yet. */
const PENDING = { snapshot: 'snapshot.next', timestamp: 'timestamp.next' } as const;

export interface RepositoryOptions {
  /** Lifetime of timestamp metadata; re-signed when less than half is left (TUF 4.6). */
  timestampLifetimeMs?: number;
  snapshotLifetimeMs?: number;
}

export interface OnlineKeys {
  snapshot: PublicKeyFile;
  timestamp: PublicKeyFile;
}

export interface TargetsDraft {
  version: number;
  /** The unsigned (or partly signed) targets metadata, exactly what the targets keys sign. */
  metadata: Record<string, unknown>;
  releaseIds: string[];
  signatures: string[];
  threshold: number;
}

export interface RepositoryStatus {
  initialized: boolean;
  root: {
    version: number;
    expires: string;
    rootKeyIds: string[];
    rootThreshold: number;
    targetsKeyIds: string[];
    targetsThreshold: number;
    escrowKeyIds: string[];
  } | null;
  targets: { version: number; expires: string; signedByCurrentKeys: boolean } | null;
  snapshot: { version: number; expires: string } | null;
  timestamp: { version: number; expires: string } | null;
  draft: { version: number; releaseIds: string[]; signatures: number; threshold: number } | null;
  warnings: string[];
}

export type MetadataRole = 'root' | 'targets' | 'snapshot' | 'timestamp';

/**
 * An organisation's TUF repository (one per organisation: docs/updates.md says why). The maker's
 * offline keys sign root and targets on the maker's machine; this service holds only the online
 * snapshot and timestamp keys, sealed with the master key, and checks every signature it is given
 * against the trusted root before anything is published.
 */
export class UpdateRepository {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #secrets: SecretBox;
  readonly #timestampLifetime: number;
  readonly #snapshotLifetime: number;

  constructor(
    deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; secrets: SecretBox } & RepositoryOptions,
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#secrets = deps.secrets;
    this.#timestampLifetime = deps.timestampLifetimeMs ?? DAY;
    this.#snapshotLifetime = deps.snapshotLifetimeMs ?? 7 * DAY;
  }

  /** The online keys' public halves, made at the first ask (the maker puts them into root). */
  async onlineKeys(actor: string, orgId: string): Promise<OnlineKeys> {
    const existing = await this.#onlinePublic(orgId);
    if (existing) return existing;
    const now = this.#clock.now().toISOString();
    try {
      await inTransaction(this.#db, async (trx) => {
        for (const role of ['snapshot', 'timestamp'] as const) {
          const key = generateSigningKey(`${role} (online)`);
          await trx
            .insertInto('tuf_online_keys')
            .values({
              org_id: orgId,
              role,
              keyid: key.keyid,
              public_hex: key.keyval.public,
              private_sealed: this.#secrets.seal(key.private, `tuf-online:${orgId}:${role}`),
              created_at: now,
            })
            .execute();
        }
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'updates.online-keys.create',
          targetType: 'update-repository',
          targetId: orgId,
          details: {},
        });
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    return (await this.#onlinePublic(orgId)) as OnlineKeys;
  }

  /**
   * Starts a rotation of the online keys (TUF 5.3.11): makes new snapshot and timestamp keys,
   * kept beside the current ones (row role `snapshot.next`, `timestamp.next`) until a root that
   * names them is published; an earlier unfinished rotation is replaced. Returns their public
   * halves for the maker to put into root version N+1.
   */
  async beginOnlineKeyRotation(actor: string, orgId: string): Promise<OnlineKeys> {
    if (!(await this.trustedRoot(orgId)))
      throw conflict('the update repository has no root yet: there are no online keys in use to rotate');
    const now = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      await trx
        .deleteFrom('tuf_online_keys')
        .where('org_id', '=', orgId)
        .where('role', 'in', [PENDING.snapshot, PENDING.timestamp])
        .execute();
      for (const role of ['snapshot', 'timestamp'] as const) {
        const key = generateSigningKey(`${role} (online)`);
        await trx
          .insertInto('tuf_online_keys')
          .values({
            org_id: orgId,
            role: PENDING[role],
            keyid: key.keyid,
            public_hex: key.keyval.public,
            private_sealed: this.#secrets.seal(key.private, `tuf-online:${orgId}:${PENDING[role]}`),
            created_at: now,
          })
          .execute();
      }
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'updates.online-keys.rotate-begin',
        targetType: 'update-repository',
        targetId: orgId,
        details: {},
      });
    });
    return (await this.#onlinePublic(orgId, this.#db, 'pending')) as OnlineKeys;
  }

  /**
   * The second half of a rotation, inside the transaction that publishes a root naming the new
   * keys: they replace the old ones (re-sealed under their final role), and snapshot and
   * timestamp are signed again with them at once, so devices that trust the new root find
   * metadata they can verify (TUF 5.3.11: a client deletes its old timestamp and snapshot when
   * their keys rotate, which is also how it recovers from a fast-forward attack).
   */
  async #completeRotation(trx: Executor, orgId: string, roles: ('snapshot' | 'timestamp')[], actor: string) {
    for (const role of roles) {
      const pending = await trx
        .selectFrom('tuf_online_keys')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('role', '=', PENDING[role])
        .executeTakeFirstOrThrow();
      const secret = this.#secrets.open(pending.private_sealed, `tuf-online:${orgId}:${PENDING[role]}`);
      await trx
        .deleteFrom('tuf_online_keys')
        .where('org_id', '=', orgId)
        .where('role', 'in', [role, PENDING[role]])
        .execute();
      await trx
        .insertInto('tuf_online_keys')
        .values({
          ...pending,
          role,
          private_sealed: this.#secrets.seal(secret, `tuf-online:${orgId}:${role}`),
        })
        .execute();
    }
    const targets = await this.#latest(trx, orgId, 'targets');
    if (targets) await this.#publishSnapshot(trx, orgId, targets.version, actor);
  }

  async #onlinePublic(
    orgId: string,
    db: Executor = this.#db,
    which: 'current' | 'pending' = 'current',
  ): Promise<OnlineKeys | null> {
    const rows = await db.selectFrom('tuf_online_keys').selectAll().where('org_id', '=', orgId).execute();
    const of = (role: 'snapshot' | 'timestamp'): PublicKeyFile | null => {
      const row = rows.find((r) => r.role === (which === 'current' ? role : PENDING[role]));
      return row
        ? {
            keytype: 'ed25519',
            scheme: 'ed25519',
            keyid: row.keyid,
            keyval: { public: row.public_hex },
            name: `${role} (online)`,
          }
        : null;
    };
    const snapshot = of('snapshot');
    const timestamp = of('timestamp');
    return snapshot && timestamp ? { snapshot, timestamp } : null;
  }

  /**
   * The online timestamp key in use, with its private half: it also signs an owner's local-mode
   * record for one device (owners/local-mode.ts, issue 18 §7), which devices accept from the
   * timestamp role for that device alone. Null before the root names the online keys.
   */
  async onlineTimestampKey(orgId: string): Promise<PrivateKeyFile | null> {
    const row = await this.#db
      .selectFrom('tuf_online_keys')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('role', '=', 'timestamp')
      .executeTakeFirst();
    if (!row) return null;
    return {
      keytype: 'ed25519',
      scheme: 'ed25519',
      keyid: row.keyid,
      keyval: { public: row.public_hex },
      private: this.#secrets.open(row.private_sealed, `tuf-online:${orgId}:timestamp`),
    };
  }

  async #onlineSigner(db: Executor, orgId: string, role: 'snapshot' | 'timestamp') {
    const row = await db
      .selectFrom('tuf_online_keys')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('role', '=', role)
      .executeTakeFirstOrThrow();
    const key: PrivateKeyFile = {
      keytype: 'ed25519',
      scheme: 'ed25519',
      keyid: row.keyid,
      keyval: { public: row.public_hex },
      private: this.#secrets.open(row.private_sealed, `tuf-online:${orgId}:${role}`),
    };
    return signerFor(key);
  }

  async #latest(db: Executor, orgId: string, role: MetadataRole) {
    return db
      .selectFrom('tuf_metadata')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('role', '=', role)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  async trustedRoot(orgId: string, db: Executor = this.#db): Promise<Metadata<Root> | null> {
    const row = await this.#latest(db, orgId, 'root');
    return row ? Metadata.fromJSON(MetadataKind.Root, JSON.parse(row.document)) : null;
  }

  /** The current root as served, for factories that flash it into new devices. */
  async currentRootDocument(orgId: string): Promise<string | null> {
    return (await this.#latest(this.#db, orgId, 'root'))?.document ?? null;
  }

  /**
   * Publishes root version N+1 (or the first root) after the checks of TUF 5.3.4; it must name the
   * server's online keys for snapshot and timestamp, which it cannot sign for otherwise.
   */
  async publishRoot(actor: string, orgId: string, json: unknown): Promise<{ version: number }> {
    const next = parseMetadata(MetadataKind.Root, json) as Metadata<Root>;
    const online = await this.#onlinePublic(orgId);
    if (!online)
      throw conflict('fetch the online keys first (GET …/updates/online-keys) and put them into root');
    const pending = await this.#onlinePublic(orgId, this.#db, 'pending');
    // Each online role names the key in use, or the new one of a rotation under way.
    const rotated: ('snapshot' | 'timestamp')[] = [];
    for (const role of ['snapshot', 'timestamp'] as const) {
      const ids = roleKeyIds(next, role);
      const id = ids.length === 1 ? ids[0] : undefined;
      if (pending && id === pending[role].keyid) rotated.push(role);
      else if (id !== online[role].keyid)
        throw invalid(
          `roles.${role}`,
          `must be exactly the server's online ${role} key ${online[role].keyid}${pending ? ` (or the new ${pending[role].keyid} of the rotation under way)` : ''}`,
        );
    }
    for (const [keyid, key] of Object.entries(next.signed.keys)) {
      if (key.keyType !== 'ed25519' || keyIdOf(key.keyVal.public ?? '') !== keyid)
        throw invalid('keys', `key ${keyid}: only Ed25519 keys whose id is their SHA-256 key id`);
    }
    const escrow = next.signed.unrecognizedFields[ESCROW_FIELD];
    if (escrow !== undefined) {
      const rootIds = roleKeyIds(next, 'root');
      if (!Array.isArray(escrow) || escrow.some((id) => typeof id !== 'string' || !rootIds.includes(id)))
        throw invalid(ESCROW_FIELD, 'must list key ids that are root keys');
    }
    return inTransaction(this.#db, async (trx) => {
      const trusted = await this.trustedRoot(orgId, trx);
      checkRootTransition(trusted, next, this.#clock.now());
      await this.#insert(
        trx,
        orgId,
        'root',
        next.signed.version,
        serialize(next),
        next.signed.expires,
        actor,
      );
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'updates.root.publish',
        targetType: 'update-repository',
        targetId: orgId,
        details: {
          version: next.signed.version,
          rootKeyIds: roleKeyIds(next, 'root'),
          rootThreshold: next.signed.roles.root?.threshold ?? 0,
          targetsKeyIds: roleKeyIds(next, 'targets'),
          escrowKeyIds: Array.isArray(escrow) ? escrow : [],
        },
      });
      if (rotated.length) {
        await this.#completeRotation(trx, orgId, rotated, actor);
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'updates.online-keys.rotate',
          targetType: 'update-repository',
          targetId: orgId,
          details: {
            rootVersion: next.signed.version,
            roles: rotated,
            keyIds: rotated.map((role) => roleKeyIds(next, role)[0]),
          },
        });
      }
      return { version: next.signed.version };
    });
  }

  async #insert(
    trx: Executor,
    orgId: string,
    role: MetadataRole,
    version: number,
    document: string,
    expires: string,
    actor: string,
  ) {
    try {
      await trx
        .insertInto('tuf_metadata')
        .values({
          org_id: orgId,
          role,
          version,
          document,
          expires,
          created_at: this.#clock.now().toISOString(),
          created_by: actor,
        })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error))
        throw conflict(`${role} version ${version} exists already; fetch the current state and try again`);
      throw error;
    }
  }

  /**
   * Metadata by its served file name (TUF 5.2, consistent snapshots): `N.root.json`,
   * `N.targets.json`, `N.snapshot.json`, `timestamp.json`, and `root.json` for the newest root.
   */
  async document(orgId: string, file: string): Promise<string | null> {
    const match = /^(?:([1-9][0-9]{0,9})\.)?(root|targets|snapshot|timestamp)\.json$/.exec(file);
    if (!match) return null;
    const [, versionText, role] = match as unknown as [string, string | undefined, MetadataRole];
    if (!versionText) {
      if (role !== 'timestamp' && role !== 'root') return null;
      return (await this.#latest(this.#db, orgId, role))?.document ?? null;
    }
    if (role === 'timestamp') return null;
    const row = await this.#db
      .selectFrom('tuf_metadata')
      .select('document')
      .where('org_id', '=', orgId)
      .where('role', '=', role)
      .where('version', '=', Number(versionText))
      .executeTakeFirst();
    return row?.document ?? null;
  }

  /**
   * Builds the next targets metadata from every release of the organisation that is not
   * withdrawn, to be signed offline by the targets keys; replaces an earlier draft.
   */
  async prepareTargets(actor: string, orgId: string, expiresInDays: number): Promise<TargetsDraft> {
    return inTransaction(this.#db, async (trx) => {
      const root = await this.trustedRoot(orgId, trx);
      if (!root)
        throw conflict('the update repository has no root yet: publish one first (brickless updates init)');
      const latest = await this.#latest(trx, orgId, 'targets');
      const releases = await trx
        .selectFrom('releases')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('status', 'in', ['draft', 'published'])
        .orderBy('id')
        .execute();
      const targets = releases.map(
        (r) =>
          new TargetFile({
            path: r.target_path,
            length: Number(r.artifact_length),
            hashes: { sha256: r.artifact_sha256 },
            unrecognizedFields: {
              custom: {
                brickless: {
                  releaseId: r.id,
                  productId: r.product_id,
                  version: r.version,
                  kind: r.kind,
                  securityVersion: r.security_version,
                  hardware: JSON.parse(r.hardware) as string[],
                  // Signed with the image, so the SBOM a maker shows an authority is provably
                  // the one that was released (and `release sign` can show its hash).
                  ...(r.sbom_sha256 ? { sbomSha256: r.sbom_sha256 } : {}),
                },
              },
            },
          }),
      );
      const version = (latest?.version ?? 0) + 1;
      const expires = new Date(
        this.#clock.now().getTime() + expiresDays(expiresInDays, 'expiresInDays') * DAY,
      );
      const metadata = buildTargets(version, expires, targets);
      const now = this.#clock.now().toISOString();
      const releaseIds = releases.map((r) => r.id);
      await trx.deleteFrom('tuf_targets_drafts').where('org_id', '=', orgId).execute();
      await trx
        .insertInto('tuf_targets_drafts')
        .values({
          org_id: orgId,
          version,
          document: serialize(metadata),
          release_ids: JSON.stringify(releaseIds),
          created_at: now,
          created_by: actor,
        })
        .execute();
      return {
        version,
        metadata: metadata.toJSON(),
        releaseIds,
        signatures: [],
        threshold: root.signed.roles.targets?.threshold ?? 1,
      };
    });
  }

  async draft(orgId: string): Promise<TargetsDraft | null> {
    const row = await this.#db
      .selectFrom('tuf_targets_drafts')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!row) return null;
    const root = await this.trustedRoot(orgId);
    const metadata = JSON.parse(row.document) as { signatures: { keyid: string }[] };
    return {
      version: row.version,
      metadata,
      releaseIds: JSON.parse(row.release_ids) as string[],
      signatures: metadata.signatures.map((s) => s.keyid),
      threshold: root?.signed.roles.targets?.threshold ?? 1,
    };
  }

  /**
   * Adds the targets keys' signatures to the draft; once their threshold is met (TUF 5.6.3) the
   * targets are published with a new snapshot and timestamp, and its releases become available.
   * A signature by a key that is not a targets key, or one that does not verify, is refused.
   */
  async signTargets(
    actor: string,
    orgId: string,
    version: number,
    signatures: { keyid: string; sig: string }[],
  ): Promise<{
    published: boolean;
    version: number;
    signatures: number;
    threshold: number;
    releaseIds: string[];
  }> {
    return inTransaction(this.#db, async (trx) => {
      const row = await trx
        .selectFrom('tuf_targets_drafts')
        .selectAll()
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      if (!row)
        throw conflict('there is no targets draft to sign; prepare one (brickless release sign does)');
      if (row.version !== version)
        throw conflict(`the draft is now version ${row.version}, not ${version}; fetch it and sign again`);
      const root = (await this.trustedRoot(orgId, trx)) as Metadata<Root>;
      const draft = Metadata.fromJSON(MetadataKind.Targets, JSON.parse(row.document)) as Metadata<Targets>;
      const targetsKeys = roleKeyIds(root, 'targets');
      for (const { keyid, sig } of signatures) {
        const key = root.signed.keys[keyid];
        if (!key || !targetsKeys.includes(keyid))
          throw invalid(
            'signatures',
            `key ${keyid.slice(0, 12)}… is not a targets key of root version ${root.signed.version}`,
          );
        const candidate = new Metadata(draft.signed, { [keyid]: new Signature({ keyID: keyid, sig }) });
        try {
          key.verifySignature(candidate);
        } catch {
          throw invalid(
            'signatures',
            `the signature by key ${keyid.slice(0, 12)}… does not verify over this draft`,
          );
        }
        draft.signatures[keyid] = new Signature({ keyID: keyid, sig });
      }
      const threshold = root.signed.roles.targets?.threshold ?? 1;
      const releaseIds = JSON.parse(row.release_ids) as string[];
      const count = Object.keys(draft.signatures).length;
      if (!thresholdMet(root, 'targets', draft)) {
        await trx
          .updateTable('tuf_targets_drafts')
          .set({ document: serialize(draft) })
          .where('org_id', '=', orgId)
          .execute();
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'updates.targets.sign',
          targetType: 'update-repository',
          targetId: orgId,
          details: { version, keyIds: signatures.map((s) => s.keyid), signatures: count, threshold },
        });
        return { published: false, version, signatures: count, threshold, releaseIds };
      }
      await this.#insert(trx, orgId, 'targets', version, serialize(draft), draft.signed.expires, actor);
      await trx.deleteFrom('tuf_targets_drafts').where('org_id', '=', orgId).execute();
      const now = this.#clock.now().toISOString();
      if (releaseIds.length)
        await trx
          .updateTable('releases')
          .set({ status: 'published', published_at: now })
          .where('org_id', '=', orgId)
          .where('id', 'in', releaseIds)
          .where('status', '=', 'draft')
          .execute();
      await this.#publishSnapshot(trx, orgId, version, actor);
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'updates.targets.publish',
        targetType: 'update-repository',
        targetId: orgId,
        details: { version, keyIds: Object.keys(draft.signatures), releaseIds },
      });
      return { published: true, version, signatures: count, threshold, releaseIds };
    });
  }

  async #publishSnapshot(trx: Executor, orgId: string, targetsVersion: number, actor: string): Promise<void> {
    const now = this.#clock.now().getTime();
    const snapshotVersion = ((await this.#latest(trx, orgId, 'snapshot'))?.version ?? 0) + 1;
    const snapshot = buildSnapshot(snapshotVersion, new Date(now + this.#snapshotLifetime), targetsVersion);
    snapshot.sign(await this.#onlineSigner(trx, orgId, 'snapshot'));
    await this.#insert(
      trx,
      orgId,
      'snapshot',
      snapshotVersion,
      serialize(snapshot),
      snapshot.signed.expires,
      actor,
    );
    await this.#publishTimestamp(trx, orgId, snapshotVersion, actor);
  }

  async #publishTimestamp(
    trx: Executor,
    orgId: string,
    snapshotVersion: number,
    actor: string,
  ): Promise<void> {
    const now = this.#clock.now().getTime();
    const version = ((await this.#latest(trx, orgId, 'timestamp'))?.version ?? 0) + 1;
    const timestamp = buildTimestamp(version, new Date(now + this.#timestampLifetime), snapshotVersion);
    timestamp.sign(await this.#onlineSigner(trx, orgId, 'timestamp'));
    await this.#insert(
      trx,
      orgId,
      'timestamp',
      version,
      serialize(timestamp),
      timestamp.signed.expires,
      actor,
    );
    // Old timestamps are never served (clients fetch timestamp.json only): keep the last few.
    await trx
      .deleteFrom('tuf_metadata')
      .where('org_id', '=', orgId)
      .where('role', '=', 'timestamp')
      .where('version', '<', version - 10)
      .execute();
  }

  /**
   * Re-signs snapshot and timestamp of every repository whose copy has less than half its
   * lifetime left, so devices never see expired online metadata (TUF 5.4.4, 5.5.6). Returns how
   * many organisations were refreshed.
   */
  async refreshOnlineMetadata(): Promise<number> {
    const now = this.#clock.now().getTime();
    const orgs = await this.#db
      .selectFrom('tuf_metadata')
      .select('org_id')
      .where('role', '=', 'timestamp')
      .groupBy('org_id')
      .execute();
    let refreshed = 0;
    for (const { org_id: orgId } of orgs) {
      const did = await inTransaction(this.#db, async (trx) => {
        const snapshot = await this.#latest(trx, orgId, 'snapshot');
        const timestamp = await this.#latest(trx, orgId, 'timestamp');
        const targets = await this.#latest(trx, orgId, 'targets');
        if (!snapshot || !timestamp || !targets) return false;
        const stale = (expires: string, lifetime: number) => Date.parse(expires) - now < lifetime / 2;
        if (stale(snapshot.expires, this.#snapshotLifetime)) {
          await this.#publishSnapshot(trx, orgId, targets.version, 'system:updates');
          return true;
        }
        if (stale(timestamp.expires, this.#timestampLifetime)) {
          await this.#publishTimestamp(trx, orgId, snapshot.version, 'system:updates');
          return true;
        }
        return false;
      });
      if (did) refreshed += 1;
    }
    return refreshed;
  }

  async status(orgId: string): Promise<RepositoryStatus> {
    const root = await this.trustedRoot(orgId);
    const latest = async (role: MetadataRole) => {
      const row = await this.#latest(this.#db, orgId, role);
      return row ? { version: row.version, expires: row.expires, document: row.document } : null;
    };
    const targets = await latest('targets');
    const snapshot = await latest('snapshot');
    const timestamp = await latest('timestamp');
    const draft = await this.draft(orgId);
    const now = this.#clock.now().getTime();
    const warnings: string[] = [];
    let signedByCurrentKeys = false;
    if (root && targets) {
      signedByCurrentKeys = thresholdMet(
        root,
        'targets',
        Metadata.fromJSON(MetadataKind.Targets, JSON.parse(targets.document)),
      );
      if (!signedByCurrentKeys)
        warnings.push(
          "targets are not signed by the current root's targets keys: devices refuse them; sign again (brickless release sign)",
        );
    }
    // Warned well ahead: the offline roles need people and keys in one place (ROOT_WARNING_DAYS,
    // TARGETS_WARNING_DAYS); the online ones are re-signed by the server at half-life, so one
    // that expired means `serve` (its refresh job) is not running.
    const soon = (what: string, expires: string | undefined, days: number, fix: string) => {
      if (!expires) return;
      const left = Date.parse(expires) - now;
      if (left <= 0) warnings.push(`${what} EXPIRED ${expires}: devices refuse to update until you ${fix}`);
      else if (left < days * DAY)
        warnings.push(`${what} expires ${expires} (in ${Math.ceil(left / DAY)} days): ${fix} before then`);
    };
    soon(
      'root',
      root?.signed.expires,
      ROOT_WARNING_DAYS,
      'publish a new root version (brickless updates root)',
    );
    soon(
      'targets',
      targets?.expires,
      TARGETS_WARNING_DAYS,
      'sign the targets again (brickless release sign)',
    );
    for (const [what, row] of [
      ['snapshot', snapshot],
      ['timestamp', timestamp],
    ] as const)
      if (row && Date.parse(row.expires) <= now)
        warnings.push(
          `${what} EXPIRED ${row.expires}: the server re-signs it every ten minutes while \`brickless serve\` runs; is it running?`,
        );
    if (root && !targets)
      warnings.push(
        'no signed targets yet: devices cannot update until the targets keys sign (brickless release sign)',
      );
    const escrow = root?.signed.unrecognizedFields[ESCROW_FIELD];
    return {
      initialized: root !== null,
      root: root
        ? {
            version: root.signed.version,
            expires: root.signed.expires,
            rootKeyIds: roleKeyIds(root, 'root'),
            rootThreshold: root.signed.roles.root?.threshold ?? 0,
            targetsKeyIds: roleKeyIds(root, 'targets'),
            targetsThreshold: root.signed.roles.targets?.threshold ?? 0,
            escrowKeyIds: Array.isArray(escrow) ? (escrow as string[]) : [],
          }
        : null,
      targets: targets ? { version: targets.version, expires: targets.expires, signedByCurrentKeys } : null,
      snapshot: snapshot ? { version: snapshot.version, expires: snapshot.expires } : null,
      timestamp: timestamp ? { version: timestamp.version, expires: timestamp.expires } : null,
      draft: draft
        ? {
            version: draft.version,
            releaseIds: draft.releaseIds,
            signatures: draft.signatures.length,
            threshold: draft.threshold,
          }
        : null,
      warnings,
    };
  }
}
