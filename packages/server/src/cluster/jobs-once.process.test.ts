import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { openStore, type Store } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';

const nodeScript = fileURLToPath(new URL('../test-support/job-node.ts', import.meta.url));
const periodMs = 400;
const workMs = 100;
const ttlMs = 1500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Effect {
  node: string;
  token: number;
  started_at: number;
  ended_at: number | null;
}

/** Starts one node process and resolves once it polls. */
function startNode(database: string, name: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', nodeScript, database, name, String(periodMs), String(workMs), String(ttlMs)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let errors = '';
  child.stderr?.on('data', (chunk) => {
    errors += chunk;
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      if (String(chunk).includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`node ${name} exited with ${code}: ${errors}`)));
  });
}

/**
 * Exactly-once across real processes (issue 19 §3): three node processes poll one lease-held job
 * on one fresh database; each run inserts a row. The rows show one run per period, never two at
 * once; after kill -9 of the node in the middle of its run, another takes over within the lease
 * time, and the killed run's end is never recorded (it was fenced off).
 */
for (const dialect of testDialects) {
  describe(`jobs run once across node processes (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    const nodes = new Map<string, ChildProcess>();

    const effects = async (): Promise<Effect[]> =>
      (
        await sql<Effect>`select node, token, started_at, ended_at from job_effects order by started_at`.execute(
          store.db,
        )
      ).rows.map((r) => ({
        node: r.node,
        token: Number(r.token),
        started_at: Number(r.started_at),
        ended_at: r.ended_at === null ? null : Number(r.ended_at),
      }));

    before(async () => {
      database = await freshDatabase(dialect);
      store = await openStore(database.url);
      await migrateToLatest(store.db);
      await sql`create table job_effects (node text not null, token bigint not null, started_at bigint not null, ended_at bigint)`.execute(
        store.db,
      );
      const started = await Promise.all(['a', 'b', 'c'].map((name) => startNode(database.url, name)));
      for (const [i, name] of ['a', 'b', 'c'].entries()) nodes.set(name, started[i] as ChildProcess);
    });
    after(async () => {
      for (const child of nodes.values()) child.kill('SIGKILL');
      await store.close();
      await database.drop();
    });

    it('three processes: one run per period, never two at once; kill -9 of the holder mid-run moves the job within the lease time', async () => {
      await sleep(3000);
      const steady = await effects();
      assert.ok(steady.length >= 5, `only ${steady.length} runs in 3 s`);
      // Catch a run in the middle and kill its process.
      let victim: Effect | undefined;
      const deadline = Date.now() + 5000;
      while (!victim && Date.now() < deadline) {
        victim = (await effects()).find((e) => e.ended_at === null && Date.now() - e.started_at < workMs / 2);
        if (!victim) await sleep(5);
      }
      assert.ok(victim, 'no run caught in its middle');
      const killedAt = Date.now();
      nodes.get(victim.node)?.kill('SIGKILL');
      nodes.delete(victim.node);
      let next: Effect | undefined;
      while (!next && Date.now() - killedAt < ttlMs + 3000) {
        next = (await effects()).find((e) => e.started_at > victim.started_at);
        if (!next) await sleep(20);
      }
      assert.ok(next, 'no node took the job over');
      assert.notEqual(next.node, victim.node);
      const takeover = next.started_at - killedAt;
      // The lease was renewed at most a third of its time before the kill: free 2/3 to 3/3 of ttl
      // after it, taken at the next poll (50 ms).
      assert.ok(takeover <= ttlMs + 250, `taken over ${takeover} ms after kill -9`);
      assert.ok(takeover >= (2 * ttlMs) / 3 - 100, `taken over ${takeover} ms after kill -9: too soon`);
      await sleep(1500);
      const all = await effects();
      const killed = all.find((e) => e.token === victim.token);
      assert.equal(killed?.ended_at, null, 'the killed run never recorded its end');
      for (let i = 1; i < all.length; i++) {
        const before = all[i - 1] as Effect;
        const run = all[i] as Effect;
        const beforeEnd =
          before.ended_at ?? (before.token === victim.token ? killedAt : before.started_at + workMs);
        assert.ok(run.started_at >= beforeEnd, `run ${run.token} began before run ${before.token} ended`);
        assert.ok(
          run.started_at - before.started_at >= periodMs - 25,
          `runs ${before.token} and ${run.token} too close`,
        );
        assert.ok(run.token > before.token, 'fencing tokens grow');
      }
      assert.ok(new Set(all.map((e) => e.node)).size >= 1);
    });
  });
}
