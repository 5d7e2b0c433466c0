import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { OrgRole } from '../access/roles.js';
import { ManualClock } from '../clock.js';
import type { Config } from '../config.js';
import type { DrillReport } from '../escrow/drill/run.js';
import { depositFromApp, recordDrill } from '../escrow/service.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { checkTimeBased } from './jobs.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, '../../../../test/data');
const read = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
const feedDocuments = () =>
  ['osv', 'nvd', 'csaf', 'kev']
    .flatMap((dir) =>
      readdirSync(join(data, dir))
        .filter((f) => f.endsWith('.json') && !f.includes('schema'))
        .map((f) => `${dir}/${f}`),
    )
    .map((name) => ({ name, content: read(join(data, name)) }));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Person {
  id: string;
  email: string;
  token: string;
}

for (const dialect of testDialects) {
  describe(`what makers are told: inbox and e-mail (${dialect})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    let work: string;
    const clock = new ManualClock('2026-03-02T09:00:00.000Z');
    let acme: { id: string };
    let globex: { id: string };
    const people: Record<string, Person> = {};
    let productId: string;
    let rolloutId: string;

    const person = async (key: string, orgId: string, roles: OrgRole[]) => {
      const email = `${key}@${orgId === acme.id ? 'acme' : 'globex'}.test`;
      const { people: service, store, tokens } = t.app.services;
      const id = await store.db.transaction().execute(async (trx) => {
        const id = await service.create(trx, 'test', { email, displayName: key, platformAdmin: false });
        await service.grant(trx, 'test', id, orgId, roles);
        return id;
      });
      const { token } = await tokens.create('test', {
        orgId,
        role: roles[0] as OrgRole,
        name: key,
        personId: id,
      });
      people[key] = { id, email, token };
    };
    const inbox = async (key: string, q = '') => {
      const res = await t.call('GET', `/v1/me/notifications${q}`, { token: people[key]?.token as string });
      assert.equal(res.status, 200, res.raw);
      return res.body as { items: Array<Record<string, string>>; unread: number; nextCursor: string | null };
    };
    const events = async (orgId: string, type: string) =>
      (await t.app.services.outbox.list(orgId, { limit: 500 })).filter((e) => e.type === type);
    const noticesOf = async (eventId: string) =>
      (
        await t.app.services.store.db
          .selectFrom('notifications')
          .select(['person_id', 'email_status', 'inbox'])
          .where('event_id', '=', eventId)
          .orderBy('person_id')
          .execute()
      ).map((n) => ({ ...n, inbox: Number(n.inbox) }));
    const mailsTo = (key: string, match?: RegExp) =>
      smtp.received.filter(
        (m) => m.to.includes(people[key]?.email as string) && (!match || match.test(m.raw)),
      );
    const setPrefs = async (key: string, body: unknown) => {
      const res = await t.call('PUT', '/v1/me/notification-preferences', {
        token: people[key]?.token as string,
        body,
      });
      assert.equal(res.status, 200, res.raw);
      return res.body;
    };

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-notify-'));
      smtp = await startSmtpServer();
      t = await testApp(dialect, {
        clock,
        mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
        publicUrl: 'https://iot.acme.test',
        masterKeyFile: join(work, 'master.key'),
      });
      acme = await t.org('acme');
      globex = await t.org('globex');
      await person('rm', acme.id, ['release-manager']);
      await person('op', acme.id, ['operator']);
      await person('aud', acme.id, ['auditor']);
      await person('sec', acme.id, ['security']);
      await person('leaver', acme.id, ['release-manager']);
      await person('outsider', globex.id, ['admin']);
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      assert.equal(product.status, 201, product.raw);
      productId = product.body.id;
      const keys = makerKeys();
      await initRepository(t, 'acme', keys);
      await createRelease(t, 'acme', productId, Buffer.from('image 1.1.0'), { version: '1.1.0' });
      await createRelease(t, 'acme', productId, Buffer.from('image 1.2.0'), { version: '1.2.0' });
      assert.equal((await signTargets(t, 'acme', [keys.targets[0] as never])).published, true);
    });
    after(async () => {
      await t.close();
      await smtp.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('a halted rollout tells the release managers of its organisation, by inbox and e-mail; nobody else', async () => {
      const provisioned = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: {
          productId,
          serials: ['R-1', 'R-2', 'R-3', 'R-4', 'R-5'],
          credential: 'secret',
          firmwareVersion: '1.0.0',
        },
      });
      assert.equal(provisioned.status, 201, provisioned.raw);
      const deviceIds = (provisioned.body.devices as Array<{ deviceId: string }>).map((d) => d.deviceId);
      await t.app.services.store.db
        .updateTable('devices')
        .set({ online: 1 })
        .where('id', 'in', deviceIds)
        .execute();
      const releases = await t.call('GET', '/v1/orgs/acme/releases');
      const release = releases.body.items.find((r: { version: string }) => r.version === '1.1.0');
      const created = await t.call('POST', '/v1/orgs/acme/rollouts', {
        body: {
          releaseId: release.id,
          name: 'spring',
          selector: { deviceIds },
          waves: [100],
          failureThreshold: 0.1,
        },
      });
      assert.equal(created.status, 201, created.raw);
      rolloutId = created.body.id;
      const offered: string[] = [];
      t.app.services.bus.subscribe('rollout.offer', ({ deviceIds }) => offered.push(...deviceIds));
      await t.app.services.rolloutEngine.tick();
      assert.ok(offered.length > 0);
      await t.app.services.rolloutEngine.report(acme.id, offered[0] as string, {
        rollout: rolloutId,
        step: 'failed' as never,
        reason: 'hash-mismatch',
      });
      await t.app.services.rolloutEngine.tick();
      assert.equal((await t.call('GET', `/v1/orgs/acme/rollouts/${rolloutId}`)).body.status, 'halted');
      const [halted, ...more] = await events(acme.id, 'rollout.halted');
      assert.equal(more.length, 0, 'one event for one halt');
      assert.equal(halted?.data.rolloutId, rolloutId);
      assert.equal(halted?.data.version, '1.1.0');
      assert.equal(halted?.data.failed, 1);

      // Removed from the organisation before the notifier ran: hears nothing.
      await t.app.services.people.remove('test', acme.id, people.leaver?.id as string);
      await t.app.services.notifier.run();
      assert.deepEqual(
        (await noticesOf(halted?.id as string)).map((n) => n.person_id),
        [people.rm?.id],
        'only the release manager of acme: not the operator, the auditor, the leaver or another organisation',
      );
      const mail = await smtp.waitFor(people.rm?.email as string, /Rollout halted/);
      assert.match(mail.raw, /Subject: \[Org acme\] Rollout halted: spring \(1\.1\.0\)/);
      assert.match(mail.raw, /https:\/\/iot\.acme\.test\/rollouts\//);
      assert.match(mail.raw, /^X-Brickless-Event: rollout\.halted/m);
      for (const key of ['op', 'aud', 'leaver', 'outsider']) assert.equal(mailsTo(key).length, 0, key);
      const mine = await inbox('rm');
      assert.equal(mine.items[0]?.type, 'rollout.halted');
      assert.equal(mine.items[0]?.email, 'sent');
      assert.equal(mine.items[0]?.link, `https://iot.acme.test/rollouts/${rolloutId}`);
      assert.equal((await inbox('op')).items.length, 0);
      assert.equal((await inbox('outsider')).items.length, 0);
    });

    it('a rollout paused by hand is announced as halted, in the same transaction', async () => {
      const resumed = await t.call('POST', `/v1/orgs/acme/rollouts/${rolloutId}/resume`);
      assert.equal(resumed.status, 200, resumed.raw);
      const paused = await t.call('POST', `/v1/orgs/acme/rollouts/${rolloutId}/pause`);
      assert.equal(paused.status, 200, paused.raw);
      const halts = await events(acme.id, 'rollout.halted');
      assert.equal(halts.length, 2);
      assert.match(String(halts[0]?.data.reason), /^paused by /);
    });

    it('matching a KEV entry records one exposure.new per vulnerability, which the security team hears', async () => {
      const provisioned = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials: ['K-1', 'K-2', 'K-3'], credential: 'secret', firmwareVersion: '1.2.0' },
      });
      assert.equal(provisioned.status, 201, provisioned.raw);
      const imported = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: { documents: feedDocuments() },
      });
      assert.equal(imported.status, 200, imported.raw);
      assert.equal((await events(acme.id, 'exposure.new')).length, 0, 'no SBOM yet: nothing is exposed');
      const releases = await t.call('GET', '/v1/orgs/acme/releases');
      const release = releases.body.items.find((r: { version: string }) => r.version === '1.2.0');
      const sbom = await t.call('PUT', `/v1/orgs/acme/releases/${release.id}/sbom`, {
        body: read(join(here, '../vulnerabilities/fixtures/firmware-1.2.0.cdx.json')),
      });
      assert.equal(sbom.status, 201, sbom.raw);
      const exposures = await events(acme.id, 'exposure.new');
      const ids = exposures.map((e) => e.data.vulnerabilityId);
      assert.equal(new Set(ids).size, ids.length, 'one event per vulnerability, not per device or component');
      const dirtyPipe = exposures.find((e) => e.data.vulnerabilityId === 'CVE-2022-0847');
      assert.ok(dirtyPipe, JSON.stringify(ids));
      assert.equal(dirtyPipe.data.kev, true);
      assert.equal(dirtyPipe.data.devices, 3);
      assert.deepEqual(dirtyPipe.data.products, ['Smart plug']);
      for (const e of exposures)
        assert.ok(e.data.kev === true || e.data.severity === 'critical', JSON.stringify(e.data));
      assert.equal((await events(globex.id, 'exposure.new')).length, 0);
      const replaced = await t.call('PUT', `/v1/orgs/acme/releases/${release.id}/sbom`, {
        body: read(join(here, '../vulnerabilities/fixtures/firmware-1.2.0.cdx.json')),
      });
      assert.equal(replaced.status, 201, replaced.raw);
      assert.equal(
        (await events(acme.id, 'exposure.new')).length,
        exposures.length,
        'a replaced SBOM is not new',
      );

      await t.app.services.notifier.run();
      await smtp.waitFor(people.sec?.email as string, /CVE-2022-0847/);
      assert.deepEqual(
        (await noticesOf(dirtyPipe.id)).map((n) => n.person_id),
        [people.sec?.id],
        'security:write holders only',
      );
    });

    it('a disclosure through the public intake is told to the security team; preferences mute the e-mail', async () => {
      const prefs = await setPrefs('sec', {
        types: [{ type: 'disclosure.received', inbox: true, email: false }],
        language: 'de',
      });
      assert.equal(prefs.language, 'de');
      const before = mailsTo('sec').length;
      const res = await t.call('POST', '/public/orgs/acme/report', {
        token: null,
        body: { title: 'Telnet left open', description: 'Port 23 answers with a root shell.' },
      });
      assert.equal(res.status, 201, res.raw);
      const [received] = await events(acme.id, 'disclosure.received');
      assert.equal(received?.data.title, 'Telnet left open');
      await t.app.services.notifier.run();
      assert.deepEqual(await noticesOf(received?.id as string), [
        { person_id: people.sec?.id, email_status: 'muted', inbox: 1 },
      ]);
      assert.equal(mailsTo('sec').length, before, 'no e-mail: muted');
      const mine = await inbox('sec');
      const notice = mine.items.find((n) => n.type === 'disclosure.received');
      assert.equal(notice?.title, 'Neue Schwachstellenmeldung eingegangen', 'in the person’s language');
    });

    it('a failed deposit and a failed drill are told to every organisation’s auditors; inbox can be muted', async () => {
      await setPrefs('aud', { types: [{ type: 'escrow.failed', inbox: false, email: true }] });
      const config = {
        dataDir: t.database.dataDir,
        database: t.database.url,
        secrets: { masterKeyFile: join(work, 'master.key') },
      } as Config;
      await assert.rejects(
        depositFromApp(t.app, config, join(work, 'escrow'), ['age1notarecipient'], 'test:deposit'),
      );
      const [deposit] = await events(acme.id, 'escrow.failed');
      assert.equal(deposit?.data.what, 'deposit');
      assert.equal((await events(globex.id, 'escrow.failed')).length, 1, 'every organisation hears of it');
      const drill: DrillReport = {
        devices: 2,
        source: 'sqlite',
        target: 'sqlite',
        deposit: { seconds: 1, rows: 10, megabytes: 1 },
        restoreSeconds: 1,
        firstReconnectSeconds: 1,
        reconnect99Seconds: 1,
        served99FromRestoreSeconds: 1,
        late: { devices: 0, backSeconds: 0 },
        reconnected: 1,
        reconnectedShare: 0.5,
        devicesLost: 1,
        rowsLost: 0,
        features: [{ name: 'telemetry', ok: false, detail: 'no rows' }],
        ok: false,
      };
      await recordDrill(t.app, drill, 5, 'test:drill');
      const failures = await events(acme.id, 'escrow.failed');
      assert.equal(failures.length, 2);
      assert.equal(failures[0]?.data.what, 'drill');
      assert.match(String(failures[0]?.data.reason), /telemetry/);
      await t.app.services.notifier.run();
      assert.deepEqual(
        (await noticesOf(deposit?.id as string)).map((n) => [n.person_id, n.inbox]).sort(),
        [
          [people.aud?.id, 0],
          [people.sec?.id, 1],
        ].sort(),
        'audit:read holders (auditor, security); the auditor muted the inbox',
      );
      await smtp.waitFor(people.aud?.email as string, /Escrow deposit failed/);
      await smtp.waitFor(people.aud?.email as string, /Takeover drill failed/);
      assert.equal((await inbox('aud')).items.filter((n) => n.type === 'escrow.failed').length, 0);
      const theirs = (await inbox('outsider')).items.filter((n) => n.type === 'escrow.failed');
      assert.equal(theirs.length, 2);
      assert.ok(theirs.every((n) => n.orgSlug === 'globex'));
      assert.equal(mailsTo('rm', /escrow|Escrow/).length, 0);
    });

    it('time-based events: a report clock near its end, an expiring TUF role, readiness warnings; once each', async () => {
      const first = await checkTimeBased(t.app.services);
      assert.equal(first.reportDeadlines, 0, 'a fresh case has its whole day left');
      assert.ok(first.readiness >= 1);
      const warnings = await events(acme.id, 'continuity.warning');
      const codes = warnings.map((w) => w.data.code);
      assert.equal(new Set(codes).size, codes.length, 'one event per warning code');
      assert.ok(codes.includes('drill-failed'), JSON.stringify(codes));

      clock.advance(19 * HOUR); // 5 h of the early warning's 24 h left: less than a quarter
      const second = await checkTimeBased(t.app.services);
      assert.ok(second.reportDeadlines >= 1);
      assert.equal(second.readiness, 0, 'the same warnings: not told again');
      const deadlines = await events(acme.id, 'report.deadline');
      assert.ok(deadlines.every((d) => d.data.stage === 'early-warning'));
      assert.ok(deadlines.some((d) => d.data.vulnerabilityId === 'CVE-2022-0847'));
      assert.equal(deadlines[0]?.data.hoursLeft, 5);
      const again = await checkTimeBased(t.app.services);
      assert.equal(again.reportDeadlines, 0, 'once per stage');
      assert.equal((await events(acme.id, 'report.deadline')).length, deadlines.length);

      const status = await t.app.services.updateRepository.status(acme.id);
      const expires = Date.parse(status.targets?.expires as string);
      clock.set(new Date(expires - 10 * DAY));
      await checkTimeBased(t.app.services);
      await checkTimeBased(t.app.services);
      const expiring = (await events(acme.id, 'signing.expiring')).filter((e) => e.data.role === 'targets');
      assert.equal(expiring.length, 1, 'once per role and expiry');
      assert.equal(expiring[0]?.data.daysLeft, 10);

      await t.app.services.notifier.run();
      await smtp.waitFor(people.rm?.email as string, /TUF targets metadata expires in 10 days/);
      await smtp.waitFor(people.sec?.email as string, /Report deadline|Meldefrist/);
      assert.equal(mailsTo('op').length, 0);
    });

    it('never two e-mails for one notice: runs again, and a relay that refused once then accepted', async () => {
      await t.app.services.notifier.run();
      await t.app.services.notifier.run();
      const ids = smtp.received.map((m) => /^X-Brickless-Notification: (\S+)/m.exec(m.raw)?.[1]);
      assert.equal(new Set(ids).size, ids.length, 'each notice was mailed once');

      smtp.refuse(true);
      const event = await t.app.services.outbox.record(acme.id, 'rollout.halted', {
        rolloutId,
        rolloutName: 'spring',
        releaseId: 'rel_x',
        version: '1.1.0',
        failed: 2,
        reason: 'retry test',
      });
      const first = await t.app.services.notifier.run();
      assert.equal(first.mailFailures, 1);
      const [row] = await t.app.services.store.db
        .selectFrom('notifications')
        .selectAll()
        .where('event_id', '=', event.id)
        .execute();
      assert.equal(row?.email_status, 'pending');
      assert.equal(row?.email_attempts, 1);
      assert.match(String(row?.email_error), /451|try again/);
      smtp.refuse(false);
      assert.equal((await t.app.services.notifier.run()).mails, 0, 'not due before its backoff');
      clock.advance(61_000);
      assert.equal((await t.app.services.notifier.run()).mails, 1);
      await t.app.services.notifier.run();
      assert.equal(smtp.received.filter((m) => m.raw.includes(row?.id as string)).length, 1);
    });

    it('an event whose transaction committed late (an older id) is still told, once', async () => {
      const at = clock.now().getTime() - 2 * 60_000;
      const id = `obe_${at.toString(16).padStart(12, '0')}${'0'.repeat(15)}1`;
      await t.app.services.store.db
        .insertInto('outbound_events')
        .values({
          id,
          org_id: acme.id,
          type: 'disclosure.received',
          data: JSON.stringify({ disclosureId: 'dsc_late', title: 'late commit' }),
          occurred_at: new Date(at).toISOString(),
        })
        .execute();
      await t.app.services.notifier.run();
      await t.app.services.notifier.run();
      assert.equal((await noticesOf(id)).length, 1);
    });

    it('the inbox API: unread filter, paging, read one and all, only one’s own; preferences say what applies', async () => {
      const all = await inbox('rm');
      assert.ok(all.unread >= 3);
      const page = await inbox('rm', '?limit=1');
      assert.equal(page.items.length, 1);
      assert.ok(page.nextCursor);
      const next = await inbox('rm', `?limit=1&cursor=${page.nextCursor}`);
      assert.notEqual(next.items[0]?.id, page.items[0]?.id);
      const id = all.items[0]?.id as string;
      const other = await t.call('POST', `/v1/me/notifications/${id}/read`, {
        token: people.op?.token as string,
      });
      assert.equal(other.status, 404, 'someone else’s notice is not found');
      const read = await t.call('POST', `/v1/me/notifications/${id}/read`, {
        token: people.rm?.token as string,
      });
      assert.equal(read.status, 200, read.raw);
      assert.equal((await inbox('rm', '?unread=true')).items.length, all.unread - 1);
      const readAll = await t.call('POST', '/v1/me/notifications/read-all', {
        token: people.rm?.token as string,
      });
      assert.equal(readAll.body.read, all.unread - 1);
      assert.equal((await inbox('rm', '?unread=true')).items.length, 0);

      const prefs = await t.call('GET', '/v1/me/notification-preferences', {
        token: people.op?.token as string,
      });
      const halted = prefs.body.types.find((p: { type: string }) => p.type === 'rollout.halted');
      assert.deepEqual([halted.applies, halted.inbox, halted.email], [false, true, true]);
      const bad = await t.call('PUT', '/v1/me/notification-preferences', {
        token: people.op?.token as string,
        body: { types: [{ type: 'no.such', inbox: true, email: true }] },
      });
      assert.equal(bad.status, 400);
      const service = await t.call('GET', '/v1/me/notifications');
      assert.equal(service.status, 403, 'a service token has no inbox');
    });
  });
}
